package store

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"waymark/internal/model"
	"waymark/internal/store/bucket"
	"waymark/internal/store/filter"
)

// BenchmarkStoreSearch searches a store of 8 blocks of 50,000 spans on the
// local filesystem, as the all-in-one binary keeps them.
//
//   - limit20 asks for the 20 newest traces of a service: the newest
//     block answers it.
//   - scan-all matches no span with a condition no block summary or filter
//     can rule out (seq > 10^9), so every block is read; blocks are read
//     in parallel, one per core.
func BenchmarkStoreSearch(b *testing.B) {
	dir := b.TempDir()
	bkt, err := bucket.OpenFilesystem(dir + "/blocks")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	s, err := Open(ctx, Options{Dir: dir, Bucket: bkt, HeadMaxAge: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	rng := rand.New(rand.NewPCG(5, 5))
	base := uint64(time.Now().Add(-time.Hour).UnixNano())
	const blocks, tracesPerBlock = 8, 25_000
	for i := range blocks {
		spans := genTraces(rng, tracesPerBlock, base+uint64(i)*uint64(time.Minute), 50)
		if err := s.Consume(ctx, model.Batch{Tenant: "t", Spans: spans}); err != nil {
			b.Fatal(err)
		}
		if err := s.CutHead(ctx); err != nil {
			b.Fatal(err)
		}
	}
	cases := []struct {
		name string
		req  filter.Request
		want int
	}{
		{"limit20", filter.Request{Limit: 20, Conditions: []filter.Condition{
			{Scope: filter.ScopeResource, Key: "service.name", Value: model.StringValue("gateway")}}}, 20},
		{"scan-all", filter.Request{Limit: 20, Conditions: []filter.Condition{
			{Scope: filter.ScopeSpan, Key: "seq", Op: filter.OpGt, Value: model.IntValue(1e9)}}}, 0},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				n := 0
				if err := s.Search(ctx, "t", tc.req, func(filter.Match) bool { n++; return true }); err != nil {
					b.Fatal(err)
				}
				if n != tc.want {
					b.Fatalf("found %d traces, want %d", n, tc.want)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*blocks*tracesPerBlock*2), "ns/span")
		})
	}
}
