package jaegergrpc

import (
	"testing"

	"waymark/internal/api/apitest"
	"waymark/internal/query"
)

// TestRealStore runs the trace checks against the real store and querier,
// with the fixture first in the head and then in blocks.
func TestRealStore(t *testing.T) {
	st, bkt := apitest.FixtureStore(t)
	client := serve(t, query.New(st, query.Options{}), nil)
	check := func(t *testing.T) {
		checkGetTrace(t, client)
		checkFindTraces(t, client)
	}
	t.Run("head", check)
	apitest.CutToBlocks(t, st, bkt)
	t.Run("blocks", check)
}
