package jaeger

import (
	"testing"

	"github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
	"github.com/jaegertracing/jaeger-idl/thrift-gen/jaeger"
)

func TestDecoders(t *testing.T) {
	req := api_v2.PostSpansRequest{Batch: protoBatch()}
	pb, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		decode func() (int, error)
	}{
		{"thrift batch", func() (int, error) {
			s, err := DecodeThriftBatch(nil, thriftBody(t, thriftBatch()))
			checkTrace(t, s)
			return len(s), err
		}},
		{"agent compact", func() (int, error) {
			s, err := DecodeAgentMessage(nil, agentDatagram(t, thriftBatch(), true), true)
			checkTrace(t, s)
			return len(s), err
		}},
		{"agent binary", func() (int, error) {
			s, err := DecodeAgentMessage(nil, agentDatagram(t, thriftBatch(), false), false)
			checkTrace(t, s)
			return len(s), err
		}},
		{"api_v2 protobuf", func() (int, error) {
			s, err := DecodeProtoRequest(nil, pb)
			checkTrace(t, s)
			return len(s), err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.decode(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	body := thriftBody(t, thriftBatch())
	compact := agentDatagram(t, thriftBatch(), true)
	cases := []struct {
		name   string
		decode func() error
	}{
		{"truncated thrift batch", func() error { _, err := DecodeThriftBatch(nil, body[:len(body)/2]); return err }},
		{"empty thrift batch", func() error { _, err := DecodeThriftBatch(nil, nil); return err }},
		{"huge list size", func() error {
			_, err := DecodeThriftBatch(nil, []byte{0x0f, 0x00, 0x02, 0x0c, 0x7f, 0xff, 0xff, 0xff})
			return err
		}},
		{"compact read as binary", func() error { _, err := DecodeAgentMessage(nil, compact, false); return err }},
		{"truncated datagram", func() error { _, err := DecodeAgentMessage(nil, compact[:len(compact)-9], true); return err }},
		{"other message", func() error {
			_, err := DecodeAgentMessage(nil, agentZipkinDatagram(t), true)
			return err
		}},
		{"garbage protobuf", func() error { _, err := DecodeProtoRequest(nil, []byte{0x0a, 0x03, 0x0a, 0x01}); return err }},
		{"short protobuf trace id", func() error {
			_, err := DecodeProtoRequest(nil, []byte{0x0a, 0x07, 0x0a, 0x05, 0x0a, 0x03, 1, 2, 3})
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.decode(); err == nil {
				t.Fatal("decoded garbage without error")
			}
		})
	}
}

func TestEmptyBatches(t *testing.T) {
	s, err := DecodeThriftBatch(nil, thriftBody(t, &jaeger.Batch{Process: &jaeger.Process{ServiceName: "x"}}))
	if err != nil || len(s) != 0 {
		t.Fatalf("got %d spans, %v", len(s), err)
	}
	s, err = DecodeProtoRequest(nil, nil)
	if err != nil || len(s) != 0 {
		t.Fatalf("empty request: %d spans, %v", len(s), err)
	}
}
