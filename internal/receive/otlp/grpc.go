package otlp

import (
	"context"

	"google.golang.org/grpc"

	"waymark/internal/model"
	"waymark/internal/receive"
)

// Names of the OTLP trace service.
const (
	traceServiceName = "opentelemetry.proto.collector.trace.v1.TraceService"
	exportMethod     = "/" + traceServiceName + "/Export" // full gRPC method name
)

// RegisterGRPC registers the OTLP TraceService on s. Requests are decoded
// once, from the bytes gRPC received (after its own decompression), and
// those bytes travel on as model.Batch.OTLP. The application sets
// grpc.MaxRecvMsgSize (larger messages fail with RESOURCE_EXHAUSTED) and
// imports the gzip codec.
func RegisterGRPC(s grpc.ServiceRegistrar, next model.Consumer, opts receive.Options) {
	srv := &grpcServer{sink: receive.NewSink(receive.ReceiverOTLPGRPC, next, opts)}
	receive.RegisterRawUnary(s, traceServiceName, "Export", srv.export)
}

type grpcServer struct {
	sink *receive.Sink
}

func (s *grpcServer) export(ctx context.Context, req []byte) ([]byte, error) {
	tenant, err := receive.TenantFromGRPC(ctx, s.sink.DefaultTenant())
	if err != nil {
		s.sink.Failed(err)
		return nil, receive.GRPCError(err)
	}
	s.sink.Received(len(req))
	spans, legacy, err := decodeProto(nil, req)
	if err != nil {
		err = receive.Invalid(err)
		s.sink.Failed(err)
		return nil, receive.GRPCError(err)
	}
	otlp := req
	if legacy {
		otlp = nil
	}
	res, err := s.sink.Push(ctx, tenant, spans, otlp)
	if err != nil {
		return nil, receive.GRPCError(err)
	}
	return appendResponseProto(nil, int64(res.Rejected), res.Message), nil
}
