package otlp

import (
	"context"
	"log/slog"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"waymark/internal/model"
)

// discardPutter takes items without storing them, to measure encoding.
type discardPutter struct{ bytes int }

func (d *discardPutter) Put(_ context.Context, item []byte) error {
	d.bytes += len(item)
	return nil
}

// BenchmarkEnqueue measures turning a batch of model spans into a queue
// item (OTLP protobuf encoding included).
func BenchmarkEnqueue(b *testing.B) {
	const n = 512
	spans := testSpans(n)
	p := &discardPutter{}
	enq := NewEnqueuer(p)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := enq.Consume(context.Background(), model.Batch{Tenant: "acme", Spans: spans}); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(p.bytes / b.N))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/span")
}

// BenchmarkExportSend measures one OTLP request of 512 spans to a local
// backend, per protocol, client and server on the same cores.
func BenchmarkExportSend(b *testing.B) {
	const n = 512
	req, err := ptraceotlp.NewExportRequestFromTraces(model.TracesFromSpans(testSpans(n))).MarshalProto()
	if err != nil {
		b.Fatal(err)
	}
	for _, protocol := range []string{ProtocolGRPC, ProtocolHTTP} {
		b.Run(protocol, func(b *testing.B) {
			t := &testing.T{}
			be := newBackend(nil, 0)
			var endpoint string
			if protocol == ProtocolGRPC {
				endpoint = startGRPC(t, be, nil)
			} else {
				endpoint = startHTTP(t, be, "127.0.0.1:0", nil)
			}
			e, err := New(testConfig(protocol, endpoint), nil, nil, slog.New(slog.DiscardHandler))
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			b.SetBytes(int64(len(req)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if out := e.s.send(context.Background(), "acme", req); out.err != nil {
					b.Fatal(out.err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/span")
		})
	}
}
