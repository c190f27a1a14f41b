package jaegerapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"waymark/internal/model"
	"waymark/internal/query"
)

// now is the handler's clock in tests: one minute after the fixture trace.
var testNow = time.Unix(0, int64(t0+60_000*ms))

func newTestHandler(t *testing.T) (*handler, *memQuerier) {
	t.Helper()
	q := newMemQuerier()
	q.add(model.DefaultTenant, fixtureTrace()...)
	q.add(model.DefaultTenant, otherTrace()...)
	acme := &model.Resource{ServiceName: "pay/v2", Attributes: model.Attributes{{Key: "service.name", Value: model.StringValue("pay/v2")}}}
	q.add("acme", model.Span{TraceID: mustTraceID("ac3e"), SpanID: mustSpanID("1"), Name: "refund", Kind: model.KindServer, StartTimeUnixNano: t0, EndTimeUnixNano: t0 + ms, Resource: acme})
	dup := fixtureTrace()
	q.add("dup", append(dup, dup[0])...)
	q.deps[model.DefaultTenant] = []query.Dependency{
		{Parent: "frontend", Child: "cart", CallCount: 3, ErrorCount: 1},
		{Parent: "cart", Child: "db", CallCount: 1},
		{Parent: "frontend", Child: "cart", CallCount: 2},
	}
	h := newHandler(q, Options{})
	h.now = func() time.Time { return testNow }
	return h, q
}

func serve(h http.Handler, method, target string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// at walks a decoded JSON value along a dotted path of object keys and array
// indexes. A final "#" gives the length of an array.
func at(v any, path string) (any, error) {
	if path == "" {
		return v, nil
	}
	for _, p := range strings.Split(path, ".") {
		switch node := v.(type) {
		case map[string]any:
			next, ok := node[p]
			if !ok {
				return nil, fmt.Errorf("no key %q", p)
			}
			v = next
		case []any:
			if p == "#" {
				return len(node), nil
			}
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(node) {
				return nil, fmt.Errorf("no index %q in array of %d", p, len(node))
			}
			v = node[i]
		default:
			return nil, fmt.Errorf("cannot step %q into %T", p, v)
		}
	}
	return v, nil
}

// checkJSON asserts that each path of body holds the given compact JSON.
func checkJSON(t *testing.T, body []byte, want map[string]string) {
	t.Helper()
	v := decode(t, body)
	for path, w := range want {
		got, err := at(v, path)
		if err != nil {
			t.Errorf("%s: %v in %s", path, err, body)
			continue
		}
		b, _ := json.Marshal(got)
		if string(b) != w {
			t.Errorf("%s = %s, want %s", path, b, w)
		}
	}
}

func us(ns uint64) string  { return strconv.FormatUint(ns/1000, 10) }
func msS(ns uint64) string { return strconv.FormatUint(ns/1_000_000, 10) }

// routeCase is one request to the handler and what its answer must hold.
type routeCase struct {
	name   string
	target string
	header map[string]string
	code   int
	// want maps a path in the JSON answer (see at) to its compact JSON.
	want  map[string]string
	check func(t *testing.T, q *memQuerier)
}

// runRoutes serves each case on a fresh handler and checks its status, its
// JSON content type, its error shape (the envelope's errors[0].msg, or
// api_v3's error.message) and its wants.
func runRoutes(t *testing.T, tests []routeCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, q := newTestHandler(t)
			rec := serve(h, http.MethodGet, tc.target, tc.header)
			if rec.Code != tc.code {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("content type %q", ct)
			}
			v := decode(t, rec.Body.Bytes())
			if tc.code != http.StatusOK {
				msgPath := "errors.0.msg"
				if strings.HasPrefix(tc.target, "/api/v3/") {
					msgPath = "error.message"
				}
				if msg, err := at(v, msgPath); err != nil || msg == "" {
					t.Errorf("error response without %s: %s", msgPath, rec.Body)
				}
			}
			checkJSON(t, rec.Body.Bytes(), tc.want)
			if tc.check != nil {
				tc.check(t, q)
			}
		})
	}
}

func TestV1Routes(t *testing.T) {
	fixture, other := fixtureTraceID, otherTraceID
	runRoutes(t, []routeCase{
		{name: "services", target: "/api/services", code: 200, want: map[string]string{
			"data": `["batch","cart","frontend"]`, "total": `3`, "limit": `0`, "offset": `0`, "errors": `null`}},
		{name: "services of the header's tenant", target: "/api/services", header: map[string]string{"X-Scope-OrgID": "acme"}, code: 200,
			want: map[string]string{"data": `["pay/v2"]`}},
		{name: "x-tenant alias", target: "/api/services", header: map[string]string{"x-tenant": "acme"}, code: 200,
			want: map[string]string{"data": `["pay/v2"]`}},
		{name: "bad tenant", target: "/api/services", header: map[string]string{"X-Scope-OrgID": "a|b"}, code: 400,
			want: map[string]string{"data": `null`, "errors.#": `1`, "errors.0.code": `400`, "total": `0`}},
		{name: "service operations", target: "/api/services/frontend/operations", code: 200,
			want: map[string]string{"data": `["GET /cart","async"]`, "total": `2`}},
		{name: "service name with an encoded slash", target: "/api/services/pay%2Fv2/operations", header: map[string]string{"X-Scope-OrgID": "acme"}, code: 200,
			want: map[string]string{"data": `["refund"]`}},
		{name: "operations with kinds", target: "/api/operations?service=cart", code: 200,
			want: map[string]string{"data": `[{"name":"charge","spanKind":"client"}]`, "total": `1`}},
		{name: "operations filtered by kind", target: "/api/operations?service=frontend&spanKind=server", code: 200,
			want: map[string]string{"data": `[{"name":"GET /cart","spanKind":"server"}]`}},
		{name: "operation of unspecified kind", target: "/api/operations?service=batch", code: 200,
			want: map[string]string{"data": `[{"name":"nightly","spanKind":""}]`}},
		{name: "operations without service", target: "/api/operations", code: 400, want: map[string]string{"errors.0.code": `400`}},
		{name: "operations with a bad kind", target: "/api/operations?service=cart&spanKind=sideways", code: 400},
		{name: "search by service", target: "/api/traces?service=cart", code: 200,
			want: map[string]string{"data.#": `1`, "data.0.traceID": `"` + fixture + `"`, "data.0.spans.#": `3`, "total": `0`, "errors": `null`},
			check: func(t *testing.T, q *memQuerier) {
				r := q.lastSearch
				if r.StartUnixNano != uint64(testNow.Add(-48*time.Hour).UnixNano()) || r.EndUnixNano != uint64(testNow.UnixNano()) {
					t.Errorf("default window %d..%d, want now-2d..now", r.StartUnixNano, r.EndUnixNano)
				}
				if r.Limit != 100 {
					t.Errorf("default limit %d, want 100", r.Limit)
				}
			}},
		{name: "search without service, newest first", target: "/api/traces", code: 200,
			want: map[string]string{"data.#": `2`, "data.0.traceID": `"` + fixture + `"`, "data.1.traceID": `"` + other + `"`}},
		{name: "search by operation", target: "/api/traces?operation=nightly", code: 200,
			want: map[string]string{"data.#": `1`, "data.0.traceID": `"` + other + `"`}},
		{name: "search by JSON tags", target: "/api/traces?tags=" + url.QueryEscape(`{"http.status_code":"200","http.method":"GET"}`), code: 200,
			want: map[string]string{"data.#": `1`, "data.0.traceID": `"` + fixture + `"`}},
		{name: "search by JSON tag with a number", target: "/api/traces?tags=" + url.QueryEscape(`{"http.status_code":200}`), code: 200,
			want: map[string]string{"data.#": `1`}},
		{name: "search by resource tag", target: "/api/traces?tag=host.name:node-7", code: 200,
			want: map[string]string{"data.#": `1`, "data.0.traceID": `"` + fixture + `"`}},
		{name: "search by error tag", target: "/api/traces?tag=error:true", code: 200,
			want: map[string]string{"data.#": `1`, "data.0.traceID": `"` + fixture + `"`}},
		{name: "search by span.kind tag", target: "/api/traces?tag=span.kind:client&tag=otel.status_code:ERROR", code: 200,
			want: map[string]string{"data.#": `1`}},
		{name: "empty search is 200 with []", target: "/api/traces?service=batch&tag=error:true", code: 200,
			want: map[string]string{"data": `[]`, "errors": `null`}},
		{name: "tag without colon", target: "/api/traces?tag=nocolon", code: 400},
		{name: "tags not JSON", target: "/api/traces?tags=%7Bbad", code: 400},
		{name: "min duration", target: "/api/traces?minDuration=1s", code: 200,
			want: map[string]string{"data.#": `1`, "data.0.traceID": `"` + other + `"`},
			check: func(t *testing.T, q *memQuerier) {
				if q.lastSearch.MinDurationNano != uint64(time.Second) {
					t.Errorf("min duration %d ns, want 1e9", q.lastSearch.MinDurationNano)
				}
			}},
		{name: "max duration", target: "/api/traces?minDuration=100ms&maxDuration=1.5s", code: 200,
			want: map[string]string{"data.#": `1`, "data.0.traceID": `"` + fixture + `"`}},
		{name: "max below min", target: "/api/traces?minDuration=2s&maxDuration=1s", code: 400,
			want: map[string]string{"errors.0.msg": `"invalid parameter: 'maxDuration' should be greater than 'minDuration'"`}},
		{name: "bad duration", target: "/api/traces?minDuration=fast", code: 400},
		{name: "negative duration", target: "/api/traces?maxDuration=-1s", code: 400},
		{name: "limit", target: "/api/traces?limit=1", code: 200, want: map[string]string{"data.#": `1`}},
		{name: "zero limit", target: "/api/traces?limit=0", code: 400},
		{name: "bad limit", target: "/api/traces?limit=ten", code: 400},
		{name: "start and end in µs", target: "/api/traces?start=" + us(t0-ms) + "&end=" + us(t0+ms), code: 200,
			want: map[string]string{"data.#": `1`, "data.0.traceID": `"` + fixture + `"`},
			check: func(t *testing.T, q *memQuerier) {
				if q.lastSearch.StartUnixNano != t0-ms || q.lastSearch.EndUnixNano != t0+ms {
					t.Errorf("window %d..%d, want %d..%d", q.lastSearch.StartUnixNano, q.lastSearch.EndUnixNano, t0-ms, t0+ms)
				}
			}},
		{name: "start in ms is detected", target: "/api/traces?start=" + msS(t0-ms) + "&end=" + us(t0+ms), code: 200,
			check: func(t *testing.T, q *memQuerier) {
				if q.lastSearch.StartUnixNano != t0-ms {
					t.Errorf("start %d, want %d", q.lastSearch.StartUnixNano, t0-ms)
				}
			}},
		{name: "start after end", target: "/api/traces?start=" + us(t0+ms) + "&end=" + us(t0), code: 400},
		{name: "start not a number", target: "/api/traces?start=yesterday", code: 400},
		{name: "start overflows", target: "/api/traces?start=99999999999", code: 400},
		{name: "fetch by trace IDs", target: "/api/traces?traceID=" + fixture + "&traceID=ffff", code: 200,
			want: map[string]string{"data.#": `1`, "data.0.traceID": `"` + fixture + `"`,
				"errors": `[{"msg":"trace not found","traceID":"0000000000000000000000000000ffff"}]`}},
		{name: "bad trace ID in search", target: "/api/traces?traceID=zz", code: 400},
		{name: "trace by ID", target: "/api/traces/" + fixture, code: 200,
			want: map[string]string{"data.#": `1`, "data.0.spans.#": `3`, "data.0.processes.p2.serviceName": `"cart"`, "total": `0`, "errors": `null`}},
		{name: "trace by 16-hex ID", target: "/api/traces/0000000000000abc", code: 200,
			want: map[string]string{"data.0.traceID": `"` + other + `"`}},
		{name: "trace by stripped upper-case ID", target: "/api/traces/ABC", code: 200,
			want: map[string]string{"data.0.traceID": `"` + other + `"`}},
		{name: "unknown trace", target: "/api/traces/ffff", code: 404,
			want: map[string]string{"data": `null`, "errors.#": `1`, "errors.0.code": `404`}},
		{name: "bad trace ID", target: "/api/traces/xyz", code: 400, want: map[string]string{"errors.0.code": `400`}},
		{name: "all-zero trace ID", target: "/api/traces/00000000000000000000000000000000", code: 400},
		{name: "too long trace ID", target: "/api/traces/" + fixture + "0", code: 400},
		{name: "trace hints in ms are detected", target: "/api/traces/" + fixture + "?start=" + msS(t0-ms) + "&end=" + msS(t0+200*ms), code: 200,
			check: func(t *testing.T, q *memQuerier) {
				if len(q.findCalls) != 1 || q.findCalls[0].start != t0-ms || q.findCalls[0].end != t0+200*ms {
					t.Errorf("find calls %+v, want one with the hints in ns", q.findCalls)
				}
			}},
		{name: "wrong hints are retried without", target: "/api/traces/" + fixture + "?start=" + us(t0+3600_000*ms) + "&end=" + us(t0+7200_000*ms), code: 200,
			want: map[string]string{"data.0.spans.#": `3`},
			check: func(t *testing.T, q *memQuerier) {
				if len(q.findCalls) != 2 || q.findCalls[1].start != 0 || q.findCalls[1].end != 0 {
					t.Errorf("find calls %+v, want a hinted call then one without hints", q.findCalls)
				}
			}},
		{name: "duplicate spans dropped", target: "/api/traces/" + fixture, header: map[string]string{"X-Scope-OrgID": "dup"}, code: 200,
			want: map[string]string{"data.0.spans.#": `3`}},
		{name: "raw keeps duplicates", target: "/api/traces/" + fixture + "?raw=true", header: map[string]string{"X-Scope-OrgID": "dup"}, code: 200,
			want: map[string]string{"data.0.spans.#": `4`}},
		{name: "bad raw", target: "/api/traces/" + fixture + "?raw=perhaps", code: 400},
		{name: "dependencies", target: "/api/dependencies?endTs=" + msS(t0) + "&lookback=3600000", code: 200,
			want: map[string]string{"data": `[{"callCount":1,"child":"db","errorCount":0,"parent":"cart"},{"callCount":5,"child":"cart","errorCount":1,"parent":"frontend"}]`, "errors": `null`},
			check: func(t *testing.T, q *memQuerier) {
				if q.lastDeps != [2]uint64{t0 - 3600_000*ms, t0} {
					t.Errorf("dependency window %v, want [t0-1h t0]", q.lastDeps)
				}
			}},
		{name: "dependencies default window", target: "/api/dependencies", code: 200,
			check: func(t *testing.T, q *memQuerier) {
				now := uint64(testNow.UnixNano())
				if q.lastDeps != [2]uint64{now - uint64(24*time.Hour), now} {
					t.Errorf("dependency window %v, want [now-24h now]", q.lastDeps)
				}
			}},
		{name: "dependencies of one service", target: "/api/dependencies?service=db", code: 200,
			want: map[string]string{"data": `[{"callCount":1,"child":"db","errorCount":0,"parent":"cart"}]`}},
		{name: "dependencies with a bad lookback", target: "/api/dependencies?lookback=1h", code: 400},
	})
}

func TestUnmatchedAPIPathsArePlain404(t *testing.T) {
	h, _ := newTestHandler(t)
	for _, target := range []string{"/api/nope", "/api/v3/nope", "/api/traces/abc/extra", "/api/services/", "/api/v2/services"} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			rec := serve(h, method, target, nil)
			if rec.Code != http.StatusNotFound || strings.Contains(rec.Header().Get("Content-Type"), "json") {
				t.Errorf("%s %s: status %d, type %q; want a plain 404", method, target, rec.Code, rec.Header().Get("Content-Type"))
			}
		}
	}
	if rec := serve(h, http.MethodPost, "/api/services", nil); rec.Code != http.StatusNotFound {
		t.Errorf("POST /api/services: status %d, want 404", rec.Code)
	}
}

func TestPrettyPrint(t *testing.T) {
	h, _ := newTestHandler(t)
	plain := serve(h, http.MethodGet, "/api/services", nil).Body.String()
	pretty := serve(h, http.MethodGet, "/api/services?prettyPrint=true", nil).Body.String()
	if strings.Contains(plain, "\n") || !strings.Contains(pretty, "\n    \"data\"") {
		t.Errorf("plain %q, pretty %q", plain, pretty)
	}
}

func TestQuerierErrors(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		target     string
		code       int
		retryAfter string
		want       map[string]string
	}{
		{name: "v1 internal error", err: errors.New("disk on fire"), target: "/api/services", code: 500,
			want: map[string]string{"errors.0.code": `500`, "data": `null`}},
		{name: "v3 internal error", err: errors.New("disk on fire"), target: "/api/v3/services", code: 500,
			want: map[string]string{"error.httpCode": `500`}},
		{name: "overloaded", err: fmt.Errorf("search: %w", &model.OverloadedError{Reason: "busy", RetryAfter: 2 * time.Second}), target: "/api/traces", code: 503, retryAfter: "2",
			want: map[string]string{"errors.0.code": `503`}},
		{name: "deadline", err: fmt.Errorf("scan: %w", context.DeadlineExceeded), target: "/api/dependencies", code: 504},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, q := newTestHandler(t)
			q.err = tc.err
			rec := serve(h, http.MethodGet, tc.target, nil)
			if rec.Code != tc.code {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.code, rec.Body)
			}
			if got := rec.Header().Get("Retry-After"); got != tc.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tc.retryAfter)
			}
			checkJSON(t, rec.Body.Bytes(), tc.want)
		})
	}
}

func TestDefaultTenantOption(t *testing.T) {
	q := newMemQuerier()
	q.add("team-a", otherTrace()...)
	q.add(model.DefaultTenant, fixtureTrace()...)
	h := NewHandler(q, Options{DefaultTenant: "team-a"})
	rec := serve(h, http.MethodGet, "/api/v3/services", nil)
	if rec.Code != 200 || rec.Body.String() != `{"services":["batch"]}` {
		t.Errorf("got %d %s, want only team-a's services", rec.Code, rec.Body)
	}
}

func TestLogsUnexpectedUnitsAndInternalErrors(t *testing.T) {
	var logs strings.Builder
	q := newMemQuerier()
	q.add(model.DefaultTenant, fixtureTrace()...)
	h := NewHandler(q, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	serve(h, http.MethodGet, "/api/traces/"+fixtureTraceID+"?start="+msS(t0), nil)
	q.err = errors.New("disk on fire")
	serve(h, http.MethodGet, "/api/v3/services", nil)
	for _, want := range []string{"level=WARN", "param=start", "detected_unit=ms", "expected_unit=µs", "level=ERROR", "route=v3_services", "disk on fire"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

func TestOverLoopback(t *testing.T) {
	h, _ := newTestHandler(t)
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/traces/" + fixtureTraceID)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env struct {
		Data []uiTrace `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || len(env.Data) != 1 || len(env.Data[0].Spans) != 3 {
		t.Errorf("status %d, %d traces", resp.StatusCode, len(env.Data))
	}
}
