package query

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"waymark/internal/query/traceql"
	"waymark/internal/store/filter"
)

// spanWindow is the span start range one storage read covers on the span
// path; it bounds the matched spans held in memory at once.
const spanWindow = uint64(firstWindow)

// spanLocal reports whether a metrics query decides each span alone: its
// search part is one spanset filter, and no field that the filter, by()
// or the function reads depends on other spans of the trace (the
// trace-level intrinsics and span:childCount do).
func spanLocal(tq *traceql.Query) bool {
	if tq.Pipeline == nil || len(tq.Pipeline.Stages) != 1 {
		return false
	}
	f, ok := tq.Pipeline.Stages[0].(*traceql.SpansetFilter)
	if !ok || !localExpr(f.Expr) {
		return false
	}
	m := tq.Metrics
	for _, by := range m.By {
		if !localField(by) {
			return false
		}
	}
	return m.Field == nil || localField(m.Field)
}

func localExpr(x traceql.Expr) bool {
	switch x := x.(type) {
	case nil, *traceql.Static:
		return true
	case *traceql.Field:
		return localField(x)
	case *traceql.UnaryExpr:
		return localExpr(x.Expr)
	case *traceql.BinaryExpr:
		return localExpr(x.LHS) && localExpr(x.RHS)
	}
	return false
}

func localField(f *traceql.Field) bool {
	switch f.Intrinsic {
	case traceql.IntrinsicTraceDuration, traceql.IntrinsicTraceRootName, traceql.IntrinsicTraceRootService,
		traceql.IntrinsicChildCount:
		return false
	}
	return true
}

// observeSpans feeds agg every span in req's range that matches req's
// conditions and the query, reading storage a window at a time, with one
// worker per CPU each folding its windows into its own aggregator, merged
// into agg at the end. Each window's spans come merged per trace from
// every source, so a span is seen once however its trace is stored.
func (q *Querier) observeSpans(ctx context.Context, tenant string, req filter.Request, tq *traceql.Query, agg *aggregator, res *MetricsResult) error {
	windows := spanWindows(req)
	workers := max(min(runtime.GOMAXPROCS(0), len(windows)), 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	parts := make([]*aggregator, workers)
	stats := make([]MetricsResult, workers)
	errs := make([]error, workers)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		parts[w] = agg
		if w > 0 {
			parts[w] = newAggregator(agg.m, agg.g, agg.maxSeries)
		}
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(windows); i = int(next.Add(1) - 1) {
				if err := q.observeWindow(ctx, tenant, windows[i], tq, parts[w], &stats[w]); err != nil {
					errs[w] = err
					cancel()
					return
				}
			}
		})
	}
	wg.Wait()
	if err := firstError(errs); err != nil {
		return err
	}
	for w := range workers {
		res.InspectedTraces += stats[w].InspectedTraces
		res.InspectedSpans += stats[w].InspectedSpans
		if w > 0 {
			agg.merge(parts[w])
		}
	}
	return agg.err
}

// spanWindows cuts req's range into requests of spanWindow each.
func spanWindows(req filter.Request) []filter.Request {
	var out []filter.Request
	for from := req.StartUnixNano; ; {
		w := req
		w.StartUnixNano = from
		if req.EndUnixNano-from >= spanWindow {
			w.EndUnixNano = from + spanWindow - 1
		}
		out = append(out, w)
		if w.EndUnixNano == req.EndUnixNano {
			return out
		}
		from = w.EndUnixNano + 1
	}
}

// observeWindow feeds agg the matching spans of one window. With a
// projection, matches and their spans are valid only during the callback,
// which agg respects: it keeps values, not spans.
func (q *Querier) observeWindow(ctx context.Context, tenant string, w filter.Request, tq *traceql.Query, agg *aggregator, res *MetricsResult) error {
	search := func(fn func(filter.Match) bool) error { return q.store.SearchSpans(ctx, tenant, w, fn) }
	return searchEach(search, func(m filter.Match) error {
		res.InspectedTraces++
		res.InspectedSpans += uint64(len(m.Spans))
		if err := tq.Observe(m.Spans, agg.fields, agg.observe); err != nil {
			return fmt.Errorf("trace %s: %w", m.TraceID, err)
		}
		return agg.err
	})
}

// firstError returns the first error that is not a cancellation, or else
// the first error: workers stopped because another failed report
// context.Canceled, which must not hide the cause.
func firstError(errs []error) error {
	var first error
	for _, err := range errs {
		if err == nil {
			continue
		}
		if !errors.Is(err, context.Canceled) {
			return err
		}
		if first == nil {
			first = err
		}
	}
	return first
}

// searchEach runs a store search with fn, stopping at fn's first error and
// returning it.
func searchEach(search func(func(filter.Match) bool) error, fn func(filter.Match) error) error {
	var ferr error
	if err := search(func(m filter.Match) bool {
		ferr = fn(m)
		return ferr == nil
	}); err != nil {
		return err
	}
	return ferr
}
