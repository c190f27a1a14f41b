package query

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"waymark/internal/query/traceql"
	"waymark/internal/store/filter"
)

// ErrInvalidRequest marks an error caused by the request itself (a bad
// range or step, an unsupported function, too many series), which an API
// answers with 400.
var ErrInvalidRequest = errors.New("invalid request")

// Limits of one metrics query.
const (
	// MaxMetricsIntervals bounds the samples per series of a range query.
	MaxMetricsIntervals = 11_000
	// DefaultMaxMetricsSeries bounds the series a query may build before
	// its comparison filter and topk/bottomk apply (Options.MaxMetricsSeries).
	DefaultMaxMetricsSeries = 10_000
	// DefaultMetricsRange is the range of a request without a start.
	DefaultMetricsRange = time.Hour
)

// MetricsRequest is a TraceQL metrics query over a time range.
type MetricsRequest struct {
	// Query must be a metrics query (Query.IsMetrics).
	Query *traceql.Query
	// StartUnixNano and EndUnixNano bound the span start times; an end of 0
	// means now, a start of 0 means DefaultMetricsRange before the end.
	StartUnixNano, EndUnixNano uint64
	// StepNano is the width of each sample of a range query; 0 picks
	// DefaultMetricsStep. Instant queries ignore it.
	StepNano uint64
	// Instant asks for one value per series over the whole range.
	Instant bool
}

// MetricsResult is the answer to a metrics query.
type MetricsResult struct {
	// Series are sorted by their labels.
	Series []MetricsSeries
	// InspectedTraces and InspectedSpans count the traces and spans
	// evaluated; on the span path a trace counts once per storage window
	// it has matching spans in, and only the spans storage matched count.
	InspectedTraces uint64
	InspectedSpans  uint64
}

// MetricsSeries is one time series.
type MetricsSeries struct {
	// Labels are the by() values the series stands for, in by() order, then
	// "p" (the quantile of quantile_over_time) or "__bucket" (the bucket of
	// histogram_over_time). Spans without a by() field have no label for it;
	// a series that would have no labels at all is labelled with the first
	// by() field and a nil value, or "__name__" and the function's name when
	// there is no by().
	Labels []MetricsLabel
	// Samples are in time order and only where the series has a value. A
	// range query stamps each sample at the end of its step; an instant
	// query has one sample, stamped at the end of the range.
	Samples []MetricsSample
}

// MetricsLabel is a typed label of a series.
type MetricsLabel struct {
	Key   string
	Value traceql.Static
}

// MetricsSample is one value of a series.
type MetricsSample struct {
	TimestampUnixMilli int64
	Value              float64
}

// DefaultMetricsStep picks the step of a range query as Tempo does: about
// 240 samples over the range, rounded down to a multiple of 5 s (or of 1 s
// below 5 s), and at least 1 s. An hour gives 15 s.
func DefaultMetricsStep(startUnixNano, endUnixNano uint64) uint64 {
	if endUnixNano <= startUnixNano {
		return uint64(time.Second)
	}
	base := (endUnixNano - startUnixNano) / 240
	step := base / uint64(5*time.Second) * uint64(5*time.Second)
	if step == 0 {
		step = base / uint64(time.Second) * uint64(time.Second)
	}
	return max(step, uint64(time.Second))
}

// QueryRange runs a TraceQL metrics query. Every trace with a span that
// may match in the range is read whole and evaluated, so structural
// operators, pipeline stages and trace-level intrinsics are exact; each
// span the query matches is then counted in the step its start time falls
// in. A query whose search part is one spanset filter needing nothing but
// the span itself takes a faster path with the same result: it evaluates
// the spans that storage matches, without reading whole traces, and has
// storage build only the span fields the query reads (Query.Projection).
//
// Steps are aligned to multiples of the step, as Tempo aligns them: the
// sample stamped T covers span starts in (T−step, T], from the first T at
// or after the start to the first T at or after the end, so the first and
// last steps may reach past the requested range. rate() is matched spans
// per second of the step; count_over_time() matched spans per step;
// sum/min/max/avg_over_time(x) aggregate x's numeric value, with durations
// in seconds, over spans that have one. quantile_over_time and
// histogram_over_time use Tempo's log2 histograms: a value is counted in
// the bucket of the smallest power of two at or above it (durations in
// nanoseconds, labelled in seconds; ints and durations below 2 are left
// out, as are floats ≤ 0), and a quantile is interpolated exponentially
// within its bucket. Counts and rates are 0 in steps without spans of
// the series; the other functions have no sample there. A comparison
// filter drops the samples that fail it; topk(n)/bottomk(n) keep, at each
// step, the n series with the highest (lowest) values. Series left without
// samples are dropped. An instant query has one step: span starts in
// [start, end], its rate per second of the whole range.
func (q *Querier) QueryRange(ctx context.Context, tenant string, req MetricsRequest) (MetricsResult, error) {
	if req.Query == nil || !req.Query.IsMetrics() {
		return MetricsResult{}, fmt.Errorf("%w: not a metrics query", ErrInvalidRequest)
	}
	m := req.Query.Metrics
	if m.Func == traceql.MetricsCompare {
		return MetricsResult{}, fmt.Errorf("%w: compare() is not supported yet", ErrInvalidRequest)
	}
	g, err := newGrid(req)
	if err != nil {
		return MetricsResult{}, err
	}
	agg := newAggregator(m, g, q.maxSeries)
	creq := metricsCandidates(req.Query)
	creq.StartUnixNano, creq.EndUnixNano = g.searchRange()
	if err := creq.Compile(); err != nil {
		return MetricsResult{}, err
	}
	var res MetricsResult
	if q.spanPath && spanLocal(req.Query) {
		// Storage then builds only the fields the query reads.
		if p, ok := req.Query.Projection(); ok && q.project {
			creq.Projection = &p
		}
		if err := q.observeSpans(ctx, tenant, creq, req.Query, agg, &res); err != nil {
			return MetricsResult{}, err
		}
		res.Series = agg.result()
		return res, nil
	}
	err = q.searchNewestFirst(ctx, tenant, creq, func(match filter.Match) (bool, error) {
		if res.InspectedTraces%256 == 0 {
			if err := ctx.Err(); err != nil {
				return false, err
			}
		}
		spans, err := q.store.FindTrace(ctx, tenant, match.TraceID)
		if err != nil {
			return false, fmt.Errorf("fetch trace %s: %w", match.TraceID, err)
		}
		res.InspectedTraces++
		res.InspectedSpans += uint64(len(spans))
		if err := req.Query.Observe(spans, agg.fields, agg.observe); err != nil {
			return false, err
		}
		return agg.err == nil, agg.err
	})
	if err != nil {
		return MetricsResult{}, err
	}
	res.Series = agg.result()
	return res, nil
}

// metricsCandidates returns a search request that every span the query
// can return satisfies, so that a trace is a candidate exactly when it has
// such a span in the range: the conditions of a leading spanset filter
// (later pipeline stages only narrow its spans), or of the right-hand side
// of a structural operator, which returns right-hand spans. Other queries
// (&&, ||, the union operators) consider every trace in the range.
func metricsCandidates(tq *traceql.Query) filter.Request {
	if r := tq.Conditions(); len(r.Conditions) > 0 {
		return r
	}
	if tq.Pipeline == nil || len(tq.Pipeline.Stages) == 0 {
		return filter.Request{}
	}
	op, ok := tq.Pipeline.Stages[0].(*traceql.SpansetOperation)
	if !ok || op.Op < traceql.SpansetChild || op.Op > traceql.SpansetNotSibling {
		return filter.Request{}
	}
	return metricsCandidates(&traceql.Query{Pipeline: &traceql.Pipeline{Stages: []traceql.Stage{op.RHS}}})
}

// grid maps span start times to the steps of a query.
type grid struct {
	instant bool
	// lo and hi bound the counted span starts: lo < t ≤ hi for a range
	// query, lo ≤ t ≤ hi for an instant one.
	lo, hi uint64
	step   uint64
	n      int
}

func newGrid(req MetricsRequest) (grid, error) {
	end := req.EndUnixNano
	if end == 0 {
		end = uint64(time.Now().UnixNano())
	}
	start := req.StartUnixNano
	if start == 0 {
		start = end - min(end-1, uint64(DefaultMetricsRange))
	}
	if end <= start {
		return grid{}, fmt.Errorf("%w: end %s is not after start %s", ErrInvalidRequest, unixNano(end), unixNano(start))
	}
	if req.Instant {
		return grid{instant: true, lo: start, hi: end, step: end - start, n: 1}, nil
	}
	step := req.StepNano
	if step == 0 {
		step = DefaultMetricsStep(start, end)
	}
	if step < uint64(time.Millisecond) {
		return grid{}, fmt.Errorf("%w: step %s is below 1ms", ErrInvalidRequest, time.Duration(step))
	}
	first := ceilTo(start, step)
	last := ceilTo(end, step)
	if first == 0 || last == 0 {
		return grid{}, fmt.Errorf("%w: range too close to the end of time", ErrInvalidRequest)
	}
	n := (last-first)/step + 1
	if n > MaxMetricsIntervals {
		return grid{}, fmt.Errorf("%w: %d steps of %s over the range; at most %d: raise the step or shorten the range",
			ErrInvalidRequest, n, time.Duration(step), MaxMetricsIntervals)
	}
	return grid{lo: first - step, hi: last, step: step, n: int(n)}, nil
}

// ceilTo rounds t up to a multiple of step, or returns 0 on overflow.
func ceilTo(t, step uint64) uint64 {
	r := t % step
	if r == 0 {
		return t
	}
	if t > math.MaxUint64-(step-r) {
		return 0
	}
	return t + step - r
}

func unixNano(t uint64) string {
	return time.Unix(0, int64(min(t, math.MaxInt64))).UTC().Format(time.RFC3339Nano)
}

// searchRange is the span start range to search, inclusive.
func (g grid) searchRange() (uint64, uint64) {
	if g.instant {
		return g.lo, g.hi
	}
	return g.lo + 1, g.hi
}

// index returns the step of a span starting at t, or -1 outside the grid.
func (g grid) index(t uint64) int {
	if g.instant {
		if t < g.lo || t > g.hi {
			return -1
		}
		return 0
	}
	if t <= g.lo || t > g.hi {
		return -1
	}
	return int((t - g.lo - 1) / g.step)
}

// timestamp returns the time a step's sample is stamped with, in ms.
func (g grid) timestamp(i int) int64 {
	t := g.hi
	if !g.instant {
		t = g.lo + uint64(i+1)*g.step
	}
	return int64(t / uint64(time.Millisecond))
}

// seconds is the width of one step in seconds.
func (g grid) seconds() float64 { return float64(g.step) / float64(time.Second) }
