package block

import (
	"context"
	"runtime"
	"testing"

	"waymark/internal/store/filter"
)

// BenchmarkScanProjected scans every span of a block of 200,000 spans of
// the varied mix, as metrics over spans do, building whole spans and then
// light spans of a few projections. It reports time and allocations per
// span.
func BenchmarkScanProjected(b *testing.B) {
	spans := newWorkload(12, true).traces(40_000)
	blk := writeOpen(b, newBucket(b), spans, WriteOptions{})
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		p    *filter.Projection
	}{
		{"whole", nil},
		{"service", &filter.Projection{Fields: filter.FieldServiceName, ResourceAttributes: []string{"service.name"}}},
		{"service_ids_kind", &filter.Projection{Fields: filter.FieldServiceName | filter.FieldSpanID | filter.FieldKind, ResourceAttributes: []string{"service.name"}}},
		{"duration_route", &filter.Projection{Fields: filter.FieldDuration, SpanAttributes: []string{"http.route"}}},
		{"generic_attr", &filter.Projection{SpanAttributes: []string{"user.tier"}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := filter.Request{StartUnixNano: 1, Projection: bc.p}
			if err := req.Compile(); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			n := 0
			for b.Loop() {
				err := blk.Search(ctx, &req, func(m filter.Match) bool {
					n += len(m.Spans)
					return true
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			runtime.ReadMemStats(&ms1)
			if n == 0 {
				b.Fatal("no spans")
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/span")
			b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(n), "allocs/span")
		})
	}
}
