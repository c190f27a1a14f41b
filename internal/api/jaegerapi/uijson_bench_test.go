package jaegerapi

import (
	"encoding/binary"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"waymark/internal/api/apitest"
	"waymark/internal/model"
)

// bigTrace builds a trace of n spans over 20 services, each span with eight
// attributes of mixed types, every fourth span with an event and a link.
func bigTrace(n int) []model.Span {
	tid := model.TraceID{0x4b, 0xf9, 0x2f, 0x35, 1}
	resources := make([]*model.Resource, 20)
	for i := range resources {
		name := "service-" + strconv.Itoa(i)
		resources[i] = &model.Resource{ServiceName: name, Attributes: model.Attributes{
			{Key: "service.name", Value: model.StringValue(name)},
			{Key: "host.name", Value: model.StringValue("node-" + strconv.Itoa(i%5))},
			{Key: "k8s.pod.name", Value: model.StringValue(name + "-7d9f8c-x2x4z")},
		}}
	}
	scope := &model.Scope{Name: "io.opentelemetry.contrib.http", Version: "0.52.0"}
	spans := make([]model.Span, n)
	for i := range spans {
		var sid, parent model.SpanID
		binary.BigEndian.PutUint64(sid[:], uint64(i+1))
		if i > 0 {
			binary.BigEndian.PutUint64(parent[:], uint64(i/2+1))
		}
		s := model.Span{
			TraceID: tid, SpanID: sid, ParentSpanID: parent, Flags: 1,
			Name: "GET /api/v1/items/{id}", Kind: model.SpanKind(1 + i%5),
			StartTimeUnixNano: t0 + uint64(i)*1000, EndTimeUnixNano: t0 + uint64(i)*1000 + 250_000,
			Attributes: model.Attributes{
				{Key: "http.request.method", Value: model.StringValue("GET")},
				{Key: "http.response.status_code", Value: model.IntValue(200)},
				{Key: "url.path", Value: model.StringValue("/api/v1/items/" + strconv.Itoa(i))},
				{Key: "server.address", Value: model.StringValue("items.internal")},
				{Key: "server.port", Value: model.IntValue(8080)},
				{Key: "network.peer.address", Value: model.StringValue("10.0.3.17")},
				{Key: "user_agent.original", Value: model.StringValue("Go-http-client/1.1")},
				{Key: "db.rows", Value: model.DoubleValue(12.5)},
			},
			Resource: resources[i%len(resources)], Scope: scope,
		}
		if i%4 == 0 {
			s.StatusCode = model.StatusError
			s.StatusMessage = "upstream timeout"
			s.Events = []model.Event{{TimeUnixNano: s.StartTimeUnixNano + 100, Name: "exception", Attributes: model.Attributes{
				{Key: "exception.type", Value: model.StringValue("TimeoutError")},
				{Key: "exception.message", Value: model.StringValue("context deadline exceeded")},
			}}}
			s.Links = []model.Link{{TraceID: tid, SpanID: parent}}
		}
		spans[i] = s
	}
	return spans
}

// BenchmarkJaegerTraceJSON encodes a 50,000-span trace as Jaeger UI JSON.
func BenchmarkJaegerTraceJSON(b *testing.B) {
	spans := bigTrace(50_000)
	var e uiEncoder
	buf := e.appendTrace(nil, spans)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		buf = e.appendTrace(buf[:0], spans)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(spans)), "ns/span")
}

// BenchmarkOTLPTraceJSON encodes the same trace as api_v3 OTLP JSON.
func BenchmarkOTLPTraceJSON(b *testing.B) {
	spans := bigTrace(50_000)
	buf, err := appendOTLPResult(nil, [][]model.Span{spans}, true)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if buf, err = appendOTLPResult(buf[:0], [][]model.Span{spans}, true); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(spans)), "ns/span")
}

// BenchmarkTraceHandler serves GET /api/traces/{id} for a 50,000-span trace,
// adjusting (sorting) it and streaming the answer, as Jaeger UI asks for it.
func BenchmarkTraceHandler(b *testing.B) {
	spans := bigTrace(50_000)
	q := newMemQuerier()
	q.add("single-tenant", spans...)
	h := NewHandler(q, Options{})
	req := httptest.NewRequest(http.MethodGet, "/api/traces/"+spans[0].TraceID.String(), nil)
	apitest.BenchServe(b, h, req, len(spans), "span")
}
