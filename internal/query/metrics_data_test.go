package query

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/thanos-io/objstore/providers/filesystem"

	"waymark/internal/model"
	"waymark/internal/store"
)

// metricsBase is the start of the generated data: a time on a 10 s
// boundary but not on a 15 s one, so both alignments are exercised.
const metricsBase = uint64(1_700_000_000) * uint64(time.Second)

// genTrace is one generated trace: a frontend root calling one backend,
// which sometimes calls a database.
type genTrace []model.Span

// metricsDataset generates n traces starting every gap after base, from a
// fixed seed. Roots carry an int http.status_code; backends sometimes an
// int "size" (others lack it); every fifth backend span fails.
func metricsDataset(n int, base, gap uint64) []genTrace {
	rng := rand.New(rand.NewPCG(7, 11))
	res := map[string]*model.Resource{}
	resource := func(svc string) *model.Resource {
		if r, ok := res[svc]; ok {
			return r
		}
		r := &model.Resource{ServiceName: svc, Attributes: model.Attributes{{Key: "service.name", Value: model.StringValue(svc)}}}
		res[svc] = r
		return r
	}
	backends := []string{"cart", "checkout", "auth"}
	out := make([]genTrace, n)
	for i := range out {
		var tid model.TraceID
		for j := range tid {
			tid[j] = byte(rng.Uint32())
		}
		tid[0] |= 1
		start := base + uint64(i)*gap
		span := func(id byte, parent model.SpanID, svc, name string, kind model.SpanKind, st, dur uint64) model.Span {
			return model.Span{TraceID: tid, SpanID: model.SpanID{id, byte(i), byte(i >> 8), byte(i >> 16), 1}, ParentSpanID: parent,
				Name: name, Kind: kind, Resource: resource(svc), StartTimeUnixNano: st, EndTimeUnixNano: st + dur}
		}
		rootDur := uint64(time.Millisecond) + rng.Uint64N(uint64(2*time.Second))
		root := span(1, model.SpanID{}, "frontend", "GET /shop", model.KindServer, start, rootDur)
		code := int64(200)
		if i%7 == 0 {
			code = 500
		}
		root.Attributes = model.Attributes{{Key: "http.status_code", Value: model.IntValue(code)}}
		svc := backends[i%len(backends)]
		childStart := start + rng.Uint64N(rootDur/2+1)
		child := span(2, root.SpanID, svc, "handle", model.KindServer, childStart, 1+rng.Uint64N(rootDur/2))
		if i%5 == 0 {
			child.StatusCode = model.StatusError
		}
		if i%4 != 3 {
			child.Attributes = model.Attributes{{Key: "size", Value: model.IntValue(int64(rng.IntN(5000)))}}
		}
		tr := genTrace{root, child}
		if i%4 == 0 {
			db := span(3, child.SpanID, "postgres", "SELECT", model.KindClient, childStart+10, 2+rng.Uint64N(uint64(50*time.Millisecond)))
			if i%8 == 0 {
				db.StatusCode = model.StatusError
			}
			tr = append(tr, db)
		}
		out[i] = tr
	}
	return out
}

// openStore opens an empty store in a temporary directory.
func openStore(t testing.TB) *store.Store {
	t.Helper()
	dir := t.TempDir()
	bkt, err := filesystem.NewBucket(dir + "/blocks")
	if err != nil {
		t.Fatal(err)
	}
	// The data is from 2023: keep the store's retention from deleting it.
	st, err := store.Open(context.Background(), store.Options{Dir: dir, Bucket: bkt, HeadMaxAge: time.Hour, Retention: 10 * 365 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// consume stores spans for tenant in batches of at most 5,000.
func consume(t testing.TB, st *store.Store, tenant string, spans []model.Span) {
	t.Helper()
	for len(spans) > 0 {
		n := min(len(spans), 5000)
		if err := st.Consume(context.Background(), model.Batch{Tenant: tenant, Spans: spans[:n]}); err != nil {
			t.Fatal(err)
		}
		spans = spans[n:]
	}
}

// openTimeOrderedStore stores traces for tenant "t" as a live system
// would: in time order, with the head cut into a block after every cut of
// trace start time, the last part left in the head.
func openTimeOrderedStore(t testing.TB, traces []genTrace, cut time.Duration) *Querier {
	t.Helper()
	st := openStore(t)
	var pending []model.Span
	next := traces[0][0].StartTimeUnixNano + uint64(cut)
	for _, tr := range traces {
		if tr[0].StartTimeUnixNano >= next {
			consume(t, st, "t", pending)
			if err := st.CutHead(context.Background()); err != nil {
				t.Fatal(err)
			}
			pending, next = pending[:0], next+uint64(cut)
		}
		pending = append(pending, tr...)
	}
	consume(t, st, "t", pending)
	return New(st, Options{})
}

// openMetricsStore stores traces for tenant "t": a third of the traces
// whole and the roots of another third go into a block, the rest stays
// in the head, so many traces are split between the two. Tenant "other"
// gets a copy of everything, which "t" must never see.
func openMetricsStore(t testing.TB, traces []genTrace, opts Options) *Querier {
	t.Helper()
	st := openStore(t)
	var first, second []model.Span
	for i, tr := range traces {
		switch i % 3 {
		case 0:
			first = append(first, tr...)
		case 1:
			first = append(first, tr[0])
			second = append(second, tr[1:]...)
		default:
			second = append(second, tr...)
		}
	}
	consume(t, st, "t", first)
	consume(t, st, "other", first)
	if err := st.CutHead(context.Background()); err != nil {
		t.Fatal(err)
	}
	consume(t, st, "t", second)
	consume(t, st, "other", second)
	return New(st, opts)
}
