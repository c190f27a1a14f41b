package jaegerapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"waymark/internal/api/apitest"
)

// TestLimitWarnings checks that a trace cut to query.max_trace_spans and a
// search cut by query.max_spans_per_query say so: in the trace's warnings
// and the envelope's errors for the internal API, in a Warning header for
// api_v3. The store holds the fixture (A: 4 spans, B: 1) and a 50-span
// trace; traces keep 4 spans and a search 4 in all.
func TestLimitWarnings(t *testing.T) {
	h := NewHandler(apitest.LimitedQuerier(t, 50, 4, 4), Options{})
	window := "&start=1699999999000000&end=1700000100000000"
	cases := []struct {
		name string
		path string
		// spans is the length of data.0.spans; -1 skips the check.
		spans int
		// traceWarning and envelopeError are substrings expected in
		// data.0.warnings.0 and errors.0.msg; empty means none.
		traceWarning, envelopeError string
		header                      string
	}{
		{name: "big trace", path: "/api/traces/" + apitest.TraceBig, spans: 4, traceWarning: "it has 50 spans, only the first 4"},
		{name: "trace at the limit", path: "/api/traces/" + apitest.TraceA, spans: 4},
		{name: "big trace by ID list", path: "/api/traces?traceID=" + apitest.TraceBig, spans: 4, traceWarning: "query.max_trace_spans"},
		{name: "ID list over budget", path: "/api/traces?traceID=" + apitest.TraceB + "&traceID=" + apitest.TraceA, spans: 1, envelopeError: "query.max_spans_per_query"},
		{name: "big trace found by search", path: "/api/traces?service=big" + window, spans: 4, traceWarning: "query.max_trace_spans"},
		{name: "search over budget", path: "/api/traces?service=cart" + window, spans: 1, envelopeError: "query.max_spans_per_query"},
		{name: "v3 big trace", path: "/api/v3/traces/" + apitest.TraceBig, spans: -1, header: "query.max_trace_spans"},
		{name: "v3 search over budget", path: "/api/v3/traces?query.service_name=cart&query.start_time_min=2023-11-14T22:13:19Z&query.start_time_max=2023-11-14T22:15:00Z",
			spans: -1, header: "query.max_spans_per_query"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(h, http.MethodGet, tc.path, nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			warning := rec.Header().Get("Warning")
			if (warning != "") != (tc.header != "") || !strings.Contains(warning, tc.header) || (warning != "" && !strings.HasPrefix(warning, `199 waymark "`)) {
				t.Errorf("Warning header %q, want one holding %q", warning, tc.header)
			}
			if tc.spans < 0 {
				return
			}
			var env struct {
				Data []struct {
					Spans    []json.RawMessage `json:"spans"`
					Warnings []string          `json:"warnings"`
				} `json:"data"`
				Errors []structuredError `json:"errors"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
				t.Fatal(err)
			}
			if len(env.Data) == 0 || len(env.Data[0].Spans) != tc.spans {
				t.Fatalf("got %d traces, want the first with %d spans: %s", len(env.Data), tc.spans, rec.Body)
			}
			checkMessages(t, "trace warnings", env.Data[0].Warnings, tc.traceWarning)
			var msgs []string
			for _, e := range env.Errors {
				msgs = append(msgs, e.Msg)
			}
			checkMessages(t, "envelope errors", msgs, tc.envelopeError)
		})
	}
}

// checkMessages checks that msgs is empty when want is, and otherwise one
// message holding want.
func checkMessages(t *testing.T, what string, msgs []string, want string) {
	t.Helper()
	if want == "" {
		if len(msgs) != 0 {
			t.Errorf("%s = %q, want none", what, msgs)
		}
		return
	}
	if len(msgs) != 1 || !strings.Contains(msgs[0], want) {
		t.Errorf("%s = %q, want one holding %q", what, msgs, want)
	}
}
