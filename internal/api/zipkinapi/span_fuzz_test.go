package zipkinapi

import (
	"strings"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/translator/zipkin/zipkinv2"

	"waymark/internal/model"
)

// FuzzEncodeSpan encodes spans built from arbitrary names, attributes and
// times: the output is always Zipkin v2 JSON that the strict decoder
// accepts, and that the collector's Zipkin unmarshaler accepts too unless
// an event name holds '|' (its annotation format splits on it).
func FuzzEncodeSpan(f *testing.F) {
	f.Add("get /cart", "peer.service", "mysql", "10.0.0.1", int64(3306), t0, t0+5*ms, uint8(model.KindClient), uint8(model.StatusError), "boom")
	f.Add("", "net.host.ip", "::1", "fe80::1%eth0", int64(-1), uint64(0), uint64(0), uint8(0), uint8(0), "")
	f.Add("\x00\xff\u2028", "error", "true", "not an ip", int64(70000), t0, t0-1, uint8(9), uint8(7), "\"")
	f.Fuzz(func(t *testing.T, name, key, value, ip string, port int64, start, end uint64, kind, status uint8, msg string) {
		res := &model.Resource{ServiceName: value, Attributes: model.Attributes{{Key: key, Value: model.StringValue(value)}}}
		s := model.Span{
			TraceID: mustTraceID(traceA), SpanID: mustSpanID("0000000000000001"), Name: name,
			Kind: model.SpanKind(kind), StartTimeUnixNano: start, EndTimeUnixNano: end,
			StatusCode: model.StatusCode(status), StatusMessage: msg, TraceState: msg,
			Attributes: model.Attributes{
				{Key: key, Value: model.StringValue(value)},
				{Key: "net.peer.ip", Value: model.StringValue(ip)},
				{Key: "net.peer.port", Value: model.IntValue(port)},
			},
			Events:   []model.Event{{TimeUnixNano: start, Name: name, Attributes: model.Attributes{{Key: key, Value: model.DoubleValue(float64(port))}}}},
			Resource: res,
		}
		body := encodeTrace([]model.Span{s})
		var spans []zSpan
		decodeStrict(t, body, &spans)
		if len(spans) != 1 {
			t.Fatalf("%d spans from %s", len(spans), body)
		}
		if strings.Contains(name, "|") {
			return
		}
		if _, err := zipkinv2.NewJSONTracesUnmarshaler(false).UnmarshalTraces(body); err != nil {
			t.Fatalf("collector unmarshaler rejects %s: %v", body, err)
		}
	})
}
