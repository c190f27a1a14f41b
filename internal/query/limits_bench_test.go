package query

import (
	"context"
	"testing"
)

// BenchmarkFindTrace reads a 10,000-span trace from the head, whole and cut
// to 1,000 spans, to show what truncation costs on top of the read.
func BenchmarkFindTrace(b *testing.B) {
	const n = 10_000
	st := openStore(b)
	tr := wideTrace(1, n, "svc")
	consume(b, st, "t", tr)
	for _, bc := range []struct {
		name  string
		limit int
	}{
		{name: "whole", limit: DefaultMaxTraceSpans},
		{name: "cut_to_1000", limit: 1000},
	} {
		b.Run(bc.name, func(b *testing.B) {
			q := New(st, Options{MaxTraceSpans: bc.limit})
			b.ReportAllocs()
			for b.Loop() {
				got, err := q.FindTrace(context.Background(), "t", tr[0].TraceID, 0, 0)
				if err != nil || got.StoredSpans != n {
					b.Fatalf("got %d spans, err %v", got.StoredSpans, err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/span")
		})
	}
}

// BenchmarkTruncate cuts a 10,000-span trace to 1,000 spans.
func BenchmarkTruncate(b *testing.B) {
	const n = 10_000
	tr := wideTrace(1, n, "svc")
	b.ReportAllocs()
	for b.Loop() {
		if got := Truncate(tr, 1000); len(got) != 1000 {
			b.Fatalf("kept %d spans", len(got))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/span")
}
