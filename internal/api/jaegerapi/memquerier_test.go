package jaegerapi

import (
	"cmp"
	"context"
	"slices"
	"sync"

	"waymark/internal/api/apitest"
	"waymark/internal/model"
	"waymark/internal/query"
	"waymark/internal/store/filter"
)

// memQuerier is a Querier over spans held in memory per tenant. It honours
// time hints strictly (a trace outside the hinted window is not found), so
// tests can see the handler's retry, and records what it was asked.
type memQuerier struct {
	mu      sync.Mutex
	tenants map[string][]model.Span
	deps    map[string][]query.Dependency
	err     error // when set, every call fails with it

	findCalls  []findCall
	lastSearch filter.Request
	lastDeps   [2]uint64
	lastTenant string
}

type findCall struct {
	id         model.TraceID
	start, end uint64
}

func newMemQuerier() *memQuerier {
	return &memQuerier{tenants: make(map[string][]model.Span), deps: make(map[string][]query.Dependency)}
}

func (m *memQuerier) add(tenant string, spans ...model.Span) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tenants[tenant] = append(m.tenants[tenant], spans...)
}

func (m *memQuerier) FindTrace(_ context.Context, tenant string, id model.TraceID, start, end uint64) (query.Trace, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lastTenant = tenant
	m.findCalls = append(m.findCalls, findCall{id, start, end})
	if m.err != nil {
		return query.Trace{}, m.err
	}
	out := make([]model.Span, 0, 16)
	inWindow := start == 0 && end == 0
	for _, s := range m.tenants[tenant] {
		if s.TraceID != id {
			continue
		}
		out = append(out, s)
		if (start == 0 || s.StartTimeUnixNano >= start) && (end == 0 || s.StartTimeUnixNano <= end) {
			inWindow = true
		}
	}
	if len(out) == 0 || !inWindow {
		return query.Trace{}, query.ErrTraceNotFound
	}
	return query.Trace{ID: id, Spans: out, StoredSpans: len(out)}, nil
}

func (m *memQuerier) FindTraces(ctx context.Context, tenant string, ids []model.TraceID) (query.TraceSearch, error) {
	return apitest.FindEach(ctx, m, tenant, ids)
}

func (m *memQuerier) SearchTraces(_ context.Context, tenant string, req filter.Request) (query.TraceSearch, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lastTenant = tenant
	m.lastSearch = req
	if m.err != nil {
		return query.TraceSearch{}, m.err
	}
	if err := req.Compile(); err != nil {
		return query.TraceSearch{}, err
	}
	byTrace := make(map[model.TraceID][]model.Span)
	matched := make(map[model.TraceID]bool)
	for _, s := range m.tenants[tenant] {
		byTrace[s.TraceID] = append(byTrace[s.TraceID], s)
		if req.MatchSpan(&s) {
			matched[s.TraceID] = true
		}
	}
	var out [][]model.Span
	for id := range matched {
		out = append(out, byTrace[id])
	}
	start := func(spans []model.Span) uint64 {
		return slices.MinFunc(spans, func(a, b model.Span) int { return cmp.Compare(a.StartTimeUnixNano, b.StartTimeUnixNano) }).StartTimeUnixNano
	}
	slices.SortFunc(out, func(a, b []model.Span) int { return cmp.Compare(start(b), start(a)) })
	if req.Limit > 0 && len(out) > req.Limit {
		out = out[:req.Limit]
	}
	var res query.TraceSearch
	for _, spans := range out {
		res.Traces = append(res.Traces, query.Trace{ID: spans[0].TraceID, Spans: spans, StoredSpans: len(spans)})
	}
	return res, nil
}

func (m *memQuerier) Services(_ context.Context, tenant string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lastTenant = tenant
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
	m.lastTenant = tenant
	if m.err != nil {
		return nil, m.err
	}
	var out []query.Operation
	for _, s := range m.tenants[tenant] {
		if s.ServiceName() == service {
			out = append(out, query.Operation{Name: s.Name, Kind: s.Kind})
		}
	}
	slices.SortFunc(out, func(a, b query.Operation) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Kind, b.Kind))
	})
	return slices.Compact(out), nil
}

func (m *memQuerier) Dependencies(_ context.Context, tenant string, start, end uint64) ([]query.Dependency, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lastTenant = tenant
	m.lastDeps = [2]uint64{start, end}
	if m.err != nil {
		return nil, m.err
	}
	return slices.Clone(m.deps[tenant]), nil
}
