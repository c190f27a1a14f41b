package tempoapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"waymark/internal/model"
	"waymark/internal/query"
	"waymark/internal/query/traceql"
	"waymark/internal/store/filter"
	"waymark/internal/store/summary"
)

// metricsQuerier answers QueryRange with a fixed result and records the
// request; the handler's other routes are not exercised here.
type metricsQuerier struct {
	tenant string
	req    query.MetricsRequest
	res    query.MetricsResult
	err    error
}

var errNotUsed = errors.New("not used by the metrics tests")

func (m *metricsQuerier) QueryRange(_ context.Context, tenant string, req query.MetricsRequest) (query.MetricsResult, error) {
	m.tenant, m.req = tenant, req
	return m.res, m.err
}

func (m *metricsQuerier) FindTrace(context.Context, string, model.TraceID, uint64, uint64) (query.Trace, error) {
	return query.Trace{}, errNotUsed
}

func (m *metricsQuerier) SearchSummaries(context.Context, string, filter.Request, int) (query.SummarySearch, error) {
	return query.SummarySearch{}, errNotUsed
}

func (m *metricsQuerier) SearchTraceQL(context.Context, string, query.TraceQLRequest) (query.TraceQLSearch, error) {
	return query.TraceQLSearch{}, errNotUsed
}

func (m *metricsQuerier) Tags(context.Context, string, uint64, uint64) (summary.Tags, error) {
	return summary.Tags{}, errNotUsed
}

func (m *metricsQuerier) Services(context.Context, string) ([]string, error) { return nil, errNotUsed }

func (m *metricsQuerier) Operations(context.Context, string, string) ([]query.Operation, error) {
	return nil, errNotUsed
}

const sec = uint64(time.Second)

func TestParseMetricsParams(t *testing.T) {
	now := time.Unix(1_700_003_600, 0)
	nowNs := uint64(now.UnixNano())
	for _, tc := range []struct {
		name        string
		params      string
		instant     bool
		start, end  uint64
		step        uint64
		wantErr     string
		wantWarning string
	}{
		{name: "seconds", params: "start=1700000000&end=1700003600&step=30s", start: 1_700_000_000 * sec, end: 1_700_003_600 * sec, step: 30 * sec},
		{name: "nanoseconds", params: "start=1700000000123456789&end=1700003600000000000", start: 1_700_000_000*sec + 123456789, end: 1_700_003_600 * sec},
		{name: "fractional_seconds", params: "start=1700000000.5&end=1700003600.000000001", start: 1_700_000_000*sec + 5e8, end: 1_700_003_600*sec + 1},
		{name: "rfc3339", params: "start=2023-11-14T22:13:20Z&end=2023-11-14T23:13:20.5%2B00:00", start: 1_700_000_000 * sec, end: 1_700_003_600*sec + 5e8},
		{name: "milliseconds_warn", params: "start=1700000000000&end=1700003600000", start: 1_700_000_000 * sec, end: 1_700_003_600 * sec, wantWarning: "milliseconds"},
		{name: "microseconds_warn", params: "start=1700000000000000&end=1700003600000000", start: 1_700_000_000 * sec, end: 1_700_003_600 * sec, wantWarning: "microseconds"},
		{name: "default_since", params: "", start: nowNs - 3600*sec, end: nowNs},
		{name: "since", params: "since=15m", start: nowNs - 900*sec, end: nowNs},
		{name: "end_and_since", params: "end=1700000600&since=10m", start: 1_700_000_000 * sec, end: 1_700_000_600 * sec},
		{name: "start_only", params: "start=1700000000", start: 1_700_000_000 * sec, end: nowNs},
		{name: "step_seconds", params: "step=60", start: nowNs - 3600*sec, end: nowNs, step: 60 * sec},
		{name: "step_fraction", params: "step=0.25", start: nowNs - 3600*sec, end: nowNs, step: sec / 4},
		{name: "instant_ignores_step", params: "step=60", instant: true, start: nowNs - 3600*sec, end: nowNs},
		{name: "exemplars_accepted", params: "exemplars=100", start: nowNs - 3600*sec, end: nowNs},
		{name: "mixed_forms", params: "start=1700000000&end=2023-11-14T23:13:20Z", wantErr: "write both the same way"},
		{name: "seconds_and_nanos", params: "start=1700000000&end=1700003600000000000", wantErr: "write both the same way"},
		{name: "end_before_start", params: "start=1700003600&end=1700000000", wantErr: "is not after start"},
		{name: "bad_start", params: "start=yesterday", wantErr: "invalid start"},
		{name: "negative_start", params: "start=-5&end=10", wantErr: "invalid start"},
		{name: "zero_start", params: "start=0&end=10", wantErr: "invalid start"},
		{name: "too_many_digits", params: "start=17000000000000000000000", wantErr: "invalid start"},
		{name: "seconds_overflow", params: "start=9999999999.5&end=9999999999.6", wantErr: "invalid start"},
		{name: "bad_since", params: "since=-1h", wantErr: "invalid since"},
		{name: "bad_step", params: "step=fast", wantErr: "invalid step"},
		{name: "zero_step", params: "step=0s", wantErr: "invalid step"},
		{name: "bad_exemplars", params: "exemplars=all", wantErr: "invalid exemplars"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := url.ParseQuery(tc.params)
			if err != nil {
				t.Fatal(err)
			}
			v.Set("q", "{ } | rate()")
			p, err := parseMetricsParams(v, now, tc.instant)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.start != tc.start || p.end != tc.end || p.step != tc.step {
				t.Errorf("start, end, step = %d, %d, %d; want %d, %d, %d", p.start, p.end, p.step, tc.start, tc.end, tc.step)
			}
			warned := strings.Join(p.warnings, "; ")
			if (tc.wantWarning == "") != (warned == "") || !strings.Contains(warned, tc.wantWarning) {
				t.Errorf("warnings %q, want %q", warned, tc.wantWarning)
			}
		})
	}
}

func TestParseMetricsParamsQuery(t *testing.T) {
	for _, tc := range []struct {
		name, q, want string
	}{
		{"missing", "", "missing q"},
		{"search_query", `{ status = error }`, "not a metrics query"},
		{"syntax_error_position", `{ status = error } | rate(`, "invalid TraceQL query: "},
		{"syntax_error_column", `{ status = } | rate()`, "at 1:12"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseMetricsParams(url.Values{"q": {tc.q}}, time.Now(), false)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func metricsServer(t *testing.T, m *metricsQuerier) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(NewHandler(m, Options{Timeout: 5 * time.Second}))
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, srv *httptest.Server, path string, header ...string) (int, string) {
	t.Helper()
	resp, body := getResponse(t, srv, path, header...)
	return resp.StatusCode, string(body)
}

// getResponse sends GET path with the header pairs and returns the
// response (its body read and closed) and its body.
func getResponse(t *testing.T, srv *httptest.Server, path string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// sampleResult has labels of every value type Tempo's series carry.
func sampleResult() query.MetricsResult {
	return query.MetricsResult{
		InspectedTraces: 12,
		InspectedSpans:  34,
		Series: []query.MetricsSeries{
			{Labels: []query.MetricsLabel{
				{Key: "resource.service.name", Value: traceql.StringStatic("cart")},
				{Key: "span.http.status_code", Value: traceql.IntStatic(500)},
			}, Samples: []query.MetricsSample{{TimestampUnixMilli: 1_700_000_030_000, Value: 1.5}, {TimestampUnixMilli: 1_700_000_060_000, Value: 0}}},
			{Labels: []query.MetricsLabel{
				{Key: "span:status", Value: traceql.StatusStatic(model.StatusError)},
				{Key: "p", Value: traceql.FloatStatic(0.99)},
			}, Samples: []query.MetricsSample{{TimestampUnixMilli: 1_700_000_030_000, Value: 0.25}}},
			{Labels: []query.MetricsLabel{{Key: "span.flag", Value: traceql.BoolStatic(true)}, {Key: "span.empty", Value: traceql.StringStatic("")}},
				Samples: []query.MetricsSample{{TimestampUnixMilli: 1_700_000_060_000, Value: 3}}},
			{Labels: []query.MetricsLabel{{Key: "span.missing"}}, Samples: []query.MetricsSample{{TimestampUnixMilli: 1_700_000_060_000, Value: 2}}},
		},
	}
}

func TestMetricsRangeJSON(t *testing.T) {
	m := &metricsQuerier{res: sampleResult()}
	srv := metricsServer(t, m)
	code, body := get(t, srv, "/api/metrics/query_range?q="+url.QueryEscape(`{ } | rate() by (resource.service.name)`)+
		"&start=1700000000&end=1700000060&step=30s", "X-Scope-OrgID", "acme")
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	want := `{"series":[` +
		`{"labels":[{"key":"resource.service.name","value":{"stringValue":"cart"}},{"key":"span.http.status_code","value":{"intValue":"500"}}],` +
		`"promLabels":"{resource.service.name=\"cart\", span.http.status_code=\"500\"}",` +
		`"samples":[{"timestampMs":"1700000030000","value":1.5},{"timestampMs":"1700000060000","value":0}]},` +
		`{"labels":[{"key":"span:status","value":{"stringValue":"error"}},{"key":"p","value":{"doubleValue":0.99}}],` +
		`"promLabels":"{p=\"0.99\", span:status=\"error\"}","samples":[{"timestampMs":"1700000030000","value":0.25}]},` +
		`{"labels":[{"key":"span.flag","value":{"boolValue":true}},{"key":"span.empty","value":{"stringValue":""}}],` +
		`"promLabels":"{span.empty=\"<empty>\", span.flag=\"true\"}","samples":[{"timestampMs":"1700000060000","value":3}]},` +
		`{"labels":[{"key":"span.missing","value":{}}],"promLabels":"{span.missing=\"<nil>\"}",` +
		`"samples":[{"timestampMs":"1700000060000","value":2}]}],` +
		`"metrics":{"inspectedTraces":12,"inspectedSpans":"34","completedJobs":1,"totalJobs":1}}`
	if body != want {
		t.Errorf("body\n got %s\nwant %s", body, want)
	}
	var decoded struct {
		Series []struct {
			Labels []struct {
				Key   string         `json:"key"`
				Value map[string]any `json:"value"`
			} `json:"labels"`
			Samples []struct {
				TimestampMs string  `json:"timestampMs"`
				Value       float64 `json:"value"`
			} `json:"samples"`
		} `json:"series"`
	}
	if err := json.Unmarshal([]byte(body), &decoded); err != nil {
		t.Fatalf("invalid JSON: %v", err)
	}
	if m.tenant != "acme" {
		t.Errorf("tenant %q, want acme", m.tenant)
	}
	if m.req.StartUnixNano != 1_700_000_000*sec || m.req.EndUnixNano != 1_700_000_060*sec || m.req.StepNano != 30*sec || m.req.Instant {
		t.Errorf("request %+v", m.req)
	}
	if m.req.Query == nil || m.req.Query.Metrics == nil || m.req.Query.Metrics.Func != traceql.MetricsRate {
		t.Errorf("query %v", m.req.Query)
	}
}

func TestMetricsInstantJSON(t *testing.T) {
	m := &metricsQuerier{res: sampleResult()}
	m.res.Series = m.res.Series[:2]
	srv := metricsServer(t, m)
	code, body := get(t, srv, "/api/metrics/query?q="+url.QueryEscape(`{ } | count_over_time()`)+"&since=30m&step=10s")
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	want := `{"series":[` +
		`{"labels":[{"key":"resource.service.name","value":{"stringValue":"cart"}},{"key":"span.http.status_code","value":{"intValue":"500"}}],` +
		`"promLabels":"{resource.service.name=\"cart\", span.http.status_code=\"500\"}","value":0},` +
		`{"labels":[{"key":"span:status","value":{"stringValue":"error"}},{"key":"p","value":{"doubleValue":0.99}}],` +
		`"promLabels":"{p=\"0.99\", span:status=\"error\"}","value":0.25}],` +
		`"metrics":{"inspectedTraces":12,"inspectedSpans":"34","completedJobs":1,"totalJobs":1}}`
	if body != want {
		t.Errorf("body\n got %s\nwant %s", body, want)
	}
	if !m.req.Instant || m.req.StepNano != 0 || m.req.EndUnixNano-m.req.StartUnixNano != uint64(30*time.Minute) {
		t.Errorf("request %+v", m.req)
	}
	if m.tenant != model.DefaultTenant {
		t.Errorf("tenant %q, want %q", m.tenant, model.DefaultTenant)
	}
}

func TestMetricsErrors(t *testing.T) {
	rate := url.QueryEscape(`{ } | rate()`)
	for _, tc := range []struct {
		name     string
		path     string
		err      error
		wantCode int
		wantBody string
	}{
		{"not_metrics", "/api/metrics/query_range?q=" + url.QueryEscape(`{ status = error }`), nil, 400, "not a metrics query"},
		{"parse_error", "/api/metrics/query_range?q=" + url.QueryEscape(`{ } | rate() by (`), nil, 400, "at 1:"},
		{"bad_time", "/api/metrics/query?q=" + rate + "&start=soon", nil, 400, "invalid start"},
		{"invalid_request", "/api/metrics/query_range?q=" + rate, fmt.Errorf("%w: too many steps", query.ErrInvalidRequest), 400, "too many steps"},
		{"timeout", "/api/metrics/query_range?q=" + rate, fmt.Errorf("read block: %w", context.DeadlineExceeded), 504, "timed out"},
		{"internal", "/api/metrics/query_range?q=" + rate, errors.New("disk on fire"), 500, "disk on fire"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &metricsQuerier{err: tc.err}
			srv := metricsServer(t, m)
			code, body := get(t, srv, tc.path)
			if code != tc.wantCode || !strings.Contains(body, tc.wantBody) {
				t.Fatalf("got %d %q, want %d with %q", code, body, tc.wantCode, tc.wantBody)
			}
		})
	}
}
