package otlp

import (
	"context"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"

	"waymark/internal/model"
	"waymark/internal/receive"
	"waymark/internal/receive/receivetest"
)

// pdataServer is the conventional route, kept for comparison: pdata
// decodes the request, then SpansFromTraces converts it.
type pdataServer struct {
	ptraceotlp.UnimplementedGRPCServer
	next model.Consumer
}

func (s *pdataServer) Export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	spans := model.SpansFromTraces(nil, req.Traces())
	spans, _, _ = model.ValidateSpans(spans)
	return ptraceotlp.NewExportResponse(), s.next.Consume(ctx, model.Batch{Tenant: model.DefaultTenant, Spans: spans})
}

// BenchmarkOTLPGRPCExport measures the whole OTLP/gRPC path over loopback:
// transport, decoding into spans, validation, and a consumer that does
// nothing; batches of 1,000 workload spans. The client sends pre-encoded
// requests, as a load generator would, so the figure is the server's.
func BenchmarkOTLPGRPCExport(b *testing.B) {
	const n = 1000
	req := &receive.RawMessage{Bytes: marshal(b, receivetest.WorkloadTraces(n, 3, false))}
	noop := model.ConsumerFunc(func(context.Context, model.Batch) error { return nil })
	servers := []struct {
		name     string
		register func(*grpc.Server)
	}{
		{"DecodeProto", func(s *grpc.Server) { RegisterGRPC(s, noop, receive.Options{}) }},
		{"pdata", func(s *grpc.Server) { ptraceotlp.RegisterGRPCServer(s, &pdataServer{next: noop}) }},
	}
	for _, srv := range servers {
		b.Run(srv.name, func(b *testing.B) {
			conn := receivetest.ServeGRPC(b, srv.register, grpc.MaxRecvMsgSize(64<<20))
			b.ReportAllocs()
			b.SetBytes(int64(len(req.Bytes)))
			cpu := receivetest.ProcessCPU()
			for b.Loop() {
				if err := conn.Invoke(context.Background(), exportMethod, req, new(receive.RawMessage)); err != nil {
					b.Fatal(err)
				}
			}
			receivetest.ReportPerSpan(b, n, cpu)
		})
	}
}
