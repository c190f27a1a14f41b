package e2e

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// jaegerResponse is the envelope Jaeger UI and Grafana read.
type jaegerResponse struct {
	Data   []jaegerTrace `json:"data"`
	Total  int           `json:"total"`
	Limit  int           `json:"limit"`
	Offset int           `json:"offset"`
	Errors []struct {
		Code    int    `json:"code"`
		Msg     string `json:"msg"`
		TraceID string `json:"traceID"`
	} `json:"errors"`
}

type jaegerTrace struct {
	TraceID   string                   `json:"traceID"`
	Spans     []jaegerSpan             `json:"spans"`
	Processes map[string]jaegerProcess `json:"processes"`
}

type jaegerSpan struct {
	TraceID       string `json:"traceID"`
	SpanID        string `json:"spanID"`
	OperationName string `json:"operationName"`
	References    []struct {
		RefType string `json:"refType"`
		TraceID string `json:"traceID"`
		SpanID  string `json:"spanID"`
	} `json:"references"`
	StartTime int64       `json:"startTime"`
	Duration  int64       `json:"duration"`
	Tags      []jaegerTag `json:"tags"`
	Logs      []struct {
		Timestamp int64       `json:"timestamp"`
		Fields    []jaegerTag `json:"fields"`
	} `json:"logs"`
	ProcessID string `json:"processID"`
}

type jaegerTag struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

type jaegerProcess struct {
	ServiceName string      `json:"serviceName"`
	Tags        []jaegerTag `json:"tags"`
}

func tagOf(tags []jaegerTag, key string) (jaegerTag, bool) {
	for _, t := range tags {
		if t.Key == key {
			return t, true
		}
	}
	return jaegerTag{}, false
}

// sentTrace is what a test sent, to compare with what it reads back.
type sentTrace struct {
	traceID                trace.TraceID
	rootID, childID, errID trace.SpanID
	start                  time.Time
}

// emitTrace creates a three-span trace with the SDK: a server root, a client
// child with an event, and a failing internal grandchild.
func emitTrace(tp *sdktrace.TracerProvider, service string, start time.Time) sentTrace {
	tr := tp.Tracer("e2e-test", trace.WithInstrumentationVersion("1.0.0"))
	ctx, root := tr.Start(context.Background(), "GET /checkout", trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(start),
		trace.WithAttributes(attribute.String("http.request.method", "GET"), attribute.Int("http.response.status_code", 200), attribute.String("datacenter", "dc-1")))
	ctx2, child := tr.Start(ctx, "call payments", trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(start.Add(10*time.Millisecond)),
		trace.WithAttributes(attribute.Bool("retry", true), attribute.Float64("ratio", 0.25)))
	child.AddEvent("retrying", trace.WithTimestamp(start.Add(15*time.Millisecond)), trace.WithAttributes(attribute.Int("attempt", 2)))
	_, bad := tr.Start(ctx2, "charge card", trace.WithTimestamp(start.Add(20*time.Millisecond)))
	bad.SetStatus(codes.Error, "card declined")
	bad.End(trace.WithTimestamp(start.Add(70 * time.Millisecond)))
	child.End(trace.WithTimestamp(start.Add(80 * time.Millisecond)))
	root.End(trace.WithTimestamp(start.Add(100 * time.Millisecond)))
	return sentTrace{traceID: root.SpanContext().TraceID(), rootID: root.SpanContext().SpanID(), childID: child.SpanContext().SpanID(), errID: bad.SpanContext().SpanID(), start: start}
}

func newProvider(t *testing.T, exp sdktrace.SpanExporter, service string) *sdktrace.TracerProvider {
	t.Helper()
	res, err := resource.New(context.Background(), resource.WithAttributes(attribute.String("service.name", service), attribute.String("host.name", "node-7")))
	if err != nil {
		t.Fatal(err)
	}
	return sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(res))
}

// checkTrace verifies the Jaeger JSON of a trace sent by emitTrace.
func checkTrace(t *testing.T, tr jaegerTrace, sent sentTrace, service string) {
	t.Helper()
	if tr.TraceID != sent.traceID.String() {
		t.Errorf("traceID = %q, want %q", tr.TraceID, sent.traceID)
	}
	if len(tr.Spans) != 3 {
		t.Fatalf("got %d spans, want 3", len(tr.Spans))
	}
	byID := map[string]jaegerSpan{}
	for _, s := range tr.Spans {
		byID[s.SpanID] = s
		if s.TraceID != sent.traceID.String() {
			t.Errorf("span %s traceID = %q", s.SpanID, s.TraceID)
		}
		p, ok := tr.Processes[s.ProcessID]
		if !ok {
			t.Errorf("span %s: process %q missing", s.SpanID, s.ProcessID)
		} else if p.ServiceName != service {
			t.Errorf("span %s: serviceName = %q, want %q", s.SpanID, p.ServiceName, service)
		} else if tag, ok := tagOf(p.Tags, "host.name"); !ok || tag.Value != "node-7" {
			t.Errorf("process tags lack host.name=node-7: %+v", p.Tags)
		}
	}
	root, child, bad := byID[sent.rootID.String()], byID[sent.childID.String()], byID[sent.errID.String()]
	if root.OperationName != "GET /checkout" || child.OperationName != "call payments" || bad.OperationName != "charge card" {
		t.Fatalf("operation names: %q %q %q", root.OperationName, child.OperationName, bad.OperationName)
	}
	if len(root.References) != 0 {
		t.Errorf("root has references: %+v", root.References)
	}
	if len(child.References) != 1 || child.References[0].RefType != "CHILD_OF" || child.References[0].SpanID != sent.rootID.String() {
		t.Errorf("child references = %+v, want CHILD_OF root", child.References)
	}
	if len(bad.References) != 1 || bad.References[0].SpanID != sent.childID.String() {
		t.Errorf("grandchild references = %+v", bad.References)
	}
	if want := sent.start.UnixMicro(); root.StartTime != want {
		t.Errorf("root startTime = %d µs, want %d", root.StartTime, want)
	}
	if want := sent.start.Add(10 * time.Millisecond).UnixMicro(); child.StartTime != want {
		t.Errorf("child startTime = %d µs, want %d", child.StartTime, want)
	}
	if want := sent.start.Add(20 * time.Millisecond).UnixMicro(); bad.StartTime != want {
		t.Errorf("grandchild startTime = %d µs, want %d", bad.StartTime, want)
	}
	if root.Duration != 100_000 || child.Duration != 70_000 || bad.Duration != 50_000 {
		t.Errorf("durations (µs) = %d %d %d, want 100000 70000 50000", root.Duration, child.Duration, bad.Duration)
	}
	checkTag := func(s jaegerSpan, key, typ string, val any) {
		t.Helper()
		tag, ok := tagOf(s.Tags, key)
		if !ok {
			t.Errorf("span %q lacks tag %q: %+v", s.OperationName, key, s.Tags)
			return
		}
		if tag.Type != typ || fmt.Sprint(tag.Value) != fmt.Sprint(val) {
			t.Errorf("span %q tag %s = %v (%s), want %v (%s)", s.OperationName, key, tag.Value, tag.Type, val, typ)
		}
	}
	checkTag(root, "span.kind", "string", "server")
	checkTag(root, "http.request.method", "string", "GET")
	checkTag(root, "http.response.status_code", "int64", 200)
	checkTag(child, "span.kind", "string", "client")
	checkTag(child, "retry", "bool", true)
	checkTag(child, "ratio", "float64", 0.25)
	checkTag(bad, "span.kind", "string", "internal")
	checkTag(bad, "error", "bool", true)
	checkTag(bad, "otel.status_code", "string", "ERROR")
	checkTag(bad, "otel.status_description", "string", "card declined")
	if len(child.Logs) != 1 {
		t.Fatalf("child logs = %+v, want one", child.Logs)
	}
	if child.Logs[0].Timestamp != sent.start.Add(15*time.Millisecond).UnixMicro() {
		t.Errorf("log timestamp = %d", child.Logs[0].Timestamp)
	}
	if tag, ok := tagOf(child.Logs[0].Fields, "event"); !ok || tag.Value != "retrying" {
		t.Errorf("log fields = %+v, want event=retrying", child.Logs[0].Fields)
	}
}

func TestOTLPExportersRoundTripThroughJaegerAPI(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	cases := []struct {
		name    string
		service string
		newExp  func() (sdktrace.SpanExporter, error)
	}{
		{"grpc", "checkout-grpc", func() (sdktrace.SpanExporter, error) {
			return otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(s.otlpGRPCAddr()), otlptracegrpc.WithInsecure(), otlptracegrpc.WithCompressor("gzip"))
		}},
		{"http-protobuf", "checkout-http", func() (sdktrace.SpanExporter, error) {
			return otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(s.otlpHTTPAddr()), otlptracehttp.WithInsecure(), otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			exp, err := tc.newExp()
			if err != nil {
				t.Fatal(err)
			}
			tp := newProvider(t, exp, tc.service)
			start := time.Now().Add(-time.Minute).Truncate(time.Microsecond)
			sent := emitTrace(tp, tc.service, start)
			if err := tp.Shutdown(ctx); err != nil {
				t.Fatalf("export: %v", err)
			}
			// By ID: acknowledged means durable and visible.
			var byID jaegerResponse
			if code := getJSON(t, s.queryURL("/api/traces/"+sent.traceID.String()), &byID); code != 200 {
				t.Fatalf("GET trace: status %d", code)
			}
			if len(byID.Data) != 1 {
				t.Fatalf("trace by id: %d traces", len(byID.Data))
			}
			checkTrace(t, byID.Data[0], sent, tc.service)

			// Search by service, as Grafana does (no start/end).
			var found jaegerResponse
			getJSON(t, s.queryURL("/api/traces?service="+tc.service+"&limit=20"), &found)
			if len(found.Data) != 1 || found.Data[0].TraceID != sent.traceID.String() {
				t.Fatalf("search by service found %d traces", len(found.Data))
			}
			checkTrace(t, found.Data[0], sent, tc.service)

			// Search by operation + tag + duration + time range (µs).
			q := url.Values{}
			q.Set("service", tc.service)
			q.Set("operation", "charge card")
			q.Set("tags", `{"error":"true"}`)
			q.Set("minDuration", "40ms")
			q.Set("maxDuration", "60ms")
			q.Set("start", fmt.Sprint(start.Add(-time.Minute).UnixMicro()))
			q.Set("end", fmt.Sprint(start.Add(time.Minute).UnixMicro()))
			var filtered jaegerResponse
			getJSON(t, s.queryURL("/api/traces?"+q.Encode()), &filtered)
			if len(filtered.Data) != 1 {
				t.Errorf("filtered search found %d traces, want 1", len(filtered.Data))
			}
			q.Set("minDuration", "61ms")
			q.Del("maxDuration")
			getJSON(t, s.queryURL("/api/traces?"+q.Encode()), &filtered)
			if len(filtered.Data) != 0 {
				t.Errorf("search with minDuration above every span found %d traces", len(filtered.Data))
			}
		})
	}

	var services struct{ Data []string }
	getJSON(t, s.queryURL("/api/services"), &services)
	sort.Strings(services.Data)
	if fmt.Sprint(services.Data) != "[checkout-grpc checkout-http]" {
		t.Errorf("services = %v", services.Data)
	}
	var ops struct{ Data []string }
	getJSON(t, s.queryURL("/api/services/checkout-grpc/operations"), &ops)
	sort.Strings(ops.Data)
	if fmt.Sprint(ops.Data) != "[GET /checkout call payments charge card]" {
		t.Errorf("operations = %v", ops.Data)
	}
	var v3 struct {
		Operations []struct{ Name, SpanKind string } `json:"operations"`
	}
	getJSON(t, s.queryURL("/api/v3/operations?service=checkout-grpc&spanKind=server"), &v3)
	if len(v3.Operations) != 1 || v3.Operations[0].Name != "GET /checkout" || v3.Operations[0].SpanKind != "server" {
		t.Errorf("v3 operations = %+v", v3.Operations)
	}
	var notFound jaegerResponse
	if code := getJSON(t, s.queryURL("/api/traces/0123456789abcdef0123456789abcdef"), &notFound); code != 404 || len(notFound.Errors) == 0 {
		t.Errorf("unknown trace: status %d, errors %+v", code, notFound.Errors)
	}
}

func TestTenantsAreKeptApart(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(s.otlpGRPCAddr()), otlptracegrpc.WithInsecure(),
		otlptracegrpc.WithHeaders(map[string]string{"X-Scope-OrgID": "acme"}))
	if err != nil {
		t.Fatal(err)
	}
	tp := newProvider(t, exp, "acme-svc")
	sent := emitTrace(tp, "acme-svc", time.Now().Add(-time.Minute))
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	id := sent.traceID.String()
	var r jaegerResponse
	if code := getJSON(t, s.queryURL("/api/traces/"+id), &r, "X-Scope-OrgID", "acme"); code != 200 || len(r.Data) != 1 {
		t.Fatalf("tenant acme cannot read its trace: status %d", code)
	}
	if code := getJSON(t, s.queryURL("/api/traces/"+id), &r); code != 404 {
		t.Errorf("default tenant reads acme's trace: status %d", code)
	}
	if code := getJSON(t, s.queryURL("/api/traces/"+id), &r, "X-Scope-OrgID", "other"); code != 404 {
		t.Errorf("tenant other reads acme's trace: status %d", code)
	}
	var services struct{ Data []string }
	getJSON(t, s.queryURL("/api/services"), &services)
	if len(services.Data) != 0 {
		t.Errorf("default tenant sees services %v", services.Data)
	}
}
