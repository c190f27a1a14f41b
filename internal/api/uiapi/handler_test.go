package uiapi

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"waymark/internal/model"
	"waymark/internal/query"
	"waymark/internal/store/filter"
	"waymark/internal/store/summary"
)

// memQuerier holds traces per tenant in memory and answers with the
// filter package's matching semantics, newest first.
type memQuerier struct {
	traces map[string][][]model.Span
}

func (m *memQuerier) Search(_ context.Context, tenant string, req filter.Request) (query.MatchSearch, error) {
	if err := req.Compile(); err != nil {
		return query.MatchSearch{}, err
	}
	var out []filter.Match
	for _, tr := range m.traces[tenant] {
		var matched []model.Span
		for i := range tr {
			if req.MatchSpan(&tr[i]) {
				matched = append(matched, tr[i])
			}
		}
		if matched != nil {
			out = append(out, filter.Match{TraceID: tr[0].TraceID, StartUnixNano: tr[0].StartTimeUnixNano, EndUnixNano: tr[0].EndTimeUnixNano, Spans: matched})
		}
	}
	slices.SortFunc(out, func(a, b filter.Match) int { return cmp.Compare(b.StartUnixNano, a.StartUnixNano) })
	if req.Limit > 0 && len(out) > req.Limit {
		out = out[:req.Limit]
	}
	return query.MatchSearch{Matches: out}, nil
}

func (m *memQuerier) Tags(_ context.Context, tenant string, start, end uint64) (summary.Tags, error) {
	tags := summary.NewTags()
	seen := make(map[*model.Resource]struct{})
	for _, tr := range m.traces[tenant] {
		for i := range tr {
			if tr[i].StartTimeUnixNano >= start && tr[i].StartTimeUnixNano <= end {
				tags.Add(&tr[i], seen)
			}
		}
	}
	return tags, nil
}

func (m *memQuerier) FindTrace(_ context.Context, tenant string, id model.TraceID, _, _ uint64) (query.Trace, error) {
	for _, tr := range m.traces[tenant] {
		if tr[0].TraceID == id {
			return query.Trace{ID: id, Spans: slices.Clone(tr), StoredSpans: len(tr)}, nil
		}
	}
	return query.Trace{}, fmt.Errorf("trace %s: %w", id, query.ErrTraceNotFound)
}

// newQuerier returns a Querier holding traces per tenant; handler tests run
// against each implementation returned by querierImpls.
type newQuerier func(t *testing.T, traces map[string][][]model.Span) Querier

func memImpl(_ *testing.T, traces map[string][][]model.Span) Querier {
	return &memQuerier{traces: traces}
}

// apiResponse is the envelope with data left raw.
type apiResponse struct {
	Data   json.RawMessage `json:"data"`
	Total  int             `json:"total"`
	Errors []apiError      `json:"errors"`
}

func get(t *testing.T, h http.Handler, path string, header ...string) (int, apiResponse) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s: content type %q", path, ct)
	}
	var resp apiResponse
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatalf("%s: decode %q: %v", path, w.Body.String(), err)
	}
	return w.Code, resp
}

func decode[T any](t *testing.T, raw json.RawMessage) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return v
}

// testBase is the time of request 0 of the handler tests' workload; the
// handler's clock stands one hour after it.
var testBase = time.Unix(1_700_000_000, 0)

func testHandler(t *testing.T, impl newQuerier, reg prometheus.Registerer) *handler {
	t.Helper()
	w := newWorkload(testBase)
	other := newWorkload(testBase)
	other.failingDC = "none"
	q := impl(t, map[string][][]model.Span{
		model.DefaultTenant: w.requests(300),
		"team-b":            other.requests(3),
	})
	h := NewHandler(q, Options{Registerer: reg}).(*handler)
	h.now = func() time.Time { return testBase.Add(time.Hour) }
	return h
}

func us(t time.Time) string { return fmt.Sprint(t.UnixMicro()) }

func runHandlerSuite(t *testing.T, impl newQuerier) {
	h := testHandler(t, impl, nil)
	window := "&start=" + us(testBase) + "&end=" + us(testBase.Add(time.Hour))

	t.Run("trace summaries", func(t *testing.T) {
		code, resp := get(t, h, "/api/waymark/trace-summaries?service=app&limit=5"+window)
		if code != http.StatusOK {
			t.Fatalf("code %d: %+v", code, resp.Errors)
		}
		sums := decode[[]TraceSummary](t, resp.Data)
		if len(sums) != 5 || resp.Total != 5 {
			t.Fatalf("got %d summaries (total %d), want 5", len(sums), resp.Total)
		}
		// Newest first: requests 299, 298, ...; 298 is dc-2's 99th, (298/3)%3 = 2: ok.
		if sums[0].TraceID != traceID(299).String() || sums[1].TraceID != traceID(298).String() {
			t.Errorf("order = %s, %s; want requests 299, 298", sums[0].TraceID, sums[1].TraceID)
		}
		s := sums[0]
		if s.RootService != "edge" || s.RootOperation != "GET /checkout" || s.SpanCount != 4 || s.Depth != 4 || len(s.Services) != 4 {
			t.Errorf("summary = %+v", s)
		}
		if s.StartUs != testBase.Add(299*time.Second).UnixMicro() {
			t.Errorf("start = %d", s.StartUs)
		}
	})
	t.Run("trace summaries count errors of failing traces", func(t *testing.T) {
		code, resp := get(t, h, `/api/waymark/trace-summaries?limit=100&tags={"datacenter":"dc-2"}`+window)
		if code != http.StatusOK {
			t.Fatalf("code %d: %+v", code, resp.Errors)
		}
		failed := 0
		for _, s := range decode[[]TraceSummary](t, resp.Data) {
			if s.ErrorCount > 0 {
				failed++
				if s.ErrorCount != 3 {
					t.Errorf("trace %s has %d errors, want 3", s.TraceID, s.ErrorCount)
				}
			}
		}
		if failed != 34 {
			t.Errorf("%d failed dc-2 traces, want 34", failed)
		}
	})
	t.Run("breakdown singles out dc-2", func(t *testing.T) {
		code, resp := get(t, h, "/api/waymark/breakdown?service=app&operation=checkout"+window)
		if code != http.StatusOK {
			t.Fatalf("code %d: %+v", code, resp.Errors)
		}
		b := decode[Breakdown](t, resp.Data)
		if b.Attribute != "datacenter" || len(b.Groups) != 3 || b.Groups[0].Value != "dc-2" {
			t.Fatalf("breakdown = %+v", b)
		}
		if g := b.Groups[0]; g.Count != 100 || g.Errors != 34 || g.P50Us != 60000 || g.Score <= 0 {
			t.Errorf("dc-2 = %+v", g)
		}
		if b.Truncated || b.Traces != 300 {
			t.Errorf("traces %d truncated %v, want 300 and false", b.Traces, b.Truncated)
		}
	})
	t.Run("breakdown by another attribute and group limit", func(t *testing.T) {
		code, resp := get(t, h, "/api/waymark/breakdown?service=db&attribute=service.name&limit=1"+window)
		if code != http.StatusOK {
			t.Fatalf("code %d: %+v", code, resp.Errors)
		}
		b := decode[Breakdown](t, resp.Data)
		if len(b.Groups) != 1 || b.Groups[0].Value != "db" || b.Groups[0].Count != 300 || b.OtherGroups != 0 {
			t.Fatalf("breakdown = %+v", b)
		}
	})
	t.Run("breakdown window excludes older spans", func(t *testing.T) {
		code, resp := get(t, h, "/api/waymark/breakdown?service=app&start="+us(testBase.Add(150*time.Second))+"&end="+us(testBase.Add(time.Hour)))
		if code != http.StatusOK {
			t.Fatalf("code %d: %+v", code, resp.Errors)
		}
		if b := decode[Breakdown](t, resp.Data); b.Total.Count != 150 {
			t.Fatalf("total = %d spans, want 150", b.Total.Count)
		}
	})
	t.Run("service stats", func(t *testing.T) {
		code, resp := get(t, h, "/api/waymark/service-stats?start="+us(testBase)+"&end="+us(testBase.Add(300*time.Second)))
		if code != http.StatusOK {
			t.Fatalf("code %d: %+v", code, resp.Errors)
		}
		st := decode[ServiceStats](t, resp.Data)
		if len(st.Services) != 4 || st.WindowSeconds != 300 {
			t.Fatalf("stats = %+v", st)
		}
		for _, s := range st.Services {
			if s.Service == "edge" && (s.Entry.Count != 300 || s.Entry.Errors != 34 || s.Entry.Rate != 1) {
				t.Errorf("edge = %+v", s.Entry)
			}
		}
	})
	t.Run("request lookup", func(t *testing.T) {
		code, resp := get(t, h, "/api/waymark/request/req-42")
		if code != http.StatusOK {
			t.Fatalf("code %d: %+v", code, resp.Errors)
		}
		if ids := decode[[]string](t, resp.Data); len(ids) != 1 || ids[0] != traceID(42).String() {
			t.Fatalf("ids = %v, want [%s]", ids, traceID(42))
		}
		for _, rid := range []string{"envoy-43", "hdr-43"} {
			_, resp = get(t, h, "/api/waymark/request/"+rid)
			if ids := decode[[]string](t, resp.Data); len(ids) != 1 || ids[0] != traceID(43).String() {
				t.Fatalf("%s: ids = %v, want [%s]", rid, ids, traceID(43))
			}
		}
		_, resp = get(t, h, "/api/waymark/request/no-such-request")
		if ids := decode[[]string](t, resp.Data); len(ids) != 0 {
			t.Fatalf("ids = %v, want none", ids)
		}
	})
	t.Run("tags", func(t *testing.T) {
		code, resp := get(t, h, "/api/waymark/tags?"+window[1:])
		if code != http.StatusOK {
			t.Fatalf("code %d: %+v", code, resp.Errors)
		}
		keys := decode[[]TagKey](t, resp.Data)
		byKey := map[string]TagKey{}
		for _, k := range keys {
			byKey[k.Key] = k
		}
		if dc := byKey["datacenter"]; !slices.Equal(dc.Values, []string{"dc-1", "dc-2", "dc-3"}) || !slices.Contains(dc.Scopes, "resource") {
			t.Errorf("datacenter = %+v", dc)
		}
		if rid := byKey["x-request-id"]; len(rid.Values) == 0 || !slices.Contains(rid.Scopes, "span") {
			t.Errorf("x-request-id = %+v", rid)
		}
		if !slices.IsSortedFunc(keys, func(a, b TagKey) int { return cmp.Compare(a.Key, b.Key) }) {
			t.Errorf("keys not sorted")
		}
	})
	t.Run("tenants are isolated", func(t *testing.T) {
		code, resp := get(t, h, "/api/waymark/trace-summaries?limit=100"+window, "X-Scope-OrgID", "team-b")
		if code != http.StatusOK {
			t.Fatalf("code %d: %+v", code, resp.Errors)
		}
		if sums := decode[[]TraceSummary](t, resp.Data); len(sums) != 3 {
			t.Fatalf("team-b sees %d traces, want 3", len(sums))
		}
		_, resp = get(t, h, "/api/waymark/trace-summaries?limit=100"+window, "X-Tenant", "nobody")
		if sums := decode[[]TraceSummary](t, resp.Data); len(sums) != 0 {
			t.Fatalf("unknown tenant sees %d traces", len(sums))
		}
	})
	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			name   string
			path   string
			header []string
			code   int
		}{
			{"bad time", "/api/waymark/trace-summaries?start=soon", nil, http.StatusBadRequest},
			{"bad duration", "/api/waymark/breakdown?minDuration=fast", nil, http.StatusBadRequest},
			{"bad group limit", "/api/waymark/breakdown?limit=x", nil, http.StatusBadRequest},
			{"bad tenant", "/api/waymark/service-stats", []string{"X-Scope-OrgID", "a/b"}, http.StatusBadRequest},
			{"lookup takes no filters", "/api/waymark/request/r1?service=x", nil, http.StatusBadRequest},
			{"unknown route", "/api/waymark/nothing", nil, http.StatusNotFound},
			{"wrong method", "/api/waymark/breakdown/extra", nil, http.StatusNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				code, resp := get(t, h, tt.path, tt.header...)
				if code != tt.code || len(resp.Errors) != 1 || resp.Errors[0].Code != tt.code || resp.Errors[0].Msg == "" {
					t.Fatalf("code %d, errors %+v; want %d with a message", code, resp.Errors, tt.code)
				}
			})
		}
	})
}

func TestHandlerInMemory(t *testing.T) { runHandlerSuite(t, memImpl) }

func TestHandlerMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	h := testHandler(t, memImpl, reg)
	get(t, h, "/api/waymark/service-stats")
	get(t, h, "/api/waymark/service-stats?start=x")
	// A second handler on the same registry shares the metrics.
	NewHandler(&memQuerier{}, Options{Registerer: reg})
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[string]float64)
	for _, mf := range families {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			if c := m.GetCounter(); c != nil {
				got[key] = c.GetValue()
			}
			if hi := m.GetHistogram(); hi != nil {
				got[key] = float64(hi.GetSampleCount())
			}
		}
	}
	want := map[string]float64{
		"waymark_uiapi_requests_total,code=200,endpoint=service_stats":  1,
		"waymark_uiapi_requests_total,code=400,endpoint=service_stats":  1,
		"waymark_uiapi_request_duration_seconds,endpoint=service_stats": 2,
		"waymark_uiapi_scanned_traces_total,endpoint=service_stats":     300,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
}

func TestServiceStatsTruncated(t *testing.T) {
	w := newWorkload(testBase)
	h := NewHandler(&memQuerier{traces: map[string][][]model.Span{model.DefaultTenant: w.requests(10)}}, Options{MaxTraces: 4}).(*handler)
	h.now = func() time.Time { return testBase.Add(time.Hour) }
	_, resp := get(t, h, "/api/waymark/service-stats")
	if st := decode[ServiceStats](t, resp.Data); !st.Truncated || st.Traces != 4 {
		t.Fatalf("stats = %+v, want truncated after 4 traces", st)
	}
}
