package jaeger

import (
	"testing"

	"github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
)

func FuzzDecodeThriftBatch(f *testing.F) {
	f.Add(thriftBody(f, thriftBatch()))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = DecodeThriftBatch(nil, b)
	})
}

func FuzzDecodeAgentMessage(f *testing.F) {
	f.Add(agentDatagram(f, thriftBatch(), true), true)
	f.Add(agentDatagram(f, thriftBatch(), false), false)
	f.Add(agentZipkinDatagram(f), true)
	f.Fuzz(func(t *testing.T, b []byte, compact bool) {
		_, _ = DecodeAgentMessage(nil, b, compact)
	})
}

func FuzzDecodeProtoRequest(f *testing.F) {
	req := api_v2.PostSpansRequest{Batch: protoBatch()}
	b, err := req.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = DecodeProtoRequest(nil, b)
	})
}
