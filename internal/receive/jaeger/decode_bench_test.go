package jaeger

import (
	"testing"

	"github.com/jaegertracing/jaeger-idl/thrift-gen/jaeger"

	"waymark/internal/model"
	"waymark/internal/receive/receivetest"
)

// workloadBatch is n Thrift spans shaped like the reference workload.
func workloadBatch(n int) *jaeger.Batch {
	str := func(k, v string) *jaeger.Tag { return &jaeger.Tag{Key: k, VType: jaeger.TagType_STRING, VStr: ptr(v)} }
	long := func(k string, v int64) *jaeger.Tag {
		return &jaeger.Tag{Key: k, VType: jaeger.TagType_LONG, VLong: ptr(v)}
	}
	b := &jaeger.Batch{Process: &jaeger.Process{ServiceName: "bench-service", Tags: []*jaeger.Tag{
		str("deployment.environment.name", "bench"), str("host.name", "bench-host-1"), str("service.version", "1.2.3")}}}
	for i := range n {
		b.Spans = append(b.Spans, &jaeger.Span{TraceIdLow: int64(i/5 + 1), SpanId: int64(i + 1), OperationName: "GET /api/v1/orders/{id}",
			Flags: 1, StartTime: t0.UnixMicro() + int64(i), Duration: 250,
			Tags: []*jaeger.Tag{str("http.request.method", "GET"), str("http.route", "/api/v1/orders/{id}"), long("http.response.status_code", 200),
				str("db.system.name", "postgresql"), str("user.tier", "gold"), long("retry.count", 0)}})
	}
	return b
}

func BenchmarkJaegerDecode(b *testing.B) {
	const n = 200 // what fits a 65,000-byte datagram, about
	batch := workloadBatch(n)
	for _, c := range []struct {
		name   string
		body   []byte
		decode func([]byte) ([]model.Span, error)
	}{
		{"thrift_http", thriftBody(b, batch), func(p []byte) ([]model.Span, error) { return DecodeThriftBatch(nil, p) }},
		{"udp_compact", agentDatagram(b, batch, true), func(p []byte) ([]model.Span, error) { return DecodeAgentMessage(nil, p, true) }},
		{"udp_binary", agentDatagram(b, batch, false), func(p []byte) ([]model.Span, error) { return DecodeAgentMessage(nil, p, false) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.body)))
			cpu := receivetest.ProcessCPU()
			for b.Loop() {
				spans, err := c.decode(c.body)
				if err != nil || len(spans) != n {
					b.Fatal(len(spans), err)
				}
			}
			receivetest.ReportPerSpan(b, n, cpu)
		})
	}
}
