package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	jaegermodel "github.com/jaegertracing/jaeger-idl/model/v1"
	"github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
	"github.com/jaegertracing/jaeger-idl/thrift-gen/jaeger"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"waymark/internal/receive/receivetest"
)

func (s *server) jaegerThriftURL() string {
	return "http://127.0.0.1:" + strconv.Itoa(s.ports.JaegerThrift) + "/api/traces"
}

func (s *server) jaegerGRPCAddr() string { return "127.0.0.1:" + strconv.Itoa(s.ports.JaegerGRPC) }

func (s *server) jaegerUDPAddr(compact bool) string {
	if compact {
		return "127.0.0.1:" + strconv.Itoa(s.ports.JaegerCompact)
	}
	return "127.0.0.1:" + strconv.Itoa(s.ports.JaegerBinary)
}

func ptr[T any](v T) *T { return &v }

// Span IDs of lokiBatch: the root's and the child's are negative as signed
// Thrift i64s, as half of all random IDs are.
const (
	lokiRootID  int64 = -7 // fffffffffffffff9
	lokiChildID int64 = 0x1a2b3c4d5e6f7081
	lokiFlushID int64 = -0x0123456789abcdef // fedcba9876543211
)

// lokiBatch is a trace as a Jaeger client library (as in Loki) builds it
// for Thrift: a server root, a failing client child found by a CHILD_OF
// reference, and a span whose parent is in the legacy parentSpanId field
// and that also FOLLOWS_FROM the root.
func lokiBatch(traceHigh, traceLow int64, start time.Time) *jaeger.Batch {
	us := start.UnixMicro()
	return &jaeger.Batch{
		Process: &jaeger.Process{ServiceName: "loki", Tags: []*jaeger.Tag{
			{Key: "hostname", VType: jaeger.TagType_STRING, VStr: ptr("ingester-1")},
			{Key: "jaeger.version", VType: jaeger.TagType_STRING, VStr: ptr("Go-2.30.0")},
		}},
		Spans: []*jaeger.Span{
			{TraceIdLow: traceLow, TraceIdHigh: traceHigh, SpanId: lokiRootID, OperationName: "POST /loki/api/v1/push", Flags: 1,
				StartTime: us, Duration: 1_500, Tags: []*jaeger.Tag{
					{Key: "span.kind", VType: jaeger.TagType_STRING, VStr: ptr("server")},
					{Key: "sampler.type", VType: jaeger.TagType_STRING, VStr: ptr("probabilistic")},
					{Key: "sampler.param", VType: jaeger.TagType_DOUBLE, VDouble: ptr(0.5)},
					{Key: "http.status_code", VType: jaeger.TagType_LONG, VLong: ptr(int64(204))},
					{Key: "cached", VType: jaeger.TagType_BOOL, VBool: ptr(true)},
					{Key: "raw", VType: jaeger.TagType_BINARY, VBinary: []byte{1, 2}},
				}},
			{TraceIdLow: traceLow, TraceIdHigh: traceHigh, SpanId: lokiChildID, OperationName: "store chunk", Flags: 1,
				StartTime: us + 100, Duration: 700,
				References: []*jaeger.SpanRef{{RefType: jaeger.SpanRefType_CHILD_OF, TraceIdLow: traceLow, TraceIdHigh: traceHigh, SpanId: lokiRootID}},
				Tags: []*jaeger.Tag{
					{Key: "span.kind", VType: jaeger.TagType_STRING, VStr: ptr("client")},
					{Key: "error", VType: jaeger.TagType_BOOL, VBool: ptr(true)},
				},
				Logs: []*jaeger.Log{{Timestamp: us + 200, Fields: []*jaeger.Tag{
					{Key: "event", VType: jaeger.TagType_STRING, VStr: ptr("retry")},
					{Key: "attempt", VType: jaeger.TagType_LONG, VLong: ptr(int64(2))},
				}}}},
			{TraceIdLow: traceLow, TraceIdHigh: traceHigh, SpanId: lokiFlushID, ParentSpanId: lokiChildID, OperationName: "flush", Flags: 1,
				StartTime: us + 900, Duration: 300,
				References: []*jaeger.SpanRef{{RefType: jaeger.SpanRefType_FOLLOWS_FROM, TraceIdLow: traceLow, TraceIdHigh: traceHigh, SpanId: lokiRootID}}},
		},
	}
}

// wantLoki is how lokiBatch reads back through the Jaeger query API.
func wantLoki(start time.Time) []wantSpan {
	us := start.UnixMicro()
	id := func(v int64) string { return fmt.Sprintf("%016x", uint64(v)) }
	// The collector's Jaeger translator renames the client's process tags.
	proc := []jaegerTag{str("host.name", "ingester-1"), str("opencensus.exporterversion", "Jaeger-Go-2.30.0")}
	return []wantSpan{
		{id: id(lokiRootID), name: "POST /loki/api/v1/push", kind: "server", service: "loki", startUS: us, durUS: 1_500, processTags: proc,
			tags: []jaegerTag{str("sampler.type", "probabilistic"), f64("sampler.param", 0.5), i64("http.status_code", 204),
				boolean("cached", true), {Key: "raw", Type: "binary", Value: "AQI="}}},
		{id: id(lokiChildID), parent: id(lokiRootID), name: "store chunk", kind: "client", service: "loki", startUS: us + 100, durUS: 700,
			status: "ERROR", processTags: proc,
			logs: []wantLog{{us + 200, []jaegerTag{str("event", "retry"), i64("attempt", 2)}}}},
		{id: id(lokiFlushID), parent: id(lokiChildID), name: "flush", service: "loki", startUS: us + 900, durUS: 300,
			follows: []string{id(lokiRootID)}, processTags: proc},
	}
}

// sendThriftHTTP posts batch as a Jaeger client's HTTP sender does: the
// Thrift binary encoding of the Batch, as application/x-thrift.
func sendThriftHTTP(t *testing.T, s *server, batch *jaeger.Batch) {
	t.Helper()
	body, err := thrift.NewTSerializer().Write(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	if code, msg := post(t, s.jaegerThriftURL(), "application/x-thrift", body); code != http.StatusAccepted {
		t.Fatalf("POST /api/traces: status %d %q, want 202", code, msg)
	}
}

// sendUDP writes one datagram to addr.
func sendUDP(t *testing.T, addr string, datagram []byte) {
	t.Helper()
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(datagram); err != nil {
		t.Fatalf("write datagram to %s: %v", addr, err)
	}
}

// dialJaegerGRPC connects an api_v2 collector client.
func dialJaegerGRPC(t *testing.T, s *server) api_v2.CollectorServiceClient {
	t.Helper()
	conn, err := grpc.NewClient(s.jaegerGRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return api_v2.NewCollectorServiceClient(conn)
}

// protoFromThrift converts a Thrift batch to the api_v2 model as Jaeger's
// collector does (parentSpanId becomes a CHILD_OF reference), so one test
// trace serves every Jaeger protocol.
func protoFromThrift(b *jaeger.Batch) jaegermodel.Batch {
	out := jaegermodel.Batch{Process: jaegermodel.NewProcess(b.Process.ServiceName, protoTags(b.Process.Tags))}
	for _, s := range b.Spans {
		tid := jaegermodel.NewTraceID(uint64(s.TraceIdHigh), uint64(s.TraceIdLow))
		sp := &jaegermodel.Span{TraceID: tid, SpanID: jaegermodel.NewSpanID(uint64(s.SpanId)), OperationName: s.OperationName,
			Flags: jaegermodel.Flags(s.Flags), StartTime: time.UnixMicro(s.StartTime).UTC(),
			Duration: time.Duration(s.Duration) * time.Microsecond, Tags: protoTags(s.Tags)}
		if s.ParentSpanId != 0 {
			sp.References = append(sp.References, jaegermodel.NewChildOfRef(tid, jaegermodel.NewSpanID(uint64(s.ParentSpanId))))
		}
		for _, r := range s.References {
			rt := jaegermodel.NewTraceID(uint64(r.TraceIdHigh), uint64(r.TraceIdLow))
			rs := jaegermodel.NewSpanID(uint64(r.SpanId))
			if r.RefType == jaeger.SpanRefType_FOLLOWS_FROM {
				sp.References = append(sp.References, jaegermodel.NewFollowsFromRef(rt, rs))
			} else {
				sp.References = append(sp.References, jaegermodel.NewChildOfRef(rt, rs))
			}
		}
		for _, l := range s.Logs {
			sp.Logs = append(sp.Logs, jaegermodel.Log{Timestamp: time.UnixMicro(l.Timestamp).UTC(), Fields: protoTags(l.Fields)})
		}
		out.Spans = append(out.Spans, sp)
	}
	return out
}

func protoTags(tags []*jaeger.Tag) []jaegermodel.KeyValue {
	out := make([]jaegermodel.KeyValue, 0, len(tags))
	for _, t := range tags {
		switch t.VType {
		case jaeger.TagType_STRING:
			out = append(out, jaegermodel.String(t.Key, t.GetVStr()))
		case jaeger.TagType_DOUBLE:
			out = append(out, jaegermodel.Float64(t.Key, t.GetVDouble()))
		case jaeger.TagType_BOOL:
			out = append(out, jaegermodel.Bool(t.Key, t.GetVBool()))
		case jaeger.TagType_LONG:
			out = append(out, jaegermodel.Int64(t.Key, t.GetVLong()))
		case jaeger.TagType_BINARY:
			out = append(out, jaegermodel.Binary(t.Key, t.GetVBinary()))
		}
	}
	return out
}

// TestJaegerSenders sends one trace over each Jaeger protocol a Jaeger
// client or agent speaks (Thrift over HTTP, compact and binary Thrift
// over UDP, api_v2 gRPC) and reads it back through the query API. 64-bit
// trace IDs are also read back by their 16-hex form.
func TestJaegerSenders(t *testing.T) {
	s := startServer(t)
	grpcClient := dialJaegerGRPC(t, s)
	cases := []struct {
		name         string
		traceHigh    int64
		traceLow     int64
		acknowledged bool
		send         func(t *testing.T, b *jaeger.Batch)
	}{
		{name: "thrift http", traceLow: -2, acknowledged: true, send: func(t *testing.T, b *jaeger.Batch) { sendThriftHTTP(t, s, b) }},
		{name: "udp compact", traceLow: -3, send: func(t *testing.T, b *jaeger.Batch) {
			sendUDP(t, s.jaegerUDPAddr(true), receivetest.JaegerAgentMessage(t, b, true))
		}},
		{name: "udp binary", traceHigh: 0x5bd0e1f2a3b4c5d6, traceLow: -4, send: func(t *testing.T, b *jaeger.Batch) {
			sendUDP(t, s.jaegerUDPAddr(false), receivetest.JaegerAgentMessage(t, b, false))
		}},
		{name: "grpc", traceHigh: -0x10, traceLow: 0x7fabcdef01234567, acknowledged: true, send: func(t *testing.T, b *jaeger.Batch) {
			if _, err := grpcClient.PostSpans(context.Background(), &api_v2.PostSpansRequest{Batch: protoFromThrift(b)}); err != nil {
				t.Fatalf("PostSpans: %v", err)
			}
		}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now().Add(-time.Minute - time.Duration(i)*time.Second).Truncate(time.Microsecond)
			tc.send(t, lokiBatch(tc.traceHigh, tc.traceLow, start))
			full := fmt.Sprintf("%016x%016x", uint64(tc.traceHigh), uint64(tc.traceLow))
			want := wantLoki(start)
			var tr jaegerTrace
			if tc.acknowledged {
				tr = readTrace(t, s, full)
			} else {
				tr = awaitTrace(t, s, full, len(want))
			}
			checkSpans(t, tr, full, want)
			if tc.traceHigh == 0 {
				checkSpans(t, readTrace(t, s, full[16:]), full, want)
			}
		})
	}
}
