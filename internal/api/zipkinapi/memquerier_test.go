package zipkinapi

import (
	"cmp"
	"context"
	"slices"
	"sync"

	"waymark/internal/model"
	"waymark/internal/query"
	"waymark/internal/store/filter"
	"waymark/internal/store/summary"
)

// memQuerier is a Querier over spans held in memory per tenant, with the
// store's search semantics (filter.Request.MatchSpan, newest first, at most
// Limit traces). It records the last search and dependency window.
type memQuerier struct {
	mu      sync.Mutex
	tenants map[string][]model.Span
	err     error // when set, every call fails with it

	searches []filter.Request
	lastDeps [2]uint64
	lastTags [2]uint64
}

func newMemQuerier() *memQuerier {
	return &memQuerier{tenants: make(map[string][]model.Span)}
}

func (m *memQuerier) add(tenant string, spans ...model.Span) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tenants[tenant] = append(m.tenants[tenant], spans...)
}

func (m *memQuerier) FindTrace(_ context.Context, tenant string, id model.TraceID, _, _ uint64) ([]model.Span, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return nil, m.err
	}
	var out []model.Span
	for _, s := range m.tenants[tenant] {
		if s.TraceID == id {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, query.ErrTraceNotFound
	}
	return out, nil
}

func (m *memQuerier) Search(_ context.Context, tenant string, req filter.Request) ([]filter.Match, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.searches = append(m.searches, req)
	if m.err != nil {
		return nil, m.err
	}
	if err := req.Compile(); err != nil {
		return nil, err
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
	return out, nil
}

func (m *memQuerier) Services(_ context.Context, tenant string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return nil, m.err
	}
	var out []string
	for _, s := range m.tenants[tenant] {
		out = append(out, s.ServiceName())
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func (m *memQuerier) Operations(_ context.Context, tenant, service string) ([]query.Operation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return nil, m.err
	}
	var out []query.Operation
	for _, s := range m.tenants[tenant] {
		if s.ServiceName() == service {
			out = append(out, query.Operation{Name: s.Name, Kind: s.Kind})
		}
	}
	return out, nil
}

func (m *memQuerier) Dependencies(_ context.Context, tenant string, start, end uint64) ([]query.Dependency, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lastDeps = [2]uint64{start, end}
	if m.err != nil {
		return nil, m.err
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

func (m *memQuerier) Tags(_ context.Context, tenant string, start, end uint64) (summary.Tags, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lastTags = [2]uint64{start, end}
	if m.err != nil {
		return nil, m.err
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
