package apitest

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"

	"waymark/internal/model"
	"waymark/internal/query"
	"waymark/internal/store/filter"
	"waymark/internal/store/summary"
)

// MemQuerier is a querier over spans held in memory per tenant, with the
// store's search semantics (filter.Request.MatchSpan, newest first, at most
// Limit traces) and the summary package's dependencies and tags. It
// records what it was asked. Set Err to make every call fail with it.
type MemQuerier struct {
	mu      sync.Mutex
	tenants map[string][]model.Span
	// Err, when set, is returned by every call.
	Err error
	// MaxTraceSpans, when set, truncates the traces returned as the query
	// layer does.
	MaxTraceSpans int

	searches []filter.Request
	deps     [2]uint64
}

// NewMemQuerier returns an empty MemQuerier.
func NewMemQuerier() *MemQuerier {
	return &MemQuerier{tenants: make(map[string][]model.Span)}
}

// Add stores spans for tenant.
func (m *MemQuerier) Add(tenant string, spans ...model.Span) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tenants[tenant] = append(m.tenants[tenant], spans...)
}

// FindTrace returns the trace's spans, cut by query.Truncate to
// MaxTraceSpans when set, or query.ErrTraceNotFound; it ignores the time
// hints.
func (m *MemQuerier) FindTrace(_ context.Context, tenant string, id model.TraceID, _, _ uint64) (query.Trace, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return query.Trace{}, m.Err
	}
	var out []model.Span
	for _, s := range m.tenants[tenant] {
		if s.TraceID == id {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return query.Trace{}, query.ErrTraceNotFound
	}
	return query.Trace{ID: id, Spans: query.Truncate(out, m.MaxTraceSpans), StoredSpans: len(out)}, nil
}

// FindTraces returns the traces of ids that exist, in the order of ids.
func (m *MemQuerier) FindTraces(ctx context.Context, tenant string, ids []model.TraceID) (query.TraceSearch, error) {
	return FindEach(ctx, m, tenant, ids)
}

// TraceFinder looks one trace up, as the query layer does.
type TraceFinder interface {
	FindTrace(ctx context.Context, tenant string, id model.TraceID, startUnixNano, endUnixNano uint64) (query.Trace, error)
}

// FindEach looks ids up one by one with f, without time hints, and returns
// those found in the order of ids: FindTraces for a test querier.
func FindEach(ctx context.Context, f TraceFinder, tenant string, ids []model.TraceID) (query.TraceSearch, error) {
	var out query.TraceSearch
	for _, id := range ids {
		tr, err := f.FindTrace(ctx, tenant, id, 0, 0)
		if errors.Is(err, query.ErrTraceNotFound) {
			continue
		}
		if err != nil {
			return query.TraceSearch{}, err
		}
		out.Traces = append(out.Traces, tr)
	}
	return out, nil
}

// Search returns matches newest first, at most req.Limit, and records req.
func (m *MemQuerier) Search(_ context.Context, tenant string, req filter.Request) (query.MatchSearch, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.searches = append(m.searches, req)
	if m.Err != nil {
		return query.MatchSearch{}, m.Err
	}
	if err := req.Compile(); err != nil {
		return query.MatchSearch{}, err
	}
	byTrace := make(map[model.TraceID]*filter.Match)
	for _, s := range m.tenants[tenant] {
		if !req.MatchSpan(&s) {
			continue
		}
		mt := byTrace[s.TraceID]
		if mt == nil {
			mt = &filter.Match{TraceID: s.TraceID, StartUnixNano: s.StartTimeUnixNano}
			byTrace[s.TraceID] = mt
		}
		mt.Spans = append(mt.Spans, s)
		mt.StartUnixNano = min(mt.StartUnixNano, s.StartTimeUnixNano)
		mt.EndUnixNano = max(mt.EndUnixNano, s.EndTimeUnixNano)
	}
	out := make([]filter.Match, 0, len(byTrace))
	for _, mt := range byTrace {
		out = append(out, *mt)
	}
	slices.SortFunc(out, func(a, b filter.Match) int { return cmp.Compare(b.StartUnixNano, a.StartUnixNano) })
	if req.Limit > 0 && len(out) > req.Limit {
		out = out[:req.Limit]
	}
	return query.MatchSearch{Matches: out}, nil
}

// SearchTraces returns the whole traces of Search's matches.
func (m *MemQuerier) SearchTraces(ctx context.Context, tenant string, req filter.Request) (query.TraceSearch, error) {
	res, err := m.Search(ctx, tenant, req)
	if err != nil {
		return query.TraceSearch{}, err
	}
	out := query.TraceSearch{Traces: make([]query.Trace, 0, len(res.Matches))}
	for _, mt := range res.Matches {
		tr, err := m.FindTrace(ctx, tenant, mt.TraceID, 0, 0)
		if err != nil {
			return query.TraceSearch{}, err
		}
		out.Traces = append(out.Traces, tr)
	}
	return out, nil
}

// Searches returns the requests Search was called with, and forgets them.
func (m *MemQuerier) Searches() []filter.Request {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.searches
	m.searches = nil
	return s
}

// DependencyWindow returns the window of the last Dependencies call.
func (m *MemQuerier) DependencyWindow() [2]uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.deps
}

// Services returns the tenant's service names, sorted.
func (m *MemQuerier) Services(_ context.Context, tenant string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return nil, m.Err
	}
	var out []string
	for _, s := range m.tenants[tenant] {
		out = append(out, s.ServiceName())
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Operations returns the span names and kinds of a service's spans.
func (m *MemQuerier) Operations(_ context.Context, tenant, service string) ([]query.Operation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return nil, m.Err
	}
	var out []query.Operation
	for _, s := range m.tenants[tenant] {
		if s.ServiceName() == service {
			out = append(out, query.Operation{Name: s.Name, Kind: s.Kind})
		}
	}
	return out, nil
}

// Dependencies returns the edges of spans starting in [start, end] and
// records the window.
func (m *MemQuerier) Dependencies(_ context.Context, tenant string, start, end uint64) ([]query.Dependency, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.deps = [2]uint64{start, end}
	if m.Err != nil {
		return nil, m.Err
	}
	traces := make(map[model.TraceID][]model.Span)
	for _, s := range m.tenants[tenant] {
		if s.StartTimeUnixNano >= start && s.StartTimeUnixNano <= end {
			traces[s.TraceID] = append(traces[s.TraceID], s)
		}
	}
	edges := make(map[[2]string]*summary.Dependency)
	for _, spans := range traces {
		summary.Dependencies(edges, spans)
	}
	var out []query.Dependency
	for _, d := range summary.SortedDependencies(edges) {
		out = append(out, query.Dependency{Parent: d.Parent, Child: d.Child, CallCount: d.CallCount, ErrorCount: d.ErrorCount})
	}
	return out, nil
}

// Tags returns the attribute summary of spans starting in [start, end].
func (m *MemQuerier) Tags(_ context.Context, tenant string, start, end uint64) (summary.Tags, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return nil, m.Err
	}
	tags := summary.NewTags()
	seen := make(map[*model.Resource]struct{})
	for _, s := range m.tenants[tenant] {
		if s.StartTimeUnixNano >= start && s.StartTimeUnixNano <= end {
			tags.Add(&s, seen)
		}
	}
	return tags, nil
}
