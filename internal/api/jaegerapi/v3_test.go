package jaegerapi

import (
	"net/http"
	"net/url"
	"testing"
)

// The fixture trace starts at 2023-11-14T22:13:20Z, the other trace an hour
// earlier.
const (
	v3Window      = "query.start_time_min=2023-11-14T22:00:00Z&query.start_time_max=2023-11-14T23:00:00Z"
	v3WindowCamel = "query.startTimeMin=2023-11-14T22:00:00.000000000Z&query.startTimeMax=2023-11-14T23:00:00Z"
	v3WideWindow  = "query.start_time_min=2023-11-14T00:00:00Z&query.start_time_max=2023-11-15T00:00:00Z"
)

func TestV3Routes(t *testing.T) {
	fixture := fixtureTraceID
	runRoutes(t, []routeCase{
		{name: "services", target: "/api/v3/services", code: 200, want: map[string]string{"": `{"services":["batch","cart","frontend"]}`}},
		{name: "services of another tenant", target: "/api/v3/services", header: map[string]string{"X-Scope-OrgID": "acme"}, code: 200,
			want: map[string]string{"services": `["pay/v2"]`}},
		{name: "services of no tenant", target: "/api/v3/services", header: map[string]string{"X-Scope-OrgID": "nobody"}, code: 200,
			want: map[string]string{"services": `[]`}},
		{name: "bad tenant", target: "/api/v3/services", header: map[string]string{"X-Scope-OrgID": "../etc"}, code: 400,
			want: map[string]string{"error.httpCode": `400`}},
		{name: "operations", target: "/api/v3/operations?service=frontend", code: 200,
			want: map[string]string{"": `{"operations":[{"name":"GET /cart","spanKind":"server"},{"name":"async","spanKind":"internal"}]}`}},
		{name: "unspecified kind is internal", target: "/api/v3/operations?service=batch&spanKind=internal", code: 200,
			want: map[string]string{"operations": `[{"name":"nightly","spanKind":"internal"}]`}},
		{name: "span_kind alias", target: "/api/v3/operations?service=frontend&span_kind=server", code: 200,
			want: map[string]string{"operations": `[{"name":"GET /cart","spanKind":"server"}]`}},
		{name: "operations without service", target: "/api/v3/operations", code: 400, want: map[string]string{"error.httpCode": `400`}},
		{name: "operations with a bad kind", target: "/api/v3/operations?service=cart&spanKind=up", code: 400},
		{name: "trace", target: "/api/v3/traces/" + fixture, code: 200,
			want: map[string]string{"result.resourceSpans.#": `3`, "result.resourceSpans.0.scopeSpans.0.spans.0.traceId": `"` + fixture + `"`}},
		{name: "trace with a +02:00 offset sent unencoded", target: "/api/v3/traces/" + fixture + "?start_time=2023-11-15T00:00:00+02:00&end_time=2023-11-15T01:00:00+02:00", code: 200,
			check: func(t *testing.T, q *memQuerier) {
				if len(q.findCalls) != 1 || q.findCalls[0].start != t0-800*1000*ms || q.findCalls[0].end != t0+2800*1000*ms {
					t.Errorf("find calls %+v, want one hinted 22:00Z..23:00Z", q.findCalls)
				}
			}},
		{name: "trace with camelCase hints far off is retried", target: "/api/v3/traces/" + fixture + "?startTime=2020-01-01T00:00:00Z&endTime=2020-01-02T00:00:00Z", code: 200,
			check: func(t *testing.T, q *memQuerier) {
				if len(q.findCalls) != 2 {
					t.Errorf("find calls %+v, want a retry without hints", q.findCalls)
				}
			}},
		{name: "unknown trace", target: "/api/v3/traces/ffff", code: 404, want: map[string]string{"error.httpCode": `404`}},
		{name: "bad trace ID", target: "/api/v3/traces/not-hex", code: 400, want: map[string]string{"error.httpCode": `400`}},
		{name: "bad hint time", target: "/api/v3/traces/" + fixture + "?start_time=yesterday", code: 400},
		{name: "bad raw_traces", target: "/api/v3/traces/" + fixture + "?raw_traces=2", code: 400},
		{name: "raw_traces keeps duplicates", target: "/api/v3/traces/" + fixture + "?raw_traces=true", header: map[string]string{"X-Scope-OrgID": "dup"}, code: 200,
			want: map[string]string{"result.resourceSpans.0.scopeSpans.0.spans.#": `2`}},
		{name: "duplicates dropped", target: "/api/v3/traces/" + fixture, header: map[string]string{"X-Scope-OrgID": "dup"}, code: 200,
			want: map[string]string{"result.resourceSpans.0.scopeSpans.0.spans.#": `1`}},
		{name: "search", target: "/api/v3/traces?query.service_name=cart&" + v3Window, code: 200,
			want: map[string]string{"result.resourceSpans.#": `3`},
			check: func(t *testing.T, q *memQuerier) {
				if q.lastSearch.StartUnixNano != t0-800*1000*ms || q.lastSearch.EndUnixNano != t0+2800*1000*ms || q.lastSearch.Limit != 100 {
					t.Errorf("request window %d..%d limit %d", q.lastSearch.StartUnixNano, q.lastSearch.EndUnixNano, q.lastSearch.Limit)
				}
			}},
		{name: "search merges traces", target: "/api/v3/traces?" + v3WideWindow, code: 200,
			want: map[string]string{"result.resourceSpans.#": `4`, "result.resourceSpans.3.scopeSpans.0.spans.0.name": `"nightly"`}},
		{name: "search with camelCase names and attributes", target: "/api/v3/traces?query.serviceName=frontend&query.operationName=GET+%2Fcart&query.attributes=" +
			url.QueryEscape(`{"http.method":"GET"}`) + "&query.durationMin=100ms&query.durationMax=1s&query.searchDepth=5&" + v3WindowCamel, code: 200,
			want: map[string]string{"result.resourceSpans.#": `3`},
			check: func(t *testing.T, q *memQuerier) {
				r := q.lastSearch
				if r.Limit != 5 || r.MinDurationNano != 100*ms || r.MaxDurationNano != 1000*ms || len(r.Conditions) != 3 {
					t.Errorf("request %+v", r)
				}
			}},
		{name: "num_traces alias", target: "/api/v3/traces?query.num_traces=1&" + v3WideWindow, code: 200,
			want: map[string]string{"result.resourceSpans.#": `3`}},
		{name: "empty search is 404", target: "/api/v3/traces?query.service_name=nobody&" + v3Window, code: 404,
			want: map[string]string{"": `{"error":{"httpCode":404,"message":"No traces found"}}`}},
		{name: "search without times", target: "/api/v3/traces?query.service_name=cart", code: 400,
			want: map[string]string{"error.httpCode": `400`}},
		{name: "search with a bad time", target: "/api/v3/traces?query.start_time_min=2023-11-14&query.start_time_max=2023-11-15T00:00:00Z", code: 400},
		{name: "search before 1970", target: "/api/v3/traces?query.start_time_min=1969-12-31T00:00:00Z&query.start_time_max=2023-11-15T00:00:00Z", code: 400},
		{name: "search window reversed", target: "/api/v3/traces?query.start_time_min=2023-11-15T00:00:00Z&query.start_time_max=2023-11-14T00:00:00Z", code: 400},
		{name: "search with max below min", target: "/api/v3/traces?query.duration_min=2s&query.duration_max=1s&" + v3Window, code: 400},
		{name: "search with a bad depth", target: "/api/v3/traces?query.search_depth=-1&" + v3Window, code: 400},
		{name: "search with bad attributes", target: "/api/v3/traces?query.attributes=%5B1%5D&" + v3Window, code: 400},
		{name: "summaries", target: "/api/v3/trace-summaries?" + v3WideWindow, code: 200, want: map[string]string{
			"summaries.#": `2`,
			"summaries.0": `{"errorSpanCount":1,"maxEndTimeUnixNano":"1700000000120000000","minStartTimeUnixNano":"1700000000000000000",` +
				`"orphanSpanCount":1,"rootOperationName":"GET /cart","rootServiceName":"frontend",` +
				`"services":[{"errorSpanCount":1,"name":"cart","spanCount":1},{"errorSpanCount":0,"name":"frontend","spanCount":2}],` +
				`"spanCount":3,"traceId":"4bf92f3577b34da6a3ce929d0e0e4736"}`,
			"summaries.1.traceId": `"00000000000000000000000000000abc"`,
		}},
		{name: "summaries count a repeated span once", target: "/api/v3/trace-summaries?" + v3Window, header: map[string]string{"X-Scope-OrgID": "dup"}, code: 200,
			want: map[string]string{"summaries.0.spanCount": `3`}},
		{name: "raw summaries count every stored span", target: "/api/v3/trace-summaries?query.raw_traces=true&" + v3Window, header: map[string]string{"X-Scope-OrgID": "dup"}, code: 200,
			want: map[string]string{"summaries.0.spanCount": `4`}},
		{name: "empty summaries", target: "/api/v3/trace-summaries?query.service_name=nobody&" + v3Window, code: 200,
			want: map[string]string{"": `{"summaries":[]}`}},
		{name: "summaries without times", target: "/api/v3/trace-summaries", code: 400},
	})
}

// TestV3TraceIsOTLPJSON checks the api_v3 trace body against the OTLP/JSON
// rules: hex IDs, integer enums, 64-bit integers and times as strings.
func TestV3TraceIsOTLPJSON(t *testing.T) {
	h, _ := newTestHandler(t)
	rec := serve(h, http.MethodGet, "/api/v3/traces/"+fixtureTraceID, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	checkJSON(t, rec.Body.Bytes(), map[string]string{
		"result.resourceSpans.0.resource.attributes.0":                   `{"key":"service.name","value":{"stringValue":"frontend"}}`,
		"result.resourceSpans.0.scopeSpans.0.scope":                      `{"name":"io.opentelemetry.http","version":"1.2.3"}`,
		"result.resourceSpans.0.scopeSpans.0.spans.0.spanId":             `"00f067aa0ba902b7"`,
		"result.resourceSpans.0.scopeSpans.0.spans.0.kind":               `2`,
		"result.resourceSpans.0.scopeSpans.0.spans.0.startTimeUnixNano":  `"1700000000000000000"`,
		"result.resourceSpans.0.scopeSpans.0.spans.0.attributes.2.value": `{"intValue":"9007199254740993"}`,
		"result.resourceSpans.0.scopeSpans.0.spans.0.attributes.7.value": `{"bytesValue":"AAH/"}`,
		"result.resourceSpans.0.scopeSpans.0.spans.0.events.0.name":      `"retry"`,
		"result.resourceSpans.1.scopeSpans.0.spans.0.parentSpanId":       `"00f067aa0ba902b7"`,
		"result.resourceSpans.1.scopeSpans.0.spans.0.status":             `{"code":2,"message":"card declined"}`,
		"result.resourceSpans.1.scopeSpans.0.spans.0.links.0.traceId":    `"00000000000000000000000000000abc"`,
		"result.resourceSpans.2.scopeSpans.0.spans.0.status.code":        `1`,
	})
}
