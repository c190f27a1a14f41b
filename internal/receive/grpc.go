package receive

import (
	"context"
	"strconv"

	"google.golang.org/grpc"
)

// RawMessage is a protobuf message carried as its encoding. gRPC's proto
// codec reaches it through the legacy Marshal and Unmarshal methods, so a
// service registered with RegisterRawUnary gets requests undecoded, and a
// client can send pre-encoded requests with it.
type RawMessage struct {
	Bytes []byte
}

// Reset empties m.
func (m *RawMessage) Reset() { m.Bytes = nil }

// String describes m.
func (m *RawMessage) String() string {
	return "protobuf message of " + strconv.Itoa(len(m.Bytes)) + " bytes"
}

// ProtoMessage marks RawMessage as a protobuf message.
func (*RawMessage) ProtoMessage() {}

// Unmarshal keeps a copy of b: gRPC reuses its buffers.
func (m *RawMessage) Unmarshal(b []byte) error {
	m.Bytes = append([]byte(nil), b...)
	return nil
}

// Marshal returns the bytes.
func (m *RawMessage) Marshal() ([]byte, error) { return m.Bytes, nil }

// RawUnaryFunc handles one call of a unary method: it gets the request's
// protobuf encoding and returns the reply's.
type RawUnaryFunc func(ctx context.Context, req []byte) (reply []byte, err error)

// RegisterRawUnary registers on s the service named service (as in
// "package.Service") with the one unary method method, which handle
// serves. Requests are not decoded before handle sees them, so a receiver
// decodes each once, straight into its own types, and maps decoding errors
// itself. Interceptors of s apply; they see *RawMessage values.
func RegisterRawUnary(s grpc.ServiceRegistrar, service, method string, handle RawUnaryFunc) {
	fullMethod := "/" + service + "/" + method
	call := func(ctx context.Context, req any) (any, error) {
		reply, err := handle(ctx, req.(*RawMessage).Bytes)
		if err != nil {
			return nil, err
		}
		return &RawMessage{Bytes: reply}, nil
	}
	s.RegisterService(&grpc.ServiceDesc{
		ServiceName: service,
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{
			MethodName: method,
			Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
				req := new(RawMessage)
				if err := dec(req); err != nil {
					return nil, err
				}
				if interceptor == nil {
					return call(ctx, req)
				}
				return interceptor(ctx, req, &grpc.UnaryServerInfo{Server: srv, FullMethod: fullMethod}, call)
			},
		}},
	}, struct{}{})
}
