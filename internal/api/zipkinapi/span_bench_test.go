package zipkinapi

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"waymark/internal/api/apitest"
	"waymark/internal/model"
)

// benchTrace returns a trace of n spans shaped like the fixture's.
func benchTrace(n int) []model.Span {
	a, _ := fixture()
	spans := make([]model.Span, 0, n)
	for i := range n {
		s := a[i%len(a)]
		s.SpanID = mustSpanID(fmt.Sprintf("%016x", i+1))
		spans = append(spans, s)
	}
	return spans
}

func BenchmarkEncodeTrace(b *testing.B) {
	spans := benchTrace(1000)
	var e encoder
	buf := e.appendTrace(nil, spans)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		buf = e.appendTrace(buf[:0], spans)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(spans)), "ns/span")
}

func BenchmarkTraceRoute(b *testing.B) {
	mq := apitest.NewMemQuerier()
	mq.Add(model.DefaultTenant, benchTrace(1000)...)
	h := newHandler(mq, Options{})
	req := httptest.NewRequest(http.MethodGet, "/api/v2/trace/"+traceA, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b.SetBytes(int64(rec.Body.Len()))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/span")
}
