package zipkinapi

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"waymark/internal/api/apihttp"
	"waymark/internal/api/jsonenc"
	"waymark/internal/model"
	"waymark/internal/store/filter"
)

// Search bounds.
const (
	// overfetch multiplies the traces asked of the store when a condition
	// (a bare annotationQuery word) can only be checked here.
	overfetch = 10
	// remoteServicesTraces bounds the traces /remoteServices reads per
	// attribute it looks at.
	remoteServicesTraces = 1000
)

// remoteSourceKeys are the span attributes a remote service name can come
// from (see remoteServiceName).
var remoteSourceKeys = append(slices.Clone(remoteSvcKeys), attrServerAddress)

// traceQuery is a parsed /api/v2/traces request.
type traceQuery struct {
	window        timeRange
	service       string
	remoteService string
	spanName      string
	terms         []annotationTerm
	minDuration   uint64 // ns
	maxDuration   uint64 // ns
	limit         int
}

// parseTraceQuery reads the parameters of /api/v2/traces.
func parseTraceQuery(v url.Values, win timeRange) (traceQuery, error) {
	q := traceQuery{
		window:        win,
		service:       v.Get("serviceName"),
		remoteService: noneIfAll(v.Get("remoteServiceName")),
		spanName:      noneIfAll(v.Get("spanName")),
	}
	var err error
	if q.terms, err = parseAnnotationQuery(v.Get("annotationQuery")); err != nil {
		return q, err
	}
	if q.minDuration, err = parseDuration(v, "minDuration"); err != nil {
		return q, err
	}
	if q.maxDuration, err = parseDuration(v, "maxDuration"); err != nil {
		return q, err
	}
	if q.maxDuration != 0 && q.minDuration > q.maxDuration {
		return q, fmt.Errorf("minDuration %d µs is greater than maxDuration %d µs", q.minDuration/1000, q.maxDuration/1000)
	}
	if q.limit, err = parseLimit(v); err != nil {
		return q, err
	}
	return q, nil
}

// noneIfAll maps "all", which Zipkin UIs send for "any name", to no filter.
func noneIfAll(name string) string {
	if name == "all" {
		return ""
	}
	return name
}

// base returns the request every alternative shares: the window, the
// local service, the span name, key=value terms and durations.
func (q *traceQuery) base(limit int) filter.Request {
	req := filter.Request{
		StartUnixNano:   q.window.start,
		EndUnixNano:     q.window.end,
		MinDurationNano: q.minDuration,
		MaxDurationNano: q.maxDuration,
		Limit:           limit,
	}
	if q.service != "" {
		req.Conditions = append(req.Conditions, filter.Condition{
			Scope: filter.ScopeResource, Key: attrServiceName, Op: filter.OpEq, Value: model.StringValue(q.service)})
	}
	if q.spanName != "" {
		req.Conditions = append(req.Conditions, filter.Condition{
			Scope: filter.ScopeIntrinsic, Key: filter.IntrinsicName, Op: filter.OpEq, Value: model.StringValue(q.spanName)})
	}
	for _, t := range q.terms {
		if !t.bare {
			req.Conditions = append(req.Conditions, filter.Condition{
				Scope: filter.ScopeAny, Key: t.key, Op: filter.OpEq, Value: model.StringValue(t.value)})
		}
	}
	return req
}

// requests returns the searches whose union holds every answer: one, or
// one per attribute a remote service name can come from.
func (q *traceQuery) requests() []filter.Request {
	limit := q.limit
	if slices.ContainsFunc(q.terms, func(t annotationTerm) bool { return t.bare }) {
		limit = min(q.limit*overfetch, maxLimit)
	}
	if q.remoteService == "" {
		return []filter.Request{q.base(limit)}
	}
	reqs := make([]filter.Request, 0, len(remoteSourceKeys))
	for _, k := range remoteSourceKeys {
		req := q.base(limit)
		req.Conditions = append(req.Conditions, filter.Condition{
			Scope: filter.ScopeSpan, Key: k, Op: filter.OpEq, Value: model.StringValue(q.remoteService)})
		reqs = append(reqs, req)
	}
	return reqs
}

// matchSpan checks what the store cannot: the remote service name, which
// prefers peer.service over server.address, and bare words, each a tag key
// or an annotation value of the span.
func (q *traceQuery) matchSpan(s *model.Span) bool {
	if q.remoteService != "" && remoteServiceName(s) != q.remoteService {
		return false
	}
	for _, t := range q.terms {
		if t.bare && !hasTagOrAnnotation(s, t.key) {
			return false
		}
	}
	return true
}

// anyMatch reports whether one of spans passes matchSpan.
func (q *traceQuery) anyMatch(spans []model.Span) bool {
	for i := range spans {
		if q.matchSpan(&spans[i]) {
			return true
		}
	}
	return false
}

func hasTagOrAnnotation(s *model.Span, word string) bool {
	if _, ok := s.Attributes.Get(word); ok {
		return true
	}
	if s.Resource != nil {
		if _, ok := s.Resource.Attributes.Get(word); ok {
			return true
		}
	}
	return slices.ContainsFunc(s.Events, func(e model.Event) bool { return e.Name == word })
}

// searchIDs returns the IDs of the newest traces matching q, at most
// q.limit, newest first.
func (h *handler) searchIDs(ctx context.Context, tenant string, q *traceQuery) ([]model.TraceID, error) {
	newest := make(map[model.TraceID]uint64)
	for _, req := range q.requests() {
		if err := h.searchChecked(ctx, tenant, q, req, newest); err != nil {
			return nil, err
		}
	}
	ids := make([]model.TraceID, 0, len(newest))
	for id := range newest {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b model.TraceID) int {
		if c := cmp.Compare(newest[b], newest[a]); c != 0 {
			return c
		}
		return slices.Compare(a[:], b[:])
	})
	return ids[:min(len(ids), q.limit)], nil
}

// searchChecked runs req and records in newest the start of each trace
// that passes q.matchSpan. When the check turns traces down, it searches
// again for four times as many, until q.limit traces pass, the store has
// no more, or maxLimit traces were read.
func (h *handler) searchChecked(ctx context.Context, tenant string, q *traceQuery, req filter.Request, newest map[model.TraceID]uint64) error {
	for {
		res, err := h.q.Search(ctx, tenant, req)
		if err != nil {
			return fmt.Errorf("search traces: %w", err)
		}
		matches := res.Matches
		passed := 0
		for i := range matches {
			m := &matches[i]
			if !q.anyMatch(m.Spans) {
				continue
			}
			passed++
			if prev, ok := newest[m.TraceID]; !ok || m.StartUnixNano > prev {
				newest[m.TraceID] = m.StartUnixNano
			}
		}
		// A search the span budget cut short would only be cut again.
		if passed >= q.limit || len(matches) < req.Limit || req.Limit >= maxLimit || res.Warning != "" {
			return nil
		}
		req.Limit = min(req.Limit*4, maxLimit)
	}
}

func (h *handler) traces(r *http.Request, tenant string) ([]byte, error) {
	v := r.URL.Query()
	win, err := parseWindow(v, h.now(), h.lookback, false)
	if err != nil {
		return nil, apihttp.BadRequest(err)
	}
	q, err := parseTraceQuery(v, win)
	if err != nil {
		return nil, apihttp.BadRequest(err)
	}
	ids, err := h.searchIDs(r.Context(), tenant, &q)
	if err != nil {
		return nil, err
	}
	traces, err := h.findTraces(r.Context(), tenant, ids)
	if err != nil {
		return nil, err
	}
	var e encoder
	return e.appendTraces(nil, traces), nil
}

// remoteServices lists the services that spans of serviceName called
// within the lookback, as remoteEndpoint names them. It reads at most
// remoteServicesTraces recent traces per source attribute.
func (h *handler) remoteServices(r *http.Request, tenant string) ([]byte, error) {
	service, err := requiredParam(r, "serviceName")
	if err != nil {
		return nil, err
	}
	win, err := parseWindow(url.Values{}, h.now(), h.lookback, false)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, key := range remoteSourceKeys {
		req := filter.Request{
			StartUnixNano: win.start,
			EndUnixNano:   win.end,
			Limit:         remoteServicesTraces,
			Conditions: []filter.Condition{
				{Scope: filter.ScopeResource, Key: attrServiceName, Op: filter.OpEq, Value: model.StringValue(service)},
				{Scope: filter.ScopeSpan, Key: key, Op: filter.OpExists},
			},
		}
		res, err := h.q.Search(r.Context(), tenant, req)
		if err != nil {
			return nil, fmt.Errorf("search remote services of %s: %w", service, err)
		}
		matches := res.Matches
		for i := range matches {
			for j := range matches[i].Spans {
				if n := remoteServiceName(&matches[i].Spans[j]); n != "" {
					names = append(names, n)
				}
			}
		}
	}
	return jsonenc.AppendStrings(nil, sortedUnique(names)), nil
}
