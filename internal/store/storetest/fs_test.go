package storetest

import (
	"testing"

	"github.com/thanos-io/objstore"

	"waymark/internal/store/bucket"
)

func TestFilesystem(t *testing.T) {
	Run(t, func(t *testing.T) objstore.Bucket {
		bkt, err := bucket.OpenFilesystem(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return bkt
	})
}
