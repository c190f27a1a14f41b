package jaegergrpc

import (
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// ServerOption returns the option a server given to Register must be built
// with. Jaeger's generated api_v2 messages are gogo-protobuf types that the
// default gRPC codec cannot handle; this codec encodes them with their own
// Marshal and Unmarshal methods and every other message with the standard
// protobuf library, so the server can carry other services too.
func ServerOption() grpc.ServerOption { return grpc.ForceServerCodec(codec{}) }

// CallOption returns the option a Go client of the service uses to encode
// the gogo-protobuf messages (see ServerOption).
func CallOption() grpc.CallOption { return grpc.ForceCodec(codec{}) }

// codec is a gRPC codec for gogo-protobuf and standard protobuf messages.
type codec struct{}

type gogoMessage interface {
	Marshal() ([]byte, error)
	Unmarshal([]byte) error
}

// Marshal encodes v.
func (codec) Marshal(v any) ([]byte, error) {
	switch m := v.(type) {
	case gogoMessage:
		return m.Marshal()
	case proto.Message:
		return proto.Marshal(m)
	}
	return nil, fmt.Errorf("encode %T: not a protobuf message", v)
}

// Unmarshal decodes data into v.
func (codec) Unmarshal(data []byte, v any) error {
	switch m := v.(type) {
	case gogoMessage:
		return m.Unmarshal(data)
	case proto.Message:
		return proto.Unmarshal(data, m)
	}
	return fmt.Errorf("decode into %T: not a protobuf message", v)
}

// Name is the content subtype the codec serves.
func (codec) Name() string { return "proto" }
