package zipkinapi

import (
	"context"
	"testing"
	"time"

	"github.com/thanos-io/objstore/providers/filesystem"

	"waymark/internal/model"
	"waymark/internal/query"
	"waymark/internal/store"
)

// TestRealStore runs the route checks against the real store and querier,
// with the fixture first in the head and then in blocks.
func TestRealStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bkt, err := filesystem.NewBucket(dir + "/blocks")
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, store.Options{Dir: dir, Bucket: bkt, HeadMaxAge: time.Hour, Retention: 100 * 365 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	a, b := fixture()
	if err := st.Consume(ctx, model.Batch{Tenant: model.DefaultTenant, Spans: append(a, b...)}); err != nil {
		t.Fatal(err)
	}
	_, b2 := fixture()
	if err := st.Consume(ctx, model.Batch{Tenant: "other", Spans: b2}); err != nil {
		t.Fatal(err)
	}
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
	if err := st.CutHead(ctx); err != nil {
		t.Fatal(err)
	}
	objects := 0
	if err := bkt.Iter(ctx, "", func(string) error { objects++; return nil }); err != nil || objects == 0 {
		t.Fatalf("no blocks written (%d objects, %v)", objects, err)
	}
	t.Run("blocks", check)
}
