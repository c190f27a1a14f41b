package uiapi

import (
	"net/http/httptest"
	"testing"
	"time"
	"waymark/internal/model"
	"waymark/internal/store/filter"
)

func benchMatches(b *testing.B, requests int) ([]filter.Match, int) {
	b.Helper()
	w := newWorkload(time.Unix(1_700_000_000, 0))
	ms := matchesOf(w.requests(requests), nil)
	spans := 0
	for _, m := range ms {
		spans += len(m.Spans)
	}
	return ms, spans
}

func BenchmarkBreakdown(b *testing.B) {
	ms, spans := benchMatches(b, 10000)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		BreakdownOf(ms, "datacenter", defaultBreakdownLimit)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
}

func BenchmarkServiceStats(b *testing.B) {
	ms, spans := benchMatches(b, 10000)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ServiceStatsOf(ms, 3600)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
}

func BenchmarkSummarize(b *testing.B) {
	// One wide trace: the requests of the workload stitched under one ID.
	w := newWorkload(time.Unix(1_700_000_000, 0))
	var spans = w.requests(2500)
	flat := spans[0][:0:0]
	for _, tr := range spans {
		for _, s := range tr {
			s.TraceID = tr[0].TraceID
			flat = append(flat, s)
		}
	}
	id := flat[0].TraceID
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		Summarize(id, flat)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(flat)), "ns/span")
}

func BenchmarkCompactEncode(b *testing.B) {
	w := newWorkload(time.Unix(1_700_000_000, 0))
	var flat []model.Span
	for _, tr := range w.requests(12500) {
		for _, s := range tr {
			s.TraceID = traceID(0)
			flat = append(flat, s)
		}
	}
	h := NewHandler(&memQuerier{traces: map[string][][]model.Span{model.DefaultTenant: {flat}}}, Options{})
	r := httptest.NewRequest("GET", "/api/waymark/trace/"+traceID(0).String(), nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	b.SetBytes(int64(rec.Body.Len()))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(flat)), "ns/span")
}
