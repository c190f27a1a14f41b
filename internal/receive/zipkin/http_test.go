package zipkin

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/jaegertracing/jaeger-idl/thrift-gen/zipkincore"
	zipkingo "github.com/openzipkin/zipkin-go"
	zipkinmodel "github.com/openzipkin/zipkin-go/model"
	"github.com/openzipkin/zipkin-go/proto/zipkin_proto3"
	zipkinhttp "github.com/openzipkin/zipkin-go/reporter/http"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"waymark/internal/model"
	"waymark/internal/receive"
	"waymark/internal/receive/receivetest"
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// TestZipkinGoReporter sends a shared client/server span pair through the
// zipkin-go tracer and its HTTP reporter (JSON, 64-bit trace IDs, shared
// span IDs, as Envoy and Brave send them).
func TestZipkinGoReporter(t *testing.T) {
	rec := &receivetest.Recorder{}
	srv := httptest.NewServer(NewHTTPHandler(rec, receive.Options{}))
	defer srv.Close()
	rep := zipkinhttp.NewReporter(srv.URL+V2Path, zipkinhttp.RequestCallback(func(r *http.Request) {
		r.Header.Set("X-Scope-OrgID", "acme")
	}))
	tracer := func(service string) *zipkingo.Tracer {
		ep, err := zipkingo.NewEndpoint(service, "127.0.0.1:8080")
		if err != nil {
			t.Fatal(err)
		}
		tr, err := zipkingo.NewTracer(rep, zipkingo.WithLocalEndpoint(ep), zipkingo.WithSharedSpans(true), zipkingo.WithTraceID128Bit(false))
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	client := tracer("frontend").StartSpan("get /cart", zipkingo.Kind(zipkinmodel.Client), zipkingo.StartTime(t0))
	client.Tag("http.path", "/cart")
	client.Annotate(t0.Add(time.Millisecond), "wire.send")
	server := tracer("cart").StartSpan("get /cart", zipkingo.Kind(zipkinmodel.Server), zipkingo.Parent(client.Context()), zipkingo.StartTime(t0.Add(2*time.Millisecond)))
	server.Tag("error", "boom")
	server.FinishedWithDuration(3 * time.Millisecond)
	client.FinishedWithDuration(10 * time.Millisecond)
	if err := rep.Close(); err != nil {
		t.Fatal(err)
	}

	spans := rec.Spans()
	if len(spans) != 2 {
		t.Fatalf("got %d spans, want 2", len(spans))
	}
	byKind := map[model.SpanKind]model.Span{}
	for _, s := range spans {
		byKind[s.Kind] = s
	}
	c, s := byKind[model.KindClient], byKind[model.KindServer]
	ctx := client.Context()
	var wantTrace model.TraceID
	binary.BigEndian.PutUint64(wantTrace[8:], ctx.TraceID.Low)
	var wantID model.SpanID
	binary.BigEndian.PutUint64(wantID[:], uint64(ctx.ID))
	checks := []struct {
		name      string
		got, want any
	}{
		{"64-bit trace id zero-padded", c.TraceID, wantTrace},
		{"server shares the trace", s.TraceID, wantTrace},
		{"client id", c.SpanID, wantID},
		{"server shares the span id", s.SpanID, wantID},
		{"client is root", c.IsRoot(), true},
		{"client name", c.Name, "get /cart"},
		{"client service", c.ServiceName(), "frontend"},
		{"server service", s.ServiceName(), "cart"},
		{"client start", c.StartTimeUnixNano, uint64(t0.UnixNano())},
		{"client duration", c.DurationNano(), uint64(10 * time.Millisecond)},
		{"server duration", s.DurationNano(), uint64(3 * time.Millisecond)},
		{"client tag", attr(c, "http.path"), model.StringValue("/cart")},
		{"client annotation", len(c.Events), 1},
		{"server error", s.StatusCode, model.StatusError},
		{"client ok", c.StatusCode, model.StatusUnset},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s: got %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	if len(c.Events) == 1 && (c.Events[0].Name != "wire.send" || c.Events[0].TimeUnixNano != uint64(t0.Add(time.Millisecond).UnixNano())) {
		t.Errorf("annotation %+v", c.Events[0])
	}
	for _, b := range rec.Batches() {
		if b.Tenant != "acme" {
			t.Errorf("tenant %q, want acme", b.Tenant)
		}
	}
}

func attr(s model.Span, key string) model.Value {
	v, _ := s.Attributes.Get(key)
	return v
}

// envoyProto is a ListOfSpans as Envoy sends it with HTTP_PROTO and its
// defaults: 8-byte trace IDs, shared client/server span IDs.
func envoyProto(t testing.TB, debug bool) []byte {
	t.Helper()
	tid := []byte{0x46, 0x3a, 0xc3, 0x5c, 0x9f, 0x64, 0x13, 0xad}
	id := []byte{0, 0, 0, 0, 0, 0, 0, 7}
	list := &zipkin_proto3.ListOfSpans{Spans: []*zipkin_proto3.Span{
		{TraceId: tid, Id: id, Kind: zipkin_proto3.Span_CLIENT, Name: "egress", Timestamp: uint64(t0.UnixMicro()), Duration: 1500,
			LocalEndpoint: &zipkin_proto3.Endpoint{ServiceName: "envoy-a", Ipv4: []byte{10, 0, 0, 1}, Port: 10000},
			Tags:          map[string]string{"http.status_code": "200"}, Debug: debug},
		{TraceId: tid, Id: id, Kind: zipkin_proto3.Span_SERVER, Name: "ingress", Timestamp: uint64(t0.UnixMicro()) + 100, Duration: 1200,
			LocalEndpoint: &zipkin_proto3.Endpoint{ServiceName: "envoy-b"}, Shared: true,
			Annotations: []*zipkin_proto3.Annotation{{Timestamp: uint64(t0.UnixMicro()) + 150, Value: "ws"}}},
	}}
	b, err := proto.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEnvoyProto(t *testing.T) {
	spans, err := DecodeV2Proto(nil, envoyProto(t, false), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(spans) != 2 {
		t.Fatalf("got %d spans", len(spans))
	}
	want := model.TraceID{8: 0x46, 9: 0x3a, 10: 0xc3, 11: 0x5c, 12: 0x9f, 13: 0x64, 14: 0x13, 15: 0xad}
	kinds := map[model.SpanKind]bool{}
	for _, s := range spans {
		if s.TraceID != want || s.SpanID != (model.SpanID{7: 7}) {
			t.Errorf("ids %s %s", s.TraceID, s.SpanID)
		}
		if _, ok := s.Attributes.Get(receive.SamplingPriorityKey); ok {
			t.Errorf("span %q marked forced without debug", s.Name)
		}
		kinds[s.Kind] = true
	}
	if !kinds[model.KindClient] || !kinds[model.KindServer] {
		t.Errorf("kinds %v, want client and server", kinds)
	}
	if spans[0].TraceID.String() != "0000000000000000463ac35c9f6413ad" {
		t.Errorf("trace id %s", spans[0].TraceID)
	}
}

func TestDebugMarksSpans(t *testing.T) {
	cases := []struct {
		name       string
		debugField bool
		header     bool
		want       []string // names of spans marked
	}{
		{"none", false, false, nil},
		// Debug is a property of the span context, which the two halves
		// of a shared span have in common.
		{"debug field on one half", true, false, []string{"egress", "ingress"}},
		{"X-B3-Flags", false, true, []string{"egress", "ingress"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spans, err := DecodeV2Proto(nil, envoyProto(t, tc.debugField), tc.header)
			if err != nil {
				t.Fatal(err)
			}
			var marked []string
			for _, s := range spans {
				if v, ok := s.Attributes.Get(receive.SamplingPriorityKey); ok {
					if v != model.IntValue(1) {
						t.Errorf("priority %v", v)
					}
					marked = append(marked, s.Name)
				}
			}
			if strings.Join(marked, ",") != strings.Join(tc.want, ",") {
				t.Errorf("marked %v, want %v", marked, tc.want)
			}
		})
	}
	// A priority the sender set is kept as it is.
	spans, err := DecodeV2JSON(nil, []byte(`[{"traceId":"1","id":"2","name":"x","debug":true,"tags":{"sampling.priority":"0"}}]`), false)
	if err != nil {
		t.Fatal(err)
	}
	if v := attr(spans[0], receive.SamplingPriorityKey); v != model.StringValue("0") {
		t.Errorf("sender's priority became %v", v)
	}
}

// v1JSON is a Zipkin v1 span with a client send/receive pair.
const v1JSON = `[{"traceId":"463ac35c9f6413ad","id":"a2fb4a1d1a96d312","name":"get","timestamp":1700000000000000,"duration":2000,
 "annotations":[{"timestamp":1700000000000000,"value":"cs","endpoint":{"serviceName":"frontend","ipv4":"10.0.0.1"}},
 {"timestamp":1700000000002000,"value":"cr","endpoint":{"serviceName":"frontend","ipv4":"10.0.0.1"}}],
 "binaryAnnotations":[{"key":"http.path","value":"/cart","endpoint":{"serviceName":"frontend"}}]}]`

func v1Thrift(t testing.TB) []byte {
	t.Helper()
	ts, dur := t0.UnixMicro(), int64(2000)
	span := &zipkincore.Span{TraceID: 0x463ac35c9f6413ad, ID: 0x0a, Name: "get", Timestamp: &ts, Duration: &dur,
		Annotations: []*zipkincore.Annotation{
			{Timestamp: ts, Value: "sr", Host: &zipkincore.Endpoint{ServiceName: "cart", Ipv4: 0x0a000001}},
			{Timestamp: ts + dur, Value: "ss", Host: &zipkincore.Endpoint{ServiceName: "cart", Ipv4: 0x0a000001}},
		}}
	buf := thrift.NewTMemoryBuffer()
	p := thrift.NewTBinaryProtocolConf(buf, &thrift.TConfiguration{})
	ctx := context.Background()
	if err := p.WriteListBegin(ctx, thrift.STRUCT, 1); err != nil {
		t.Fatal(err)
	}
	if err := span.Write(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := p.WriteListEnd(ctx); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestHTTP(t *testing.T) {
	const limit = 64 << 10
	v2 := []byte(`[{"traceId":"463ac35c9f6413ad","id":"a2fb4a1d1a96d312","kind":"SERVER","name":"get /cart","timestamp":1700000000000000,
  "duration":1500,"localEndpoint":{"serviceName":"cart"},"tags":{"http.status_code":"200"}}]`)
	zeroTrace := bytes.Replace(v2, []byte("463ac35c9f6413ad"), []byte("0000000000000000"), 1)
	big := append([]byte("["), bytes.Repeat([]byte(`{"traceId":"1","id":"2","name":"x"},`), limit/20)...)
	big[len(big)-1] = ']'

	cases := []receivetest.HTTPCase{
		{Name: "v2 json", Request: receivetest.Request{ContentType: "application/json", Body: v2}, WantStatus: 202, WantSpans: 1},
		{Name: "v2 json without content type", Request: receivetest.Request{Body: v2}, WantStatus: 202, WantSpans: 1},
		{Name: "v2 json gzip", Request: receivetest.Request{ContentType: "application/json", Encoding: "gzip", Body: receivetest.Compress(t, "gzip", v2)}, WantStatus: 202, WantSpans: 1},
		{Name: "v2 json deflate", Request: receivetest.Request{ContentType: "application/json", Encoding: "deflate", Body: receivetest.Compress(t, "zlib", v2)}, WantStatus: 202, WantSpans: 1},
		{Name: "v2 json zlib", Request: receivetest.Request{ContentType: "application/json", Encoding: "zlib", Body: receivetest.Compress(t, "zlib", v2)}, WantStatus: 202, WantSpans: 1},
		{Name: "v2 proto", Request: receivetest.Request{ContentType: "application/x-protobuf", Body: envoyProto(t, false)}, WantStatus: 202, WantSpans: 2},
		{Name: "v2 empty array", Request: receivetest.Request{ContentType: "application/json", Body: []byte("[]")}, WantStatus: 202},
		{Name: "v2 empty body", Request: receivetest.Request{ContentType: "application/json"}, WantStatus: 202},
		{Name: "v1 json", Request: receivetest.Request{URL: V1Path, ContentType: "application/json", Body: []byte(v1JSON)}, WantStatus: 202, WantSpans: 1},
		{Name: "v1 thrift", Request: receivetest.Request{URL: V1Path, ContentType: "application/x-thrift", Body: v1Thrift(t)}, WantStatus: 202, WantSpans: 1},
		{Name: "tenant", Request: receivetest.Request{Header: map[string]string{"X-Scope-OrgID": "team-a"}, Body: v2}, WantStatus: 202, WantSpans: 1, WantTenant: "team-a"},
		{Name: "zero trace id counted", Request: receivetest.Request{Body: zeroTrace}, WantStatus: 202},
		{Name: "bad tenant", Request: receivetest.Request{Header: map[string]string{"X-Scope-OrgID": "a b"}, Body: v2}, WantStatus: 400},
		{Name: "wrong method", Request: receivetest.Request{Method: http.MethodGet}, WantStatus: 405},
		{Name: "unknown path", Request: receivetest.Request{URL: "/api/v3/spans", Body: v2}, WantStatus: 404},
		{Name: "unsupported content type", Request: receivetest.Request{ContentType: "text/xml", Body: v2}, WantStatus: 415},
		{Name: "thrift on v2", Request: receivetest.Request{ContentType: "application/x-thrift", Body: v1Thrift(t)}, WantStatus: 415},
		{Name: "invalid json", Request: receivetest.Request{ContentType: "application/json", Body: []byte(`[{"traceId":`)}, WantStatus: 400},
		{Name: "json object not array", Request: receivetest.Request{ContentType: "application/json", Body: []byte(`{"traceId":"1"}`)}, WantStatus: 400},
		{Name: "zero span id", Request: receivetest.Request{ContentType: "application/json", Body: []byte(`[{"traceId":"1","id":"0"}]`)}, WantStatus: 400},
		{Name: "trace id too long", Request: receivetest.Request{ContentType: "application/json", Body: []byte(`[{"traceId":"1234567890123456789012345678901234","id":"1"}]`)}, WantStatus: 400},
		{Name: "invalid proto", Request: receivetest.Request{ContentType: "application/x-protobuf", Body: []byte{0x0a, 0x05, 0x01}}, WantStatus: 400},
		{Name: "proto trace id width", Request: receivetest.Request{ContentType: "application/x-protobuf", Body: protoWithTraceID(t, []byte{1, 2, 3})}, WantStatus: 400},
		{Name: "proto without span id", Request: receivetest.Request{ContentType: "application/x-protobuf", Body: protoWithSpanID(t, nil)}, WantStatus: 400},
		{Name: "invalid thrift", Request: receivetest.Request{URL: V1Path, ContentType: "application/x-thrift", Body: []byte{0x0c, 0x7f, 0xff, 0xff, 0xff}}, WantStatus: 400},
		{Name: "too large", Request: receivetest.Request{ContentType: "application/json", Body: big}, WantStatus: 413},
		{Name: "gzip bomb", Request: receivetest.Request{ContentType: "application/json", Encoding: "gzip", Body: receivetest.Bomb(t, "gzip", 20<<20)}, WantStatus: 413},
		{Name: "overloaded", Request: receivetest.Request{Body: v2}, ConsumeErr: &model.OverloadedError{Reason: "full", RetryAfter: 5 * time.Second}, WantStatus: 503, WantRetryAfter: "5"},
		{Name: "store failure", Request: receivetest.Request{Body: v2}, ConsumeErr: errors.New("disk"), WantStatus: 503, WantRetryAfter: "1"},
		{Name: "still serving", Request: receivetest.Request{Body: v2}, WantStatus: 202, WantSpans: 1},
	}
	rec := &receivetest.Recorder{}
	reg := prometheus.NewRegistry()
	srv := httptest.NewServer(NewHTTPHandler(rec, receive.Options{MaxRequestBytes: limit, Registerer: reg}))
	defer srv.Close()
	receivetest.RunHTTP(t, srv.URL, V2Path, rec, cases, func(t *testing.T, _ receivetest.HTTPCase, _ *http.Response, _ []byte, batch model.Batch) {
		if batch.OTLP != nil {
			t.Error("zipkin batch carries OTLP bytes")
		}
	})
	if got := receivetest.CounterValue(t, reg, "waymark_receiver_refused_spans_total", map[string]string{"receiver": "zipkin_http", "reason": "invalid"}); got != 1 {
		t.Errorf("invalid spans refused %v, want 1", got)
	}
	if got := receivetest.CounterValue(t, reg, "waymark_receiver_accepted_spans_total", map[string]string{"receiver": "zipkin_http"}); got != 11 {
		t.Errorf("accepted spans %v, want 11", got)
	}
}

func protoWithTraceID(t testing.TB, tid []byte) []byte {
	t.Helper()
	b, err := proto.Marshal(&zipkin_proto3.ListOfSpans{Spans: []*zipkin_proto3.Span{{TraceId: tid, Id: []byte{0, 0, 0, 0, 0, 0, 0, 1}}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func protoWithSpanID(t testing.TB, id []byte) []byte {
	t.Helper()
	b, err := proto.Marshal(&zipkin_proto3.ListOfSpans{Spans: []*zipkin_proto3.Span{{TraceId: make([]byte, 16), Id: id}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
