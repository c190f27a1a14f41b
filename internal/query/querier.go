package query

import (
	"context"
	"fmt"
	"time"

	"waymark/internal/model"
	"waymark/internal/store"
	"waymark/internal/store/filter"
	"waymark/internal/store/summary"
)

// Querier answers queries from a Store.
type Querier struct {
	store     *store.Store
	lookback  time.Duration
	maxSeries int
	// spanPath lets span-local metrics queries skip whole-trace reads;
	// tests turn it off to check both paths agree.
	spanPath bool
	// project lets the span path read only the span fields a query
	// needs; tests turn it off to check both reads agree.
	project bool
}

// Options configures a Querier.
type Options struct {
	// DefaultLookback is the search window when a request has no start; 0 means 48 h.
	DefaultLookback time.Duration
	// MaxMetricsSeries bounds the series one metrics query may build;
	// 0 means DefaultMaxMetricsSeries.
	MaxMetricsSeries int
}

// New returns a Querier over s.
func New(s *store.Store, opts Options) *Querier {
	if opts.DefaultLookback == 0 {
		opts.DefaultLookback = 48 * time.Hour
	}
	if opts.MaxMetricsSeries <= 0 {
		opts.MaxMetricsSeries = DefaultMaxMetricsSeries
	}
	return &Querier{store: s, lookback: opts.DefaultLookback, maxSeries: opts.MaxMetricsSeries, spanPath: true, project: true}
}

// FindTrace returns every span of trace id, or an error wrapping
// ErrTraceNotFound. The time hints are accepted for API compatibility; the
// lookup does not need them, so a wrong hint never hides a trace.
func (q *Querier) FindTrace(ctx context.Context, tenant string, id model.TraceID, _, _ uint64) ([]model.Span, error) {
	spans, err := q.store.FindTrace(ctx, tenant, id)
	if err != nil {
		return nil, fmt.Errorf("find trace %s: %w", id, err)
	}
	if len(spans) == 0 {
		return nil, fmt.Errorf("trace %s: %w", id, ErrTraceNotFound)
	}
	return spans, nil
}

// Search returns the traces matching req, newest first, with their matched
// spans, at most req.Limit (0: all). An open time range defaults to the
// lookback window ending now.
func (q *Querier) Search(ctx context.Context, tenant string, req filter.Request) ([]filter.Match, error) {
	if err := req.Compile(); err != nil {
		return nil, err
	}
	req = withDefaultRange(req, q.lookback)
	var out []filter.Match
	err := q.searchNewestFirst(ctx, tenant, req, func(m filter.Match) (bool, error) {
		out = append(out, m)
		return req.Limit == 0 || len(out) < req.Limit, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SearchTraces returns whole traces matching req, newest first.
func (q *Querier) SearchTraces(ctx context.Context, tenant string, req filter.Request) ([][]model.Span, error) {
	matches, err := q.Search(ctx, tenant, req)
	if err != nil {
		return nil, err
	}
	out := make([][]model.Span, 0, len(matches))
	for _, m := range matches {
		spans, err := q.store.FindTrace(ctx, tenant, m.TraceID)
		if err != nil {
			return nil, fmt.Errorf("fetch trace %s: %w", m.TraceID, err)
		}
		if len(spans) > 0 {
			out = append(out, spans)
		}
	}
	return out, nil
}

// Services returns the tenant's service names, sorted.
func (q *Querier) Services(ctx context.Context, tenant string) ([]string, error) {
	return q.store.Services(ctx, tenant)
}

// Operations returns the operations of service (all services if empty),
// sorted by name then kind.
func (q *Querier) Operations(ctx context.Context, tenant, service string) ([]Operation, error) {
	ops, err := q.store.Operations(ctx, tenant, service)
	if err != nil {
		return nil, err
	}
	out := make([]Operation, len(ops))
	for i, op := range ops {
		out[i] = Operation{Name: op.Name, Kind: op.Kind}
	}
	return out, nil
}

// Dependencies returns the service call edges in [start, end], sorted.
func (q *Querier) Dependencies(ctx context.Context, tenant string, startUnixNano, endUnixNano uint64) ([]Dependency, error) {
	deps, err := q.store.Dependencies(ctx, tenant, startUnixNano, endUnixNano)
	if err != nil {
		return nil, err
	}
	out := make([]Dependency, len(deps))
	for i, d := range deps {
		out[i] = Dependency{Parent: d.Parent, Child: d.Child, CallCount: d.CallCount, ErrorCount: d.ErrorCount}
	}
	return out, nil
}

// Tags returns the attribute keys and values per scope seen in [start, end].
func (q *Querier) Tags(ctx context.Context, tenant string, startUnixNano, endUnixNano uint64) (summary.Tags, error) {
	return q.store.Tags(ctx, tenant, startUnixNano, endUnixNano)
}
