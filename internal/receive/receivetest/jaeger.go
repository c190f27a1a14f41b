package receivetest

import (
	"context"
	"testing"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/jaegertracing/jaeger-idl/thrift-gen/agent"
	"github.com/jaegertracing/jaeger-idl/thrift-gen/jaeger"
)

// JaegerAgentMessage encodes batch as a Jaeger client's UDP sender does:
// one Agent.emitBatch message, in Thrift compact when compact is set (port
// 6831) or else in Thrift binary (port 6832).
func JaegerAgentMessage(t testing.TB, batch *jaeger.Batch, compact bool) []byte {
	t.Helper()
	buf := thrift.NewTMemoryBuffer()
	var f thrift.TProtocolFactory = thrift.NewTBinaryProtocolFactoryConf(&thrift.TConfiguration{})
	if compact {
		f = thrift.NewTCompactProtocolFactoryConf(&thrift.TConfiguration{})
	}
	if err := agent.NewAgentClientFactory(buf, f).EmitBatch(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
