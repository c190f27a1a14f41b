package otlp

import (
	"context"
	"strconv"

	"google.golang.org/grpc"

	"waymark/internal/model"
	"waymark/internal/receive"
)

// Names of the OTLP trace service.
const (
	traceServiceName = "opentelemetry.proto.collector.trace.v1.TraceService"
	exportMethod     = "/" + traceServiceName + "/Export"
)

// RegisterGRPC registers the OTLP TraceService on s. Requests are decoded
// once, from the bytes gRPC received (after its own decompression), and
// those bytes travel on as model.Batch.OTLP. The application sets
// grpc.MaxRecvMsgSize (larger messages fail with RESOURCE_EXHAUSTED) and
// imports the gzip codec.
func RegisterGRPC(s grpc.ServiceRegistrar, next model.Consumer, opts receive.Options) {
	srv := &grpcServer{sink: receive.NewSink(receive.ReceiverOTLPGRPC, next, opts)}
	s.RegisterService(&grpc.ServiceDesc{
		ServiceName: traceServiceName,
		HandlerType: (*exporter)(nil),
		Methods:     []grpc.MethodDesc{{MethodName: "Export", Handler: handleExport}},
		Metadata:    "opentelemetry/proto/collector/trace/v1/trace_service.proto",
	}, srv)
}

// exporter is the service interface gRPC checks the server against.
type exporter interface {
	export(ctx context.Context, req *rawMessage) (*rawMessage, error)
}

type grpcServer struct {
	sink *receive.Sink
}

// handleExport is the gRPC method handler of Export.
func handleExport(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
	req := new(rawMessage)
	if err := dec(req); err != nil {
		return nil, err
	}
	s := srv.(exporter)
	if interceptor == nil {
		return s.export(ctx, req)
	}
	info := &grpc.UnaryServerInfo{Server: srv, FullMethod: exportMethod}
	return interceptor(ctx, req, info, func(ctx context.Context, req any) (any, error) {
		return s.export(ctx, req.(*rawMessage))
	})
}

func (s *grpcServer) export(ctx context.Context, req *rawMessage) (*rawMessage, error) {
	tenant, err := receive.TenantFromGRPC(ctx, s.sink.DefaultTenant())
	if err != nil {
		s.sink.Failed(err)
		return nil, receive.GRPCError(err)
	}
	s.sink.Received(len(req.b))
	spans, err := DecodeProto(nil, req.b)
	if err != nil {
		err = receive.Invalid(err)
		s.sink.Failed(err)
		return nil, receive.GRPCError(err)
	}
	res, err := s.sink.Push(ctx, tenant, spans, req.b)
	if err != nil {
		return nil, receive.GRPCError(err)
	}
	return &rawMessage{b: appendResponseProto(nil, int64(res.Rejected), res.Message)}, nil
}

// rawMessage carries a protobuf message as its encoded bytes. gRPC's proto
// codec reaches it through the legacy Marshal/Unmarshal methods, so a
// request is not decoded into generated types first.
type rawMessage struct {
	b []byte
}

// Reset empties m.
func (m *rawMessage) Reset() { m.b = nil }

// String describes m.
func (m *rawMessage) String() string {
	return "protobuf message of " + strconv.Itoa(len(m.b)) + " bytes"
}

// ProtoMessage marks rawMessage as a protobuf message.
func (*rawMessage) ProtoMessage() {}

// Unmarshal keeps a copy of b: gRPC reuses its buffer.
func (m *rawMessage) Unmarshal(b []byte) error {
	m.b = append([]byte(nil), b...)
	return nil
}

// Marshal returns the bytes.
func (m *rawMessage) Marshal() ([]byte, error) { return m.b, nil }
