package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// sendWideTrace sends, with the OpenTelemetry SDK over OTLP/gRPC, one trace
// of n spans of service: a root and n−1 children started 1 ms apart, in
// the order they start. It returns the trace ID and the span IDs in start
// order.
func sendWideTrace(t *testing.T, s *server, service string, n int, start time.Time) (trace.TraceID, []trace.SpanID) {
	t.Helper()
	ctx := context.Background()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(s.otlpGRPCAddr()), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	res, err := resource.New(ctx, resource.WithAttributes(attribute.String("service.name", service)))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithMaxExportBatchSize(512)), sdktrace.WithResource(res))
	tr := tp.Tracer("e2e-limits")
	rctx, root := tr.Start(ctx, "fan out", trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(start))
	ids := []trace.SpanID{root.SpanContext().SpanID()}
	for i := 1; i < n; i++ {
		at := start.Add(time.Duration(i) * time.Millisecond)
		_, child := tr.Start(rctx, fmt.Sprintf("step %d", i), trace.WithTimestamp(at))
		child.End(trace.WithTimestamp(at.Add(time.Millisecond / 2)))
		ids = append(ids, child.SpanContext().SpanID())
	}
	root.End(trace.WithTimestamp(start.Add(time.Duration(n) * time.Millisecond)))
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("export: %v", err)
	}
	return root.SpanContext().TraceID(), ids
}

// TestTooLargeTraceIsTruncated starts Waymark with small query limits,
// sends a 300-span trace and a 60-span one, and reads them back: the big
// trace is cut to its root and earliest spans with a warning on every
// API, and a search that would hold both stops at the span budget and
// says so.
func TestTooLargeTraceIsTruncated(t *testing.T) {
	s := startServer(t, "--query.max_trace_spans=100", "--query.max_spans_per_query=150")
	start := time.Now().Add(-10 * time.Minute).Truncate(time.Millisecond)
	big, ids := sendWideTrace(t, s, "fan-out", 300, start)
	sendWideTrace(t, s, "fan-out", 60, start.Add(time.Minute))

	// Jaeger JSON: 100 spans, the first 100 sent, and the warning Jaeger UI shows.
	var byID struct {
		Data []struct {
			Spans []struct {
				SpanID string `json:"spanID"`
			} `json:"spans"`
			Warnings []string `json:"warnings"`
		} `json:"data"`
	}
	if code := getJSON(t, s.queryURL("/api/traces/"+big.String()), &byID); code != 200 || len(byID.Data) != 1 {
		t.Fatalf("GET trace: status %d, %d traces", code, len(byID.Data))
	}
	got := byID.Data[0]
	if len(got.Spans) != 100 {
		t.Fatalf("got %d spans, want 100", len(got.Spans))
	}
	for i, sp := range got.Spans {
		if sp.SpanID != ids[i].String() {
			t.Fatalf("span %d is %s, want %s: not the earliest spans", i, sp.SpanID, ids[i])
		}
	}
	if len(got.Warnings) != 1 || !strings.Contains(got.Warnings[0], "it has 300 spans, only the first 100") {
		t.Errorf("trace warnings %q", got.Warnings)
	}

	// Tempo: v1 has the warning in a header, v2 as status PARTIAL.
	code, _, header := getRaw(t, s.tempoURL("/api/traces/"+big.String()))
	if code != 200 || !strings.Contains(header.Get("Warning"), "query.max_trace_spans") {
		t.Errorf("Tempo v1: status %d, Warning %q", code, header.Get("Warning"))
	}
	code, body, _ := getRaw(t, s.tempoURL("/api/v2/traces/"+big.String()))
	var v2 struct {
		Status  string `json:"status"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(body, &v2); code != 200 || err != nil || v2.Status != "PARTIAL" || !strings.Contains(v2.Message, "query.max_trace_spans") {
		t.Errorf("Tempo v2: status %d, %+v, %v", code, v2, err)
	}

	// A search holding both traces (60 + 100 spans) passes the budget of 150.
	q := fmt.Sprintf("/api/traces?service=fan-out&start=%d&end=%d", start.Add(-time.Minute).UnixMicro(), start.Add(5*time.Minute).UnixMicro())
	var found jaegerResponse
	if code := getJSON(t, s.queryURL(q), &found); code != 200 {
		t.Fatalf("search: status %d", code)
	}
	if len(found.Data) != 1 || len(found.Data[0].Spans) != 60 || len(found.Errors) != 1 || !strings.Contains(found.Errors[0].Msg, "query.max_spans_per_query") {
		t.Errorf("search: %d traces, errors %+v; want the 60-span trace and a budget message", len(found.Data), found.Errors)
	}

	if n := metricValue(t, s, "waymark_query_traces_truncated_total"); n < 2 {
		t.Errorf("waymark_query_traces_truncated_total = %v, want at least 2", n)
	}
	if n := metricValue(t, s, "waymark_query_searches_partial_total"); n != 1 {
		t.Errorf("waymark_query_searches_partial_total = %v, want 1", n)
	}
}
