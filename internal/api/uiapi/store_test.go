package uiapi

import (
	"context"
	"testing"
	"time"

	"github.com/thanos-io/objstore/providers/filesystem"

	"waymark/internal/model"
	"waymark/internal/query"
	"waymark/internal/store"
)

// openStore ingests traces into a real store on disk and returns the real
// query layer over it. With cut, the head is cut into blocks first, so the
// answers come from the block reader.
func openStore(t testing.TB, traces map[string][][]model.Span, cut bool) Querier {
	t.Helper()
	ctx := context.Background()
	bkt, err := filesystem.NewBucket(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// The test data is from 2023: keep retention from deleting it.
	st, err := store.Open(ctx, store.Options{Dir: t.TempDir(), Bucket: bkt, Retention: 10 * 365 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	for tenant, trs := range traces {
		var spans []model.Span
		for _, tr := range trs {
			spans = append(spans, tr...)
		}
		if err := st.Consume(ctx, model.Batch{Tenant: tenant, Spans: spans}); err != nil {
			t.Fatal(err)
		}
	}
	if cut {
		if err := st.CutHead(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return query.New(st, query.Options{})
}

func TestHandlerStoreHead(t *testing.T) {
	runHandlerSuite(t, func(t *testing.T, tr map[string][][]model.Span) Querier { return openStore(t, tr, false) })
}

func TestHandlerStoreBlocks(t *testing.T) {
	runHandlerSuite(t, func(t *testing.T, tr map[string][][]model.Span) Querier { return openStore(t, tr, true) })
}
