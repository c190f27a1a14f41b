package storetest

import (
	"testing"

	"github.com/thanos-io/objstore"
)

func TestMinIO(t *testing.T) {
	m := StartMinIO(t)
	Run(t, func(t *testing.T) objstore.Bucket { return m.NewBucket(t) })
}
