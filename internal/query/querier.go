package query

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

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
	// maxTraceSpans caps the spans of a trace an answer holds;
	// maxQuerySpans caps the spans one search holds in all.
	maxTraceSpans int
	maxQuerySpans int
	log           *slog.Logger
	metrics       *limitMetrics
}

// Options configures a Querier.
type Options struct {
	// DefaultLookback is the search window when a request has no start; 0 means 48 h.
	DefaultLookback time.Duration
	// MaxMetricsSeries bounds the series one metrics query may build;
	// 0 means DefaultMaxMetricsSeries.
	MaxMetricsSeries int
	// MaxTraceSpans caps the spans of one trace an answer holds: a larger
	// trace is truncated (see Truncate) and says so. 0 means
	// DefaultMaxTraceSpans.
	MaxTraceSpans int
	// MaxSpansPerQuery is the span budget of one search: the spans of the
	// traces, spansets or matches it holds. A search that reaches it stops
	// and answers with what it has and a warning. 0 means
	// DefaultMaxSpansPerQuery; it is raised to MaxTraceSpans if below, so
	// that one whole trace always fits.
	MaxSpansPerQuery int
	// Logger receives a warning for every truncated trace and partial
	// search; nil discards them.
	Logger *slog.Logger
	// Registerer receives the querier's metrics; nil means no metrics.
	Registerer prometheus.Registerer
}

// New returns a Querier over s.
func New(s *store.Store, opts Options) *Querier {
	if opts.DefaultLookback == 0 {
		opts.DefaultLookback = 48 * time.Hour
	}
	if opts.MaxMetricsSeries <= 0 {
		opts.MaxMetricsSeries = DefaultMaxMetricsSeries
	}
	if opts.MaxTraceSpans <= 0 {
		opts.MaxTraceSpans = DefaultMaxTraceSpans
	}
	if opts.MaxSpansPerQuery <= 0 {
		opts.MaxSpansPerQuery = DefaultMaxSpansPerQuery
	}
	return &Querier{
		store: s, lookback: opts.DefaultLookback, maxSeries: opts.MaxMetricsSeries, spanPath: true, project: true,
		maxTraceSpans: opts.MaxTraceSpans, maxQuerySpans: max(opts.MaxSpansPerQuery, opts.MaxTraceSpans),
		log: discardLogger(opts.Logger), metrics: newLimitMetrics(opts.Registerer),
	}
}

// FindTrace returns trace id, at most MaxTraceSpans of its spans, or an
// error wrapping ErrTraceNotFound. A larger trace is truncated (see
// Truncate), counted and logged, and the answer says so (Trace.Truncated,
// Trace.Warning). The time hints are accepted for API compatibility; the
// lookup does not need them, so a wrong hint never hides a trace.
func (q *Querier) FindTrace(ctx context.Context, tenant string, id model.TraceID, _, _ uint64) (Trace, error) {
	spans, err := q.store.FindTrace(ctx, tenant, id)
	if err != nil {
		return Trace{}, fmt.Errorf("find trace %s: %w", id, err)
	}
	if len(spans) == 0 {
		return Trace{}, fmt.Errorf("trace %s: %w", id, ErrTraceNotFound)
	}
	return q.limitTrace(ctx, tenant, id, spans), nil
}

// FindTraces returns the traces of ids that exist, in the order of ids,
// each cut to MaxTraceSpans, until their spans reach MaxSpansPerQuery: the
// trace that would exceed it and those after it are left out and the
// answer carries a warning. Unknown IDs are skipped.
func (q *Querier) FindTraces(ctx context.Context, tenant string, ids []model.TraceID) (TraceSearch, error) {
	b := newBudget(q.maxQuerySpans)
	var out TraceSearch
	for _, id := range ids {
		spans, err := q.store.FindTrace(ctx, tenant, id)
		if err != nil {
			return TraceSearch{}, fmt.Errorf("find trace %s: %w", id, err)
		}
		if len(spans) == 0 {
			continue
		}
		if !b.take(min(len(spans), q.maxTraceSpans)) {
			break
		}
		out.Traces = append(out.Traces, q.limitTrace(ctx, tenant, id, spans))
	}
	out.Warning = q.partial(ctx, tenant, "traces by id", b, len(out.Traces))
	return out, nil
}

// MatchSearch is the answer of Search.
type MatchSearch struct {
	// Matches are the traces found, newest first, each with its matched
	// spans.
	Matches []filter.Match
	// Warning is set when the span budget ended the search early: Matches
	// then holds the newest traces whose matched spans fitted. Empty when
	// complete.
	Warning string
}

// Search returns the traces matching req, newest first, with their matched
// spans, at most req.Limit (0: all), until the matched spans reach
// MaxSpansPerQuery: the trace that would exceed it is left out and the
// answer carries a warning. An open time range defaults to the lookback
// window ending now.
func (q *Querier) Search(ctx context.Context, tenant string, req filter.Request) (MatchSearch, error) {
	if err := req.Compile(); err != nil {
		return MatchSearch{}, err
	}
	req = withDefaultRange(req, q.lookback)
	b := newBudget(q.maxQuerySpans)
	var out MatchSearch
	err := q.searchNewestFirst(ctx, tenant, req, func(m filter.Match) (bool, error) {
		if !b.take(len(m.Spans)) {
			return false, nil
		}
		out.Matches = append(out.Matches, m)
		return req.Limit == 0 || len(out.Matches) < req.Limit, nil
	})
	if err != nil {
		return MatchSearch{}, err
	}
	out.Warning = q.partial(ctx, tenant, "matches", b, len(out.Matches))
	return out, nil
}

// TraceSearch is the answer of SearchTraces.
type TraceSearch struct {
	// Traces are the whole traces found, newest first, each cut to
	// MaxTraceSpans.
	Traces []Trace
	// Warning is set when the span budget ended the search early: Traces
	// then holds the newest matches that fitted. Empty when complete.
	Warning string
}

// SearchTraces returns the whole traces matching req, newest first, at most
// req.Limit (0: all), until their spans reach MaxSpansPerQuery: the trace
// that would exceed it is left out and the answer carries a warning.
func (q *Querier) SearchTraces(ctx context.Context, tenant string, req filter.Request) (TraceSearch, error) {
	if err := req.Compile(); err != nil {
		return TraceSearch{}, err
	}
	req = withDefaultRange(req, q.lookback)
	b := newBudget(q.maxQuerySpans)
	var out TraceSearch
	err := q.searchNewestFirst(ctx, tenant, req, func(m filter.Match) (bool, error) {
		spans, err := q.store.FindTrace(ctx, tenant, m.TraceID)
		if err != nil {
			return false, fmt.Errorf("fetch trace %s: %w", m.TraceID, err)
		}
		if len(spans) == 0 {
			return true, nil
		}
		if !b.take(min(len(spans), q.maxTraceSpans)) {
			return false, nil
		}
		out.Traces = append(out.Traces, q.limitTrace(ctx, tenant, m.TraceID, spans))
		return req.Limit == 0 || len(out.Traces) < req.Limit, nil
	})
	if err != nil {
		return TraceSearch{}, err
	}
	out.Warning = q.partial(ctx, tenant, "traces", b, len(out.Traces))
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
