package zipkinapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"waymark/internal/api/apihttp"
	"waymark/internal/api/apitest"
	"waymark/internal/model"
)

// now is the handler's clock in tests: an hour after the fixture.
var now = time.Unix(0, int64(t0)).Add(time.Hour)

// newTestHandler serves the fixture: traces A and B for the default
// tenant, and trace B alone for tenant "other".
func newTestHandler(reg prometheus.Registerer) (*handler, *apitest.MemQuerier) {
	a, b := fixture()
	mq := apitest.NewMemQuerier()
	mq.Add(model.DefaultTenant, a...)
	mq.Add(model.DefaultTenant, b...)
	_, b2 := fixture()
	mq.Add("other", b2...)
	h := newHandler(mq, Options{Registerer: reg})
	h.now = func() time.Time { return now }
	return h, mq
}

type response struct {
	code   int
	body   string
	header http.Header
}

func get(t *testing.T, h http.Handler, path, tenant string) response {
	t.Helper()
	return do(t, h, http.MethodGet, path, tenant)
}

func do(t *testing.T, h http.Handler, method, path, tenant string) response {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	if tenant != "" {
		req.Header.Set(apihttp.HeaderTenant, tenant)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Result().Body)
	return response{code: rec.Code, body: string(body), header: rec.Header()}
}

func TestListRoutes(t *testing.T) {
	h, _ := newTestHandler(nil)
	checkListRoutes(t, h)
}

func checkListRoutes(t *testing.T, h http.Handler) {
	t.Helper()
	tests := []struct {
		name   string
		path   string
		tenant string
		code   int
		want   string
	}{
		{"services", "/api/v2/services", "", 200, `["cart","frontend"]`},
		{"services of another tenant", "/api/v2/services", "other", 200, `["cart"]`},
		{"services of an unknown tenant", "/api/v2/services", "nobody", 200, `[]`},
		{"span names", "/api/v2/spans?serviceName=cart", "", 200, `["checkout","get /items","select"]`},
		{"span names of unknown service", "/api/v2/spans?serviceName=nope", "", 200, `[]`},
		{"span names need a service", "/api/v2/spans", "", 400, "serviceName is required\n"},
		{"remote services by peer.service", "/api/v2/remoteServices?serviceName=frontend", "", 200, `["cart"]`},
		{"remote services by server.address", "/api/v2/remoteServices?serviceName=cart", "", 200, `["mysql"]`},
		{"remote services of another tenant", "/api/v2/remoteServices?serviceName=frontend", "other", 200, `[]`},
		{"remote services need a service", "/api/v2/remoteServices", "", 400, "serviceName is required\n"},
		{"autocomplete keys", "/api/v2/autocompleteKeys", "", 200,
			`["db.statement","host.name","http.method","http.status_code","net.host.ip","net.host.port","network.peer.address","network.peer.port","peer.service","retried","server.address"]`},
		{"autocomplete keys of another tenant", "/api/v2/autocompleteKeys", "other", 200, `["retried"]`},
		{"autocomplete values", "/api/v2/autocompleteValues?key=http.method", "", 200, `["GET"]`},
		{"autocomplete values of a resource key", "/api/v2/autocompleteValues?key=host.name", "", 200, `["web-1"]`},
		{"autocomplete values of a typed key", "/api/v2/autocompleteValues?key=http.status_code", "", 200, `["200"]`},
		{"autocomplete values of an unknown key", "/api/v2/autocompleteValues?key=nope", "", 200, `[]`},
		{"autocomplete values need a key", "/api/v2/autocompleteValues", "", 400, "key is required\n"},
		{"bad tenant", "/api/v2/services", "a/b", 400, ""},
		{"unknown route", "/api/v2/nope", "", 404, "404 page not found\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(t, h, tt.path, tt.tenant)
			if r.code != tt.code {
				t.Fatalf("status %d, want %d (body %q)", r.code, tt.code, r.body)
			}
			if tt.want != "" && r.body != tt.want {
				t.Errorf("body %s, want %s", r.body, tt.want)
			}
			wantType := "application/json"
			if r.code != 200 {
				wantType = "text/plain; charset=utf-8"
			}
			if ct := r.header.Get("Content-Type"); ct != wantType {
				t.Errorf("Content-Type %q, want %q", ct, wantType)
			}
		})
	}
}

// traceIDsOf decodes a list of traces and returns each trace's ID.
func traceIDsOf(t *testing.T, body string) []string {
	t.Helper()
	var traces [][]zSpan
	decodeStrict(t, []byte(body), &traces)
	ids := make([]string, 0, len(traces))
	for _, tr := range traces {
		if len(tr) == 0 {
			t.Fatalf("empty trace in %s", body)
		}
		ids = append(ids, tr[0].TraceID)
	}
	return ids
}

func TestTracesSearch(t *testing.T) {
	h, _ := newTestHandler(nil)
	checkTracesSearch(t, h)
}

func checkTracesSearch(t *testing.T, h http.Handler) {
	t.Helper()
	endMs := (t0 + 30*ms) / ms
	tests := []struct {
		name   string
		query  string
		tenant string
		want   []string // trace IDs, newest first
	}{
		{"all within the default lookback", "", "", []string{traceB, traceA}},
		{"limit keeps the newest", "limit=1", "", []string{traceB}},
		{"service", "serviceName=frontend", "", []string{traceA}},
		{"service and span name on one span", "serviceName=cart&spanName=select", "", []string{traceA}},
		{"span name of another service", "serviceName=frontend&spanName=select", "", []string{}},
		{"span name all means any", "serviceName=cart&spanName=all", "", []string{traceB, traceA}},
		{"remote service all means any", "remoteServiceName=all&limit=1", "", []string{traceB}},
		{"tag equality", "annotationQuery=http.method%3DGET", "", []string{traceA}},
		{"typed tag equality", "annotationQuery=http.status_code%3D200", "", []string{traceA}},
		{"tag inequality", "annotationQuery=http.method%3DPOST", "", []string{}},
		{"bare word as annotation or tag key", "annotationQuery=retried", "", []string{traceB, traceA}},
		{"bare word and tag on one span", "annotationQuery=retried+and+http.method%3DGET", "", []string{}},
		{"bare word with service", "serviceName=cart&annotationQuery=retried", "", []string{traceB, traceA}},
		{"bare word matching nothing", "annotationQuery=nope", "", []string{}},
		{"remote service by peer.service", "remoteServiceName=cart", "", []string{traceA}},
		{"remote service by server.address", "remoteServiceName=mysql&serviceName=cart", "", []string{traceA}},
		{"remote service unknown", "remoteServiceName=redis", "", []string{}},
		{"min duration in µs", "minDuration=45000", "", []string{traceA}},
		{"max duration in µs", "minDuration=1&maxDuration=10000", "", []string{traceB}},
		{"end and lookback in ms", fmt.Sprintf("endTs=%d&lookback=21", endMs), "", []string{traceB}},
		{"end before everything", fmt.Sprintf("endTs=%d", t0/ms-1), "", []string{}},
		{"another tenant", "", "other", []string{traceB}},
		{"unknown tenant", "", "nobody", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(t, h, "/api/v2/traces?"+tt.query, tt.tenant)
			if r.code != 200 {
				t.Fatalf("status %d: %s", r.code, r.body)
			}
			if got := traceIDsOf(t, r.body); !slices.Equal(got, tt.want) {
				t.Errorf("traces %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTracesSearchRequest(t *testing.T) {
	h, mq := newTestHandler(nil)
	tests := []struct {
		name      string
		query     string
		start     uint64
		end       uint64
		limit     int
		min, max  uint64
		searches  int
		condition int
	}{
		{"defaults: now, 24 h, 10", "", uint64(now.Add(-24 * time.Hour).UnixNano()), uint64(now.UnixNano()) + 999_999, 10, 0, 0, 1, 0},
		{"ms window", "endTs=2000&lookback=500", 1500 * ms, 2000*ms + 999_999, 10, 0, 0, 1, 0},
		{"lookback longer than endTs starts at the epoch", "endTs=2000&lookback=5000", 1, 2000*ms + 999_999, 10, 0, 0, 1, 0},
		{"µs durations become ns", "minDuration=5&maxDuration=7", 0, 0, 10, 5000, 7000, 1, 0},
		{"bare words fetch more", "annotationQuery=retried&limit=3", 0, 0, 30, 0, 0, 1, 0},
		{"remote service searches each source", "remoteServiceName=x&serviceName=y", 0, 0, 10, 0, 0, 3, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mq.Searches()
			r := get(t, h, "/api/v2/traces?"+tt.query, "")
			if r.code != 200 {
				t.Fatalf("status %d: %s", r.code, r.body)
			}
			searches := mq.Searches()
			if len(searches) != tt.searches {
				t.Fatalf("%d searches, want %d", len(searches), tt.searches)
			}
			req := searches[0]
			if tt.start != 0 && (req.StartUnixNano != tt.start || req.EndUnixNano != tt.end) {
				t.Errorf("window [%d, %d], want [%d, %d]", req.StartUnixNano, req.EndUnixNano, tt.start, tt.end)
			}
			if req.Limit != tt.limit {
				t.Errorf("limit %d, want %d", req.Limit, tt.limit)
			}
			if req.MinDurationNano != tt.min || req.MaxDurationNano != tt.max {
				t.Errorf("durations %d..%d, want %d..%d", req.MinDurationNano, req.MaxDurationNano, tt.min, tt.max)
			}
			if len(req.Conditions) != tt.condition {
				t.Errorf("%d conditions, want %d: %+v", len(req.Conditions), tt.condition, req.Conditions)
			}
		})
	}
}

func TestBadParameters(t *testing.T) {
	h, _ := newTestHandler(nil)
	tests := []struct {
		name, path, wantMsg string
	}{
		{"limit zero", "/api/v2/traces?limit=0", "limit must be between 1 and 10000"},
		{"limit not a number", "/api/v2/traces?limit=ten", "limit must be a non-negative integer"},
		{"negative endTs", "/api/v2/traces?endTs=-1", "endTs must be a non-negative integer"},
		{"endTs out of range", "/api/v2/traces?endTs=99999999999999999", "endTs 99999999999999999 is out of range"},
		{"bad lookback", "/api/v2/traces?lookback=1h", "lookback must be a non-negative integer"},
		{"bad minDuration", "/api/v2/traces?minDuration=1ms", "minDuration must be a non-negative integer"},
		{"min above max", "/api/v2/traces?minDuration=10&maxDuration=5", "minDuration 10 µs is greater than maxDuration 5 µs"},
		{"annotation query empty key", "/api/v2/traces?annotationQuery=%3Dx", "has an empty key"},
		{"annotation query empty term", "/api/v2/traces?annotationQuery=a+and++and+b", "has an empty term"},
		{"trace id not hex", "/api/v2/trace/xyz", "is not hex"},
		{"trace id too long", "/api/v2/trace/" + strings.Repeat("a", 33), "must be 1 to 32 hex characters"},
		{"trace id zero", "/api/v2/trace/0000000000000000", "all zeros"},
		{"traceMany without ids", "/api/v2/traceMany", "traceIds is required"},
		{"traceMany with a bad id", "/api/v2/traceMany?traceIds=" + traceA + ",zz", "is not hex"},
		{"traceMany with an empty id", "/api/v2/traceMany?traceIds=" + traceA + ",", "must be 1 to 32 hex characters"},
		{"dependencies without endTs", "/api/v2/dependencies", "endTs is required"},
		{"dependencies with a bad lookback", "/api/v2/dependencies?endTs=1&lookback=x", "lookback must be a non-negative integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(t, h, tt.path, "")
			if r.code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400 (body %q)", r.code, r.body)
			}
			if !strings.Contains(r.body, tt.wantMsg) {
				t.Errorf("body %q does not say %q", r.body, tt.wantMsg)
			}
			if ct := r.header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

func TestTraceByID(t *testing.T) {
	h, _ := newTestHandler(nil)
	checkTraceByID(t, h)
}

func checkTraceByID(t *testing.T, h http.Handler) {
	t.Helper()
	tests := []struct {
		name    string
		path    string
		tenant  string
		code    int
		spans   int
		traceID string
	}{
		{"128-bit", "/api/v2/trace/" + traceA, "", 200, 4, traceA},
		{"128-bit upper case", "/api/v2/trace/" + strings.ToUpper(traceA), "", 200, 4, traceA},
		{"64-bit by 16 hex", "/api/v2/trace/" + traceB, "", 200, 1, traceB},
		{"64-bit by 32 hex echoes 16 hex", "/api/v2/trace/0000000000000000" + traceB, "", 200, 1, traceB},
		{"unknown", "/api/v2/trace/00000000000000000000000000000def", "", 404, 0, ""},
		{"other tenant's trace", "/api/v2/trace/" + traceA, "other", 404, 0, ""},
		{"own trace of other tenant", "/api/v2/trace/" + traceB, "other", 200, 1, traceB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(t, h, tt.path, tt.tenant)
			if r.code != tt.code {
				t.Fatalf("status %d, want %d (body %q)", r.code, tt.code, r.body)
			}
			if tt.code != 200 {
				if !strings.Contains(r.body, "trace not found") {
					t.Errorf("404 body %q", r.body)
				}
				return
			}
			var spans []zSpan
			decodeStrict(t, []byte(r.body), &spans)
			if len(spans) != tt.spans {
				t.Fatalf("%d spans, want %d", len(spans), tt.spans)
			}
			for _, s := range spans {
				if s.TraceID != tt.traceID {
					t.Errorf("traceId %q, want %q", s.TraceID, tt.traceID)
				}
			}
		})
	}
}

func TestTraceMany(t *testing.T) {
	h, _ := newTestHandler(nil)
	checkTraceMany(t, h)
}

func checkTraceMany(t *testing.T, h http.Handler) {
	t.Helper()
	tests := []struct {
		name   string
		ids    string
		tenant string
		want   []string
	}{
		{"two", traceA + "," + traceB, "", []string{traceA, traceB}},
		{"order of the request", traceB + "," + traceA, "", []string{traceB, traceA}},
		{"repeats once", traceA + "," + traceA, "", []string{traceA}},
		{"unknown left out", traceA + ",abc", "", []string{traceA}},
		{"none found", "abc", "", []string{}},
		{"tenant isolation", traceA + "," + traceB, "other", []string{traceB}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(t, h, "/api/v2/traceMany?traceIds="+tt.ids, tt.tenant)
			if r.code != 200 {
				t.Fatalf("status %d: %s", r.code, r.body)
			}
			if got := traceIDsOf(t, r.body); !slices.Equal(got, tt.want) {
				t.Errorf("traces %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDependencies(t *testing.T) {
	h, mq := newTestHandler(nil)
	checkDependencies(t, h, mq)
}

// checkDependencies checks /dependencies; with mq, also the window asked.
func checkDependencies(t *testing.T, h http.Handler, mq *apitest.MemQuerier) {
	t.Helper()
	endMs := (t0 + uint64(time.Hour)) / ms
	tests := []struct {
		name       string
		query      string
		tenant     string
		want       string
		start, end uint64
	}{
		{"default lookback of a day", fmt.Sprintf("endTs=%d", endMs), "",
			`[{"parent":"frontend","child":"cart","callCount":2,"errorCount":1}]`,
			(endMs - uint64(DefaultLookback/time.Millisecond)) * ms, endMs*ms + 999_999},
		{"explicit lookback in ms", fmt.Sprintf("endTs=%d&lookback=1000", endMs), "", `[]`,
			(endMs - 1000) * ms, endMs*ms + 999_999},
		{"other tenant", fmt.Sprintf("endTs=%d", endMs), "other", `[]`, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(t, h, "/api/v2/dependencies?"+tt.query, tt.tenant)
			if r.code != 200 {
				t.Fatalf("status %d: %s", r.code, r.body)
			}
			if r.body != tt.want {
				t.Errorf("body %s, want %s", r.body, tt.want)
			}
			if mq != nil && tt.start != 0 && mq.DependencyWindow() != [2]uint64{tt.start, tt.end} {
				t.Errorf("window %v, want [%d %d]", mq.DependencyWindow(), tt.start, tt.end)
			}
		})
	}
}

func TestQuerierErrors(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		code       int
		retryAfter string
	}{
		{"overloaded", &model.OverloadedError{RetryAfter: 3 * time.Second}, 503, "3"},
		{"internal", errors.New("disk on fire"), 500, ""},
		{"deadline", fmt.Errorf("read block: %w", context.DeadlineExceeded), 504, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, mq := newTestHandler(nil)
			mq.Err = tt.err
			for _, path := range []string{"/api/v2/services", "/api/v2/traces", "/api/v2/trace/" + traceA, "/api/v2/dependencies?endTs=1"} {
				r := get(t, h, path, "")
				if r.code != tt.code {
					t.Errorf("%s: status %d, want %d", path, r.code, tt.code)
				}
				if got := r.header.Get("Retry-After"); got != tt.retryAfter {
					t.Errorf("%s: Retry-After %q, want %q", path, got, tt.retryAfter)
				}
			}
		})
	}
}

func TestMethodsAndMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	h, _ := newTestHandler(reg)
	if r := do(t, h, http.MethodPost, "/api/v2/traces", ""); r.code != http.StatusMethodNotAllowed {
		t.Errorf("POST /api/v2/traces: status %d, want 405", r.code)
	}
	get(t, h, "/api/v2/services", "")
	get(t, h, "/api/v2/services", "")
	get(t, h, "/api/v2/spans", "")
	get(t, h, "/api/v2/trace/abc", "")
	tests := []struct {
		route, code string
		want        float64
	}{
		{"services", "200", 2},
		{"spans", "400", 1},
		{"trace", "404", 1},
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		if got := counterValue(families, "waymark_zipkinapi_requests_total", tt.route, tt.code); got != tt.want {
			t.Errorf("requests{route=%s,code=%s} = %v, want %v", tt.route, tt.code, got, tt.want)
		}
	}
	for _, f := range families {
		if f.GetName() == "waymark_zipkinapi_request_duration_seconds" && len(f.GetMetric()) != 3 {
			t.Errorf("duration series: %d, want 3", len(f.GetMetric()))
		}
	}
	// A second handler on the same registry shares the metrics.
	if h2 := newHandler(apitest.NewMemQuerier(), Options{Registerer: reg}); h2.metrics == nil {
		t.Error("second handler on one registry has no metrics")
	}
}

// counterValue returns the counter of family name with the route and code labels.
func counterValue(families []*dto.MetricFamily, name, route, code string) float64 {
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["route"] == route && labels["code"] == code {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// TestBareWordSearchesFurther checks that a search whose bare word turns
// the newest matches down asks the store for more until it finds enough.
func TestBareWordSearchesFurther(t *testing.T) {
	mq := apitest.NewMemQuerier()
	_, b := fixture()
	old := b[0] // has the tag key "retried"
	mq.Add(model.DefaultTenant, old)
	for i := range 30 {
		s := old
		s.TraceID = model.TraceID{15: byte(i + 1), 0: 1}
		s.StartTimeUnixNano += uint64(i+1) * ms
		s.Attributes = nil
		mq.Add(model.DefaultTenant, s)
	}
	h := newHandler(mq, Options{})
	h.now = func() time.Time { return now }
	r := get(t, h, "/api/v2/traces?annotationQuery=retried&limit=1", "")
	if got := traceIDsOf(t, r.body); !slices.Equal(got, []string{traceB}) {
		t.Errorf("traces %v, want [%s]", got, traceB)
	}
	var limits []int
	for _, s := range mq.Searches() {
		limits = append(limits, s.Limit)
	}
	if !slices.Equal(limits, []int{10, 40}) {
		t.Errorf("search limits %v, want [10 40]", limits)
	}
}
