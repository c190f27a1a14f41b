package jaegergrpc

import (
	"fmt"
	"testing"

	"waymark/internal/api/apitest"
	"waymark/internal/model"
)

func BenchmarkJaegerSpans(b *testing.B) {
	a, _ := apitest.Fixture()
	spans := make([]model.Span, 0, 1000)
	for i := range 1000 {
		s := a[i%len(a)]
		s.SpanID = apitest.MustSpanID(fmt.Sprintf("%016x", i+1))
		spans = append(spans, s)
	}
	b.ReportAllocs()
	for b.Loop() {
		if got := jaegerSpans(spans); len(got) != len(spans) {
			b.Fatalf("%d spans", len(got))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(spans)), "ns/span")
}
