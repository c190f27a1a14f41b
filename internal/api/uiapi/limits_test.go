package uiapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"waymark/internal/api/apitest"
)

// TestLimitWarnings checks that a trace cut to query.max_trace_spans
// reaches the UI with its warning and stored span count, that a trace
// within the limit carries neither, and that a trace summary counts the
// stored spans. Traces keep 4 spans.
func TestLimitWarnings(t *testing.T) {
	h := NewHandler(apitest.LimitedQuerier(t, 50, 4, 1000), Options{})
	cases := []struct {
		name       string
		id         string
		spans      int
		stored     int
		wantWarned string
	}{
		{name: "big trace", id: apitest.TraceBig, spans: 4, stored: 50, wantWarned: "it has 50 spans, only the first 4"},
		{name: "trace at the limit", id: apitest.TraceA, spans: 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/waymark/trace/"+tc.id, nil))
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			var env struct {
				Data struct {
					Spans       struct{ IDs string } `json:"spans"`
					Warning     string               `json:"warning"`
					StoredSpans int                  `json:"storedSpans"`
				} `json:"data"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
				t.Fatal(err)
			}
			d := env.Data
			// 11 base64url digits per span ID
			if n := len(d.Spans.IDs) / 11; n != tc.spans || d.StoredSpans != tc.stored {
				t.Errorf("got %d spans of %d stored, want %d of %d", n, d.StoredSpans, tc.spans, tc.stored)
			}
			if (d.Warning == "") != (tc.wantWarned == "") || !strings.Contains(d.Warning, tc.wantWarned) {
				t.Errorf("warning %q, want %q", d.Warning, tc.wantWarned)
			}
		})
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/waymark/trace-summaries?service=big&start=1699999999000000&end=1700000100000000", nil))
	var sums struct {
		Data []TraceSummary `json:"data"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &sums); err != nil {
		t.Fatal(err)
	}
	if len(sums.Data) != 1 || sums.Data[0].SpanCount != 50 {
		t.Errorf("summaries %+v, want one of 50 spans", sums.Data)
	}
}

// TestStatsBudget checks that a statistics scan cut short by the query
// layer's span budget is marked truncated, as one cut by MaxTraces is.
func TestStatsBudget(t *testing.T) {
	cases := []struct {
		name          string
		budget        int
		wantTruncated bool
	}{
		{name: "within budget", budget: 1000},
		{name: "over budget", budget: 50, wantTruncated: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHandler(apitest.LimitedQuerier(t, 50, 50, tc.budget), Options{})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/waymark/service-stats?start=1699999999000000&end=1700000100000000", nil))
			var env struct {
				Data struct {
					Truncated bool `json:"truncated"`
				} `json:"data"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &env); rec.Code != http.StatusOK || err != nil {
				t.Fatalf("status %d, %v: %s", rec.Code, err, rec.Body)
			}
			if env.Data.Truncated != tc.wantTruncated {
				t.Errorf("truncated = %v, want %v", env.Data.Truncated, tc.wantTruncated)
			}
		})
	}
}
