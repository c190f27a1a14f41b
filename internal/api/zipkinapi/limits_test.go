package zipkinapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"waymark/internal/api/apitest"
)

// TestLimits checks that Zipkin reads keep to the query limits: a trace is
// cut to query.max_trace_spans (4 here), and traceMany stops at the span
// budget (4 here), keeping the traces asked for first.
func TestLimits(t *testing.T) {
	h := NewHandler(apitest.LimitedQuerier(t, 50, 4, 4), Options{})
	cases := []struct {
		name string
		path string
		// spans holds the span count of each trace returned.
		spans []int
	}{
		{name: "big trace", path: "/api/v2/trace/" + apitest.TraceBig, spans: []int{4}},
		{name: "trace at the limit", path: "/api/v2/trace/" + apitest.TraceA, spans: []int{4}},
		{name: "traceMany within budget", path: "/api/v2/traceMany?traceIds=" + apitest.TraceB, spans: []int{1}},
		{name: "traceMany over budget", path: "/api/v2/traceMany?traceIds=" + apitest.TraceB + "," + apitest.TraceA + "," + apitest.TraceBig, spans: []int{1}},
		{name: "traceMany big first", path: "/api/v2/traceMany?traceIds=" + apitest.TraceBig + "," + apitest.TraceB, spans: []int{4}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			var got []int
			if !strings.Contains(tc.path, "traceMany") {
				var spans []json.RawMessage
				if err := json.Unmarshal(rec.Body.Bytes(), &spans); err != nil {
					t.Fatal(err)
				}
				got = []int{len(spans)}
			} else {
				var traces [][]json.RawMessage
				if err := json.Unmarshal(rec.Body.Bytes(), &traces); err != nil {
					t.Fatal(err)
				}
				for _, tr := range traces {
					got = append(got, len(tr))
				}
			}
			if !slices.Equal(got, tc.spans) {
				t.Errorf("span counts %v, want %v", got, tc.spans)
			}
		})
	}
}
