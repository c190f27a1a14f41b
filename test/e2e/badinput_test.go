package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const validJSON = `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"json-svc"}}]},
 "scopeSpans":[{"spans":[{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7","name":"GET /cart","kind":2,
 "startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000120000000","status":{"code":2,"message":"boom"},
 "attributes":[{"key":"http.response.status_code","value":{"intValue":"500"}}]}]}]}]}`

func post(t *testing.T, url, contentType string, body []byte) (int, string) {
	t.Helper()
	resp, err := http.Post(url, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestOTLPHTTPRejectsBadInputAndKeepsServing(t *testing.T) {
	s := startServer(t, "--receivers.max_request_bytes=64KiB")
	url := "http://" + s.otlpHTTPAddr() + "/v1/traces"
	zeroTrace := strings.Replace(validJSON, "4bf92f3577b34da6a3ce929d0e0e4736", "00000000000000000000000000000000", 1)
	shortTrace := strings.Replace(validJSON, "4bf92f3577b34da6a3ce929d0e0e4736", "4bf92f3577b34da6a3ce929d0e0e47", 1)
	cases := []struct {
		name        string
		contentType string
		body        []byte
		wantStatus  int
		wantText    string
	}{
		{"malformed protobuf", "application/x-protobuf", []byte{0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01}, 400, ""},
		{"malformed json", "application/json", []byte(`{"resourceSpans":[{`), 400, ""},
		{"wrong-length trace id", "application/json", []byte(shortTrace), 400, ""},
		{"oversized body", "application/x-protobuf", bytes.Repeat([]byte{0}, 128<<10), 413, ""},
		{"unsupported content type", "text/plain", []byte("hello"), 415, ""},
		{"all-zero trace id is rejected as partial success", "application/json", []byte(zeroTrace), 200, "rejectedSpans"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := post(t, url, tc.contentType, tc.body)
			if code != tc.wantStatus {
				t.Fatalf("status %d, want %d; body %q", code, tc.wantStatus, body)
			}
			if code >= 400 && code != 413 && len(strings.TrimSpace(body)) == 0 {
				t.Errorf("error answer has no message")
			}
			if tc.wantText != "" && !strings.Contains(body, tc.wantText) {
				t.Errorf("body %q lacks %q", body, tc.wantText)
			}
		})
	}
	// Still serving: a valid JSON export is stored and readable.
	code, body := post(t, url, "application/json", []byte(validJSON))
	if code != 200 {
		t.Fatalf("valid export after bad ones: status %d %s", code, body)
	}
	var r jaegerResponse
	if code := getJSON(t, s.queryURL("/api/traces/4bf92f3577b34da6a3ce929d0e0e4736"), &r); code != 200 || len(r.Data) != 1 {
		t.Fatalf("valid trace not readable: status %d", code)
	}
	sp := r.Data[0].Spans[0]
	if tag, ok := tagOf(sp.Tags, "http.response.status_code"); !ok || tag.Type != "int64" || tag.Value != float64(500) {
		t.Errorf("int attribute from JSON: %+v", sp.Tags)
	}
	if sp.Duration != 120000 || sp.StartTime != 1700000000000000 {
		t.Errorf("times: start %d µs, duration %d µs", sp.StartTime, sp.Duration)
	}
	var partial map[string]any
	_, body = post(t, url, "application/json", []byte(zeroTrace))
	if err := json.Unmarshal([]byte(body), &partial); err != nil {
		t.Fatalf("partial success body is not JSON: %q", body)
	}
}

func TestOTLPGRPCRejectsBadInput(t *testing.T) {
	s := startServer(t, "--receivers.max_request_bytes=64KiB")
	client := dialOTLP(t, s.otlpGRPCAddr())
	ctx := context.Background()

	// Oversized message: RESOURCE_EXHAUSTED.
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID([16]byte{1})
	sp.SetSpanID([8]byte{1})
	sp.SetName(strings.Repeat("x", 100<<10))
	_, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(td))
	if status.Code(err) != codes.ResourceExhausted {
		t.Errorf("oversized export: %v, want ResourceExhausted", err)
	}

	// All-zero trace ID: OK with partial success.
	td = ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "grpc-bad")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	zero := spans.AppendEmpty()
	zero.SetSpanID([8]byte{2})
	zero.SetName("zero trace")
	good := spans.AppendEmpty()
	good.SetTraceID([16]byte{9, 9, 9})
	good.SetSpanID([8]byte{3})
	good.SetName("good")
	resp, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(td))
	if err != nil {
		t.Fatalf("export with one invalid span: %v", err)
	}
	if ps := resp.PartialSuccess(); ps.RejectedSpans() != 1 || ps.ErrorMessage() == "" {
		t.Errorf("partial success = %d rejected, %q", ps.RejectedSpans(), ps.ErrorMessage())
	}
	var r jaegerResponse
	if code := getJSON(t, s.queryURL("/api/traces/09090900000000000000000000000000"), &r); code != 200 {
		t.Errorf("the valid span of a partly rejected batch was not stored: status %d", code)
	}
}
