package tempoapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/protobuf/encoding/protowire"

	"waymark/internal/api/apitest"
)

// TestLimitWarnings checks that a trace cut to query.max_trace_spans and a
// search cut by query.max_spans_per_query say so: v2 trace by ID with
// status PARTIAL and a message (JSON and protobuf), searches likewise, and
// every one with a Warning header (the only place v1 has). The store holds
// the fixture (A: 4 spans, B: 1) and a 50-span trace; traces keep 4 spans
// and a search 4 in all.
func TestLimitWarnings(t *testing.T) {
	srv := httptest.NewServer(NewHandler(apitest.LimitedQuerier(t, 50, 4, 4), Options{Timeout: 5 * time.Second}))
	t.Cleanup(srv.Close)
	window := "&start=1699999999&end=1700000100"
	cases := []struct {
		name   string
		path   string
		accept string
		// want is a substring of the warning; empty means a complete answer.
		want string
	}{
		{name: "v1 big trace", path: "/api/traces/" + apitest.TraceBig, want: "it has 50 spans, only the first 4"},
		{name: "v1 trace at the limit", path: "/api/traces/" + apitest.TraceA},
		{name: "v2 big trace", path: "/api/v2/traces/" + apitest.TraceBig, want: "query.max_trace_spans"},
		{name: "v2 big trace protobuf", path: "/api/v2/traces/" + apitest.TraceBig, accept: "application/protobuf", want: "query.max_trace_spans"},
		{name: "v2 trace at the limit", path: "/api/v2/traces/" + apitest.TraceA},
		{name: "v2 trace at the limit protobuf", path: "/api/v2/traces/" + apitest.TraceA, accept: "application/protobuf"},
		// Every span matches: 3 kept per trace, newest first, so the big
		// trace and B fit and A does not.
		{name: "search over budget", path: "/api/search?spss=3" + window, want: "query.max_spans_per_query"},
		{name: "search within budget", path: "/api/search?spss=1" + window},
		{name: "TraceQL search over budget", path: "/api/search?q=%7B%7D&spss=3" + window, want: "query.max_spans_per_query"},
		{name: "TraceQL search within budget", path: "/api/search?q=%7B%7D&spss=1" + window},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var header []string
			if tc.accept != "" {
				header = []string{"Accept", tc.accept}
			}
			resp, body := getResponse(t, srv, tc.path, header...)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			warning := resp.Header.Get("Warning")
			if (warning != "") != (tc.want != "") || !strings.Contains(warning, tc.want) {
				t.Errorf("Warning header %q, want one holding %q", warning, tc.want)
			}
			var status, message string
			spans := -1
			switch {
			case strings.HasPrefix(tc.path, "/api/v1") || strings.HasPrefix(tc.path, "/api/traces/"):
				var v1 struct {
					Batches []json.RawMessage `json:"batches"`
				}
				if err := json.Unmarshal(body, &v1); err != nil || len(v1.Batches) == 0 {
					t.Fatalf("v1 trace %s: %v", body, err)
				}
				return
			case tc.accept != "":
				status, message, spans = decodeTraceByID(t, body)
			default:
				var v2 struct {
					Status  string            `json:"status"`
					Message string            `json:"message"`
					Traces  []json.RawMessage `json:"traces"`
				}
				if err := json.Unmarshal(body, &v2); err != nil {
					t.Fatal(err)
				}
				status, message = v2.Status, v2.Message
				if strings.HasPrefix(tc.path, "/api/search") {
					// Three traces match; the partial answers hold two.
					want := 3
					if tc.want != "" {
						want = 2
					}
					if len(v2.Traces) != want {
						t.Errorf("search found %d traces, want %d", len(v2.Traces), want)
					}
				}
			}
			if tc.want == "" {
				if status != "" || message != "" {
					t.Errorf("status %q, message %q on a complete answer", status, message)
				}
				return
			}
			if status != "PARTIAL" || !strings.Contains(message, tc.want) {
				t.Errorf("status %q, message %q; want PARTIAL and one holding %q", status, message, tc.want)
			}
			if spans >= 0 && spans != 4 {
				t.Errorf("protobuf trace has %d spans, want 4", spans)
			}
		})
	}
}

// decodeTraceByID reads a TraceByIDResponse{1 trace, 3 status, 4 message}
// and returns its status ("PARTIAL" or ""), message and span count.
func decodeTraceByID(t *testing.T, b []byte) (status, message string, spans int) {
	t.Helper()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.BytesType:
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				t.Fatal("bad trace field")
			}
			var u ptrace.ProtoUnmarshaler
			td, err := u.UnmarshalTraces(v)
			if err != nil {
				t.Fatal(err)
			}
			spans = td.SpanCount()
			n = m
		case num == 3 && typ == protowire.VarintType:
			v, m := protowire.ConsumeVarint(b)
			if m < 0 || v != 1 {
				t.Fatalf("status %d, want PARTIAL (1)", v)
			}
			status, n = "PARTIAL", m
		case num == 4 && typ == protowire.BytesType:
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				t.Fatal("bad message field")
			}
			message, n = string(v), m
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				t.Fatalf("bad field %d", num)
			}
		}
		b = b[n:]
	}
	return status, message, spans
}
