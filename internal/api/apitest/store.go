package apitest

import (
	"context"
	"testing"
	"time"

	"github.com/thanos-io/objstore"
	"github.com/thanos-io/objstore/providers/filesystem"

	"waymark/internal/model"
	"waymark/internal/store"
)

// FixtureStore opens a real store (see OpenStore) holding the fixture:
// traces A and B for model.DefaultTenant and B alone for tenant "other",
// in the head.
func FixtureStore(t *testing.T) (*store.Store, objstore.Bucket) {
	t.Helper()
	ctx := context.Background()
	st, bkt := OpenStore(t)
	a, b := Fixture()
	if err := st.Consume(ctx, model.Batch{Tenant: model.DefaultTenant, Spans: append(a, b...)}); err != nil {
		t.Fatal(err)
	}
	_, b2 := Fixture()
	if err := st.Consume(ctx, model.Batch{Tenant: "other", Spans: b2}); err != nil {
		t.Fatal(err)
	}
	return st, bkt
}

// OpenStore opens an empty real store in a temporary directory. It returns
// the store and its block bucket; the store is closed when the test ends.
func OpenStore(t *testing.T) (*store.Store, objstore.Bucket) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	bkt, err := filesystem.NewBucket(dir + "/blocks")
	if err != nil {
		t.Fatal(err)
	}
	// The fixture is from 2023: keep it from retention. (A retention
	// reaching before 1970 would make the store's cutoff wrap around.)
	st, err := store.Open(ctx, store.Options{Dir: dir, Bucket: bkt, HeadMaxAge: time.Hour, Retention: 20 * 365 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	return st, bkt
}

// CutToBlocks moves the store's head into blocks and checks that blocks
// were written.
func CutToBlocks(t *testing.T, st *store.Store, bkt objstore.Bucket) {
	t.Helper()
	ctx := context.Background()
	if err := st.CutHead(ctx); err != nil {
		t.Fatal(err)
	}
	objects := 0
	if err := bkt.Iter(ctx, "", func(string) error { objects++; return nil }); err != nil || objects == 0 {
		t.Fatalf("no blocks written (%d objects, %v)", objects, err)
	}
}
