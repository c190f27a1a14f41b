package uiapi

import (
	"encoding/binary"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"waymark/internal/api/apihttp"
	"waymark/internal/api/apitest"
	"waymark/internal/model"
)

// fanoutTrace builds a trace of n spans fanning out 8 ways per level over
// four services, each span with one integer attribute and every 997th
// failed: the shape of the browser tests' large batch trace.
func fanoutTrace(n int) []model.Span {
	tid := model.TraceID{0x7a, 0x11, 0x5e, 1}
	services := []string{"batcher", "worker", "storage", "cache"}
	resources := make([]*model.Resource, len(services))
	for i, name := range services {
		resources[i] = &model.Resource{ServiceName: name, Attributes: model.Attributes{
			{Key: "service.name", Value: model.StringValue(name)},
			{Key: "datacenter", Value: model.StringValue("dc-1")},
			{Key: "host.name", Value: model.StringValue(name + "-dc-1-1")},
		}}
	}
	scope := &model.Scope{Name: "waymark-bench", Version: "1.0.0"}
	const t0 = uint64(1_700_000_000_000_000_000)
	spans := make([]model.Span, n)
	depth := make([]int, n)
	for k := range spans {
		var sid, parent model.SpanID
		binary.BigEndian.PutUint64(sid[:], uint64(k)*0x9e3779b97f4a7c15+1)
		start, dur := t0, uint64(60*time.Second)
		if k > 0 {
			p := (k - 1) / 8
			parent = spans[p].SpanID
			depth[k] = depth[p] + 1
			width := spans[p].DurationNano() / 8
			start = spans[p].StartTimeUnixNano + uint64((k-1)%8)*width + width/20
			dur = max(1000, width*6/10)
		}
		svc := min(depth[k], len(services)-1)
		s := model.Span{
			TraceID: tid, SpanID: sid, ParentSpanID: parent,
			Name: services[svc] + " step " + strconv.Itoa(depth[k]), Kind: model.KindInternal,
			StartTimeUnixNano: start, EndTimeUnixNano: start + dur,
			Attributes: model.Attributes{{Key: "item.index", Value: model.IntValue(int64(k))}},
			Resource:   resources[svc], Scope: scope,
		}
		if k > 0 && k%997 == 0 {
			s.StatusCode = model.StatusError
			s.StatusMessage = "upstream failure"
		}
		spans[k] = s
	}
	return spans
}

// serveBench serves path from h as apitest.BenchServe does; header is a
// request header name and value, or nothing.
func serveBench(b *testing.B, h http.Handler, path string, units int, unit string, header ...string) {
	b.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	apitest.BenchServe(b, h, req, units, unit)
}

// BenchmarkCompactTraceHandler serves GET /api/waymark/trace/{id} for a
// 50,000-span trace held in memory: compaction and JSON encoding, and
// with gzip as the server sends it to browsers.
func BenchmarkCompactTraceHandler(b *testing.B) {
	spans := fanoutTrace(50_000)
	h := NewHandler(&memQuerier{traces: map[string][][]model.Span{model.DefaultTenant: {spans}}}, Options{})
	path := "/api/waymark/trace/" + spans[0].TraceID.String()
	b.Run("identity", func(b *testing.B) { serveBench(b, h, path, len(spans), "span") })
	b.Run("gzip", func(b *testing.B) {
		serveBench(b, apihttp.Gzip(h), path, len(spans), "span", "Accept-Encoding", "gzip")
	})
}

// BenchmarkCompactTraceStore serves the same trace from a real store's
// head, as right after ingest, and from a block.
func BenchmarkCompactTraceStore(b *testing.B) {
	for _, cut := range []bool{false, true} {
		name := map[bool]string{false: "head", true: "block"}[cut]
		b.Run(name, func(b *testing.B) {
			spans := fanoutTrace(50_000)
			q := openStore(b, map[string][][]model.Span{model.DefaultTenant: {spans}}, cut)
			h := NewHandler(q, Options{})
			serveBench(b, h, "/api/waymark/trace/"+spans[0].TraceID.String(), len(spans), "span")
		})
	}
}

// BenchmarkTraceSummaries serves a search by service returning 100 traces
// (of 600 requests in a real store's head, then in a block) with their
// summaries, as the UI's search page asks for it.
func BenchmarkTraceSummaries(b *testing.B) {
	base := time.Unix(1_700_000_000, 0)
	w := newWorkload(base)
	traces := w.requests(600)
	for _, cut := range []bool{false, true} {
		name := map[bool]string{false: "head", true: "block"}[cut]
		b.Run(name, func(b *testing.B) {
			h := NewHandler(openStore(b, map[string][][]model.Span{model.DefaultTenant: traces}, cut), Options{})
			path := "/api/waymark/trace-summaries?service=edge&limit=100&start=" + us(base) + "&end=" + us(base.Add(time.Hour))
			serveBench(b, h, path, 100, "trace")
		})
	}
}
