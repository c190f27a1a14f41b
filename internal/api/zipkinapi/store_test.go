package zipkinapi

import (
	"testing"
	"time"

	"waymark/internal/api/apitest"
	"waymark/internal/query"
)

// TestRealStore runs the route checks against the real store and querier,
// with the fixture first in the head and then in blocks.
func TestRealStore(t *testing.T) {
	st, bkt := apitest.FixtureStore(t)
	h := newHandler(query.New(st, query.Options{}), Options{})
	h.now = func() time.Time { return now }
	check := func(t *testing.T) {
		checkListRoutes(t, h)
		checkTracesSearch(t, h)
		checkTraceByID(t, h)
		checkTraceMany(t, h)
		checkDependencies(t, h, nil)
	}
	t.Run("head", check)
	apitest.CutToBlocks(t, st, bkt)
	t.Run("blocks", check)
}
