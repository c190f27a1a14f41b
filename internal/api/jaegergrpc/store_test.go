package jaegergrpc

import (
	"context"
	"testing"
	"time"

	"github.com/thanos-io/objstore/providers/filesystem"

	"waymark/internal/api/apitest"
	"waymark/internal/model"
	"waymark/internal/query"
	"waymark/internal/store"
)

// TestRealStore runs the trace checks against the real store and querier,
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
	a, b := apitest.Fixture()
	if err := st.Consume(ctx, model.Batch{Tenant: model.DefaultTenant, Spans: append(a, b...)}); err != nil {
		t.Fatal(err)
	}
	_, b2 := apitest.Fixture()
	if err := st.Consume(ctx, model.Batch{Tenant: "other", Spans: b2}); err != nil {
		t.Fatal(err)
	}
	client := serve(t, query.New(st, query.Options{}), nil)
	check := func(t *testing.T) {
		checkGetTrace(t, client)
		checkFindTraces(t, client)
	}
	t.Run("head", check)
	if err := st.CutHead(ctx); err != nil {
		t.Fatal(err)
	}
	t.Run("blocks", check)
}
