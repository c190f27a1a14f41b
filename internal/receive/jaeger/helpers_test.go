package jaeger

import (
	"context"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	jaegermodel "github.com/jaegertracing/jaeger-idl/model/v1"
	"github.com/jaegertracing/jaeger-idl/thrift-gen/agent"
	"github.com/jaegertracing/jaeger-idl/thrift-gen/jaeger"

	"waymark/internal/model"
	"waymark/internal/receive"
	"waymark/internal/receive/receivetest"
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// The test trace: a server span and its client child, in a trace whose
// low half is negative as a signed Thrift i64, as is the child's span ID.
const (
	traceLow  = -2 // 0xfffffffffffffffe
	rootID    = 1
	childID   = -5 // 0xfffffffffffffffb
	rootDurUS = 1500
)

func ptr[T any](v T) *T { return &v }

// thriftBatch is the test trace as a Jaeger client builds it for Thrift.
func thriftBatch() *jaeger.Batch {
	start := t0.UnixMicro()
	return &jaeger.Batch{
		Process: &jaeger.Process{ServiceName: "loki", Tags: []*jaeger.Tag{
			{Key: "hostname", VType: jaeger.TagType_STRING, VStr: ptr("host-1")},
			{Key: "ip", VType: jaeger.TagType_STRING, VStr: ptr("10.0.0.1")},
		}},
		Spans: []*jaeger.Span{
			{TraceIdLow: traceLow, SpanId: rootID, OperationName: "POST /loki/api/v1/push", Flags: 1, StartTime: start, Duration: rootDurUS,
				Tags: []*jaeger.Tag{
					{Key: "span.kind", VType: jaeger.TagType_STRING, VStr: ptr("server")},
					{Key: "http.status_code", VType: jaeger.TagType_LONG, VLong: ptr(int64(200))},
					{Key: "ratio", VType: jaeger.TagType_DOUBLE, VDouble: ptr(0.5)},
					{Key: "cached", VType: jaeger.TagType_BOOL, VBool: ptr(true)},
					{Key: "raw", VType: jaeger.TagType_BINARY, VBinary: []byte{1, 2}},
				}},
			{TraceIdLow: traceLow, SpanId: childID, OperationName: "query", Flags: 3, StartTime: start + 100, Duration: 700,
				References: []*jaeger.SpanRef{{RefType: jaeger.SpanRefType_CHILD_OF, TraceIdLow: traceLow, SpanId: rootID}},
				Tags: []*jaeger.Tag{
					{Key: "span.kind", VType: jaeger.TagType_STRING, VStr: ptr("client")},
					{Key: "error", VType: jaeger.TagType_BOOL, VBool: ptr(true)},
				},
				Logs: []*jaeger.Log{{Timestamp: start + 200, Fields: []*jaeger.Tag{
					{Key: "event", VType: jaeger.TagType_STRING, VStr: ptr("retry")},
					{Key: "attempt", VType: jaeger.TagType_LONG, VLong: ptr(int64(2))},
				}}}},
		},
	}
}

// protoBatch is the same trace as a Jaeger client builds it for api_v2.
func protoBatch() jaegermodel.Batch {
	tid := jaegermodel.NewTraceID(0, uint64(traceLow&(1<<64-1)))
	return jaegermodel.Batch{
		Process: &jaegermodel.Process{ServiceName: "loki", Tags: []jaegermodel.KeyValue{
			jaegermodel.String("hostname", "host-1"), jaegermodel.String("ip", "10.0.0.1"),
		}},
		Spans: []*jaegermodel.Span{
			{TraceID: tid, SpanID: jaegermodel.NewSpanID(rootID), OperationName: "POST /loki/api/v1/push", Flags: 1,
				StartTime: t0, Duration: rootDurUS * time.Microsecond,
				Tags: []jaegermodel.KeyValue{jaegermodel.String("span.kind", "server"), jaegermodel.Int64("http.status_code", 200),
					jaegermodel.Float64("ratio", 0.5), jaegermodel.Bool("cached", true), jaegermodel.Binary("raw", []byte{1, 2})}},
			{TraceID: tid, SpanID: jaegermodel.NewSpanID(uint64(childID & (1<<64 - 1))), OperationName: "query", Flags: 3,
				StartTime: t0.Add(100 * time.Microsecond), Duration: 700 * time.Microsecond,
				References: []jaegermodel.SpanRef{jaegermodel.NewChildOfRef(tid, jaegermodel.NewSpanID(rootID))},
				Tags:       []jaegermodel.KeyValue{jaegermodel.String("span.kind", "client"), jaegermodel.Bool("error", true)},
				Logs: []jaegermodel.Log{{Timestamp: t0.Add(200 * time.Microsecond), Fields: []jaegermodel.KeyValue{
					jaegermodel.String("event", "retry"), jaegermodel.Int64("attempt", 2)}}}},
		},
	}
}

// checkTrace asserts that spans are exactly the test trace.
func checkTrace(t *testing.T, spans []model.Span) {
	t.Helper()
	if len(spans) != 2 {
		t.Fatalf("got %d spans, want 2", len(spans))
	}
	byName := map[string]model.Span{}
	for _, s := range spans {
		byName[s.Name] = s
	}
	r, c := byName["POST /loki/api/v1/push"], byName["query"]
	wantTrace := model.TraceID{8: 0xff, 9: 0xff, 10: 0xff, 11: 0xff, 12: 0xff, 13: 0xff, 14: 0xff, 15: 0xfe}
	us := func(n int64) uint64 { return uint64(t0.UnixNano() + n*1000) }
	checks := []struct {
		name      string
		got, want any
	}{
		{"root trace id (signed i64 as unsigned bits)", r.TraceID, wantTrace},
		{"child trace id", c.TraceID, wantTrace},
		{"root span id", r.SpanID, model.SpanID{7: 1}},
		{"child span id", c.SpanID, model.SpanID{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfb}},
		{"root is root", r.IsRoot(), true},
		{"child parent from CHILD_OF", c.ParentSpanID, model.SpanID{7: 1}},
		{"root kind", r.Kind, model.KindServer},
		{"child kind", c.Kind, model.KindClient},
		{"root start", r.StartTimeUnixNano, us(0)},
		{"root duration", r.DurationNano(), uint64(rootDurUS * 1000)},
		{"child start", c.StartTimeUnixNano, us(100)},
		{"child duration", c.DurationNano(), uint64(700_000)},
		{"root sampled", r.Flags & 1, uint32(1)},
		{"root status", r.StatusCode, model.StatusUnset},
		{"child error", c.StatusCode, model.StatusError},
		{"service", r.ServiceName(), "loki"},
		{"long tag", attr(r.Attributes, "http.status_code"), model.IntValue(200)},
		{"double tag", attr(r.Attributes, "ratio"), model.DoubleValue(0.5)},
		{"bool tag", attr(r.Attributes, "cached"), model.BoolValue(true)},
		{"binary tag", attr(r.Attributes, "raw"), model.Value{Type: model.ValueBytes, Str: "\x01\x02"}},
		{"root not forced", attr(r.Attributes, receive.SamplingPriorityKey), model.Value{}},
		{"debug child forced", attr(c.Attributes, receive.SamplingPriorityKey), model.IntValue(1)},
		{"log", len(c.Events), 1},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s: got %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	if len(c.Events) == 1 {
		ev := c.Events[0]
		if ev.Name != "retry" || ev.TimeUnixNano != us(200) || attr(ev.Attributes, "attempt") != model.IntValue(2) {
			t.Errorf("event %+v", ev)
		}
	}
}

func attr(a model.Attributes, key string) model.Value {
	v, _ := a.Get(key)
	return v
}

// agentDatagram encodes batch as a Jaeger client's agent client does:
// one Agent.emitBatch message.
func agentDatagram(t testing.TB, batch *jaeger.Batch, compact bool) []byte {
	return receivetest.JaegerAgentMessage(t, batch, compact)
}

// thriftBody encodes batch as the body of POST /api/traces.
func thriftBody(t testing.TB, batch *jaeger.Batch) []byte {
	t.Helper()
	b, err := thrift.NewTSerializer().Write(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// agentZipkinDatagram is an Agent.emitZipkinBatch message, which Waymark
// does not accept.
func agentZipkinDatagram(t testing.TB) []byte {
	t.Helper()
	buf := thrift.NewTMemoryBuffer()
	c := agent.NewAgentClientFactory(buf, thrift.NewTCompactProtocolFactoryConf(&thrift.TConfiguration{}))
	if err := c.EmitZipkinBatch(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
