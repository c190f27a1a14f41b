package zipkin

import (
	"testing"
	"time"

	zipkinmodel "github.com/openzipkin/zipkin-go/model"
	"github.com/openzipkin/zipkin-go/proto/zipkin_proto3"
	"github.com/openzipkin/zipkin-go/reporter"

	"waymark/internal/model"
	"waymark/internal/receive/receivetest"
)

// workloadSpans is n Zipkin spans shaped like the reference workload.
func workloadSpans(n int) []*zipkinmodel.SpanModel {
	out := make([]*zipkinmodel.SpanModel, n)
	for i := range out {
		out[i] = &zipkinmodel.SpanModel{
			SpanContext: zipkinmodel.SpanContext{TraceID: zipkinmodel.TraceID{Low: uint64(i/5 + 1)}, ID: zipkinmodel.ID(i + 1)},
			Name:        "get /api/v1/orders/{id}", Kind: zipkinmodel.Server, Timestamp: t0, Duration: 250 * time.Microsecond,
			LocalEndpoint: &zipkinmodel.Endpoint{ServiceName: "bench-service"},
			Tags: map[string]string{"http.request.method": "GET", "http.route": "/api/v1/orders/{id}", "http.response.status_code": "200",
				"db.system.name": "postgresql", "user.tier": "gold", "retry.count": "0"},
		}
	}
	return out
}

func BenchmarkZipkinDecode(b *testing.B) {
	const n = 1000
	for _, c := range []struct {
		name   string
		ser    reporter.SpanSerializer
		decode func([]byte) ([]model.Span, error)
	}{
		{"json", reporter.JSONSerializer{}, func(p []byte) ([]model.Span, error) { return DecodeV2JSON(nil, p, false) }},
		{"proto", zipkin_proto3.SpanSerializer{}, func(p []byte) ([]model.Span, error) { return DecodeV2Proto(nil, p, false) }},
	} {
		body, err := c.ser.Serialize(workloadSpans(n))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			cpu := receivetest.ProcessCPU()
			for b.Loop() {
				spans, err := c.decode(body)
				if err != nil || len(spans) != n {
					b.Fatal(len(spans), err)
				}
			}
			receivetest.ReportPerSpan(b, n, cpu)
		})
	}
}
