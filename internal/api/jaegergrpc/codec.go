package jaegergrpc

import (
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// CallOption returns the option a Go client needs to call the service
// through the generated api_v2 client: Jaeger's generated messages are
// gogo-protobuf types that gRPC's default codec cannot encode. The codec
// uses their own Marshal and Unmarshal methods and the standard protobuf
// library for every other message.
func CallOption() grpc.CallOption { return grpc.ForceCodec(codec{}) }

// codec is a gRPC codec for gogo-protobuf and standard protobuf messages.
type codec struct{}

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
