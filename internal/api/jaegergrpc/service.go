package jaegergrpc

import (
	"context"
	"strconv"

	"github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"waymark/internal/api/jaegergrpc/apiv3pb"
)

// serviceName is the gRPC name of the query service.
const serviceName = "jaeger.api_v2.QueryService"

// rawMessage carries a protobuf encoding through gRPC untouched. It has no
// descriptor, so gRPC's codec reaches it through the legacy Marshal and
// Unmarshal methods. The generated api_v2 types cannot go through gRPC's
// codec themselves (their gogo-protobuf custom types break it), so the
// service moves raw bytes and encodes with the generated methods.
type rawMessage struct{ b []byte }

// Reset empties m.
func (m *rawMessage) Reset() { m.b = nil }

// String describes m.
func (m *rawMessage) String() string {
	return "protobuf message of " + strconv.Itoa(len(m.b)) + " bytes"
}

// ProtoMessage marks rawMessage as a protobuf message.
func (*rawMessage) ProtoMessage() {}

// Unmarshal keeps a copy of b: gRPC reuses its buffers.
func (m *rawMessage) Unmarshal(b []byte) error {
	m.b = append([]byte(nil), b...)
	return nil
}

// Marshal returns the bytes.
func (m *rawMessage) Marshal() ([]byte, error) { return m.b, nil }

// gogoMessage is a generated api_v2 message.
type gogoMessage interface {
	Marshal() ([]byte, error)
	Unmarshal([]byte) error
}

// decode decodes a raw request into req; a bad encoding is InvalidArgument.
func decode(raw *rawMessage, req gogoMessage, method string) error {
	if err := req.Unmarshal(raw.b); err != nil {
		return status.Errorf(codes.InvalidArgument, "decode %s request: %v", method, err)
	}
	return nil
}

// encode encodes a reply as a raw message.
func encode(reply gogoMessage) (*rawMessage, error) {
	b, err := reply.Marshal()
	if err != nil {
		return nil, status.Errorf(codes.Internal, "encode reply: %v", err)
	}
	return &rawMessage{b: b}, nil
}

// unary describes a unary method whose request type is Req.
func unary[Req any, PReq interface {
	*Req
	gogoMessage
}, Reply gogoMessage](s *server, method string, call func(*server, context.Context, PReq) (Reply, error)) grpc.MethodDesc {
	handle := func(ctx context.Context, in any) (any, error) {
		req := PReq(new(Req))
		if err := decode(in.(*rawMessage), req, method); err != nil {
			s.metrics.observe(apiV2, method, codes.InvalidArgument, 0)
			return nil, err
		}
		reply, err := call(s, ctx, req)
		if err != nil {
			return nil, err
		}
		return encode(reply)
	}
	return grpc.MethodDesc{
		MethodName: method,
		Handler: func(_ any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
			in := new(rawMessage)
			if err := dec(in); err != nil {
				return nil, err
			}
			if interceptor == nil {
				return handle(ctx, in)
			}
			return interceptor(ctx, in, &grpc.UnaryServerInfo{Server: s, FullMethod: "/" + serviceName + "/" + method}, handle)
		},
	}
}

// chunkStream sends span chunks on a server stream as raw messages; it is
// the generated QueryService_GetTraceServer and _FindTracesServer.
type chunkStream struct{ grpc.ServerStream }

// Send encodes and sends one chunk.
func (c chunkStream) Send(m *api_v2.SpansResponseChunk) error {
	raw, err := encode(m)
	if err != nil {
		return err
	}
	return c.SendMsg(raw)
}

// streaming describes a server-streaming method whose request type is Req.
func streaming[Req any, PReq interface {
	*Req
	gogoMessage
}](s *server, method string, call func(*server, PReq, chunkStream) error) grpc.StreamDesc {
	return grpc.StreamDesc{
		StreamName:    method,
		ServerStreams: true,
		Handler: func(_ any, stream grpc.ServerStream) error {
			in := new(rawMessage)
			if err := stream.RecvMsg(in); err != nil {
				return err
			}
			req := PReq(new(Req))
			if err := decode(in, req, method); err != nil {
				s.metrics.observe(apiV2, method, codes.InvalidArgument, 0)
				return err
			}
			return call(s, req, chunkStream{stream})
		},
	}
}

// Register registers jaeger.api_v2.QueryService and
// jaeger.api_v3.QueryService on s; they share opts, the tenant rules and
// the metrics. Any gRPC server serves api_v2: its requests and replies are
// encoded with the generated api_v2 code, not with the server's codec.
// api_v3 uses the standard protobuf codec, gRPC's default.
func Register(s grpc.ServiceRegistrar, q Querier, opts Options) {
	srv := newServer(q, opts)
	s.RegisterService(&grpc.ServiceDesc{
		ServiceName: serviceName,
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{
			unary(srv, "ArchiveTrace", (*server).ArchiveTrace),
			unary(srv, "GetServices", (*server).GetServices),
			unary(srv, "GetOperations", (*server).GetOperations),
			unary(srv, "GetDependencies", (*server).GetDependencies),
		},
		Streams: []grpc.StreamDesc{
			streaming(srv, "GetTrace", func(s *server, req *api_v2.GetTraceRequest, st chunkStream) error { return s.GetTrace(req, st) }),
			streaming(srv, "FindTraces", func(s *server, req *api_v2.FindTracesRequest, st chunkStream) error { return s.FindTraces(req, st) }),
		},
		Metadata: "query.proto",
	}, srv)
	apiv3pb.RegisterQueryServiceServer(s, &v3Server{s: srv})
}
