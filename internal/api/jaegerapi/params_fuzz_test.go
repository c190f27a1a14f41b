package jaegerapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// Queries as Jaeger UI and Grafana send them.
var searchSeeds = []string{
	"service=frontend&operation=GET+%2Fcart&limit=20&lookback=1h&maxDuration&minDuration&start=1700000000000000&end=1700003600000000",
	"service=cart&tags=%7B%22http.status_code%22%3A%22500%22%7D&minDuration=1.2s&maxDuration=5s&limit=100&start=1700000000000000&end=1700003600000000&lookback=custom",
	"service=cart&tag=error:true&tag=http.method:GET&raw=true&prettyPrint=1",
	"traceID=4bf92f3577b34da6a3ce929d0e0e4736&traceID=abc&start=1700000000000",
	"start=1700000000&end=1700000000000000000&limit=0",
	"minDuration=500us&maxDuration=100ms&tags=%5B%5D",
	"tags=%7B%22a%22%3A%7B%7D%7D&tag=nocolon",
}

var v3Seeds = []string{
	"query.service_name=cart&query.operation_name=charge&query.attributes=%7B%22k%22%3A%22v%22%7D&query.duration_min=1ms&query.duration_max=2s&query.start_time_min=2023-11-14T22:00:00+02:00&query.start_time_max=2023-11-14T23:00:00.5Z",
	"query.serviceName=cart&query.startTimeMin=2023-11-14T22:00:00Z&query.startTimeMax=2023-11-14T23:00:00Z&query.searchDepth=20&query.rawTraces=true",
	"query.num_traces=-5&query.start_time_min=1969-01-01T00:00:00Z&query.start_time_max=9999-12-31T23:59:59Z",
}

// FuzzParseSearchParams checks that no /api/traces query string panics the
// parser and that whatever it accepts is consistent.
func FuzzParseSearchParams(f *testing.F) {
	for _, s := range searchSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw) // a partial parse is still a query to try
		p, err := parseSearchParams(q, testNow)
		if err != nil {
			return
		}
		r := p.req
		if r.StartUnixNano > r.EndUnixNano || r.Limit <= 0 || (r.MaxDurationNano != 0 && r.MaxDurationNano < r.MinDurationNano) {
			t.Fatalf("accepted an inconsistent request %+v from %q", r, raw)
		}
		if err := r.Compile(); err != nil {
			t.Fatalf("accepted a request that does not compile: %v", err)
		}
	})
}

// FuzzParseV3SearchParams does the same for api_v3 searches.
func FuzzParseV3SearchParams(f *testing.F) {
	for _, s := range v3Seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw)
		p, err := parseV3SearchParams(q)
		if err != nil {
			return
		}
		r := p.req
		if r.StartUnixNano > r.EndUnixNano || r.Limit <= 0 || (r.MaxDurationNano != 0 && r.MaxDurationNano < r.MinDurationNano) {
			t.Fatalf("accepted an inconsistent request %+v from %q", r, raw)
		}
	})
}

// FuzzHandler sends arbitrary paths and queries under /api/ to the handler:
// it must never panic, and every JSON answer must be valid JSON.
func FuzzHandler(f *testing.F) {
	for _, s := range searchSeeds {
		f.Add("traces", s)
	}
	for _, s := range v3Seeds {
		f.Add("v3/traces", s)
		f.Add("v3/trace-summaries", s)
	}
	for _, p := range []string{"traces/4bf92f3577b34da6a3ce929d0e0e4736", "traces/ABC", "v3/traces/abc", "services/frontend/operations", "operations", "v3/operations", "dependencies", "services"} {
		f.Add(p, "start=1700000000000&end=1700000000000000&raw=true&service=frontend&spanKind=server&endTs=1700000000000&lookback=3600000&start_time=2023-11-14T22:00:00+02:00")
	}
	f.Fuzz(func(t *testing.T, path, raw string) {
		if strings.ContainsAny(path, "?#") {
			return // would no longer be a path
		}
		u := &url.URL{Path: "/api/" + path, RawQuery: raw}
		req, err := http.NewRequest(http.MethodGet, u.String(), nil)
		if err != nil {
			return
		}
		h, _ := newTestHandler(t)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Header().Get("Content-Type") == "application/json" && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("invalid JSON for %s: %s", u, rec.Body)
		}
		if rec.Code >= 500 {
			t.Fatalf("status %d for %s: %s", rec.Code, u, rec.Body)
		}
	})
}
