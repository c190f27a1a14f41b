package query

import (
	"context"
	"fmt"

	"waymark/internal/model"
	"waymark/internal/query/traceql"
	"waymark/internal/store/filter"
)

// TraceQLRequest is a TraceQL search.
type TraceQLRequest struct {
	Query *traceql.Query
	// StartUnixNano and EndUnixNano bound the span start times; 0 means the
	// default lookback ending now.
	StartUnixNano, EndUnixNano uint64
	// Limit is the number of traces wanted (default 20).
	Limit int
	// SpansPerSet caps the spans returned per spanset (default 3).
	SpansPerSet int
}

// TraceQLResult is one trace matched by a TraceQL search.
type TraceQLResult struct {
	TraceSummary
	// SpanSets are the spansets the query returned for the trace.
	SpanSets []traceql.Spanset
}

// TraceQLSearch is the answer of SearchTraceQL.
type TraceQLSearch struct {
	// Results are the matched traces, newest first.
	Results []TraceQLResult
	// Warning is set when the span budget ended the search early: Results
	// then holds the newest matches that fitted. Empty when complete.
	Warning string
}

// SearchTraceQL runs a TraceQL search: candidate traces come from the store
// through the query's pushdown conditions (newest first), each candidate's
// whole trace is evaluated, and the first Limit traces that match are
// returned with their spansets. The spans of the returned spansets count
// against MaxSpansPerQuery; the search stops before a trace that would
// exceed it, and the answer carries a warning.
func (q *Querier) SearchTraceQL(ctx context.Context, tenant string, r TraceQLRequest) (TraceQLSearch, error) {
	if r.Query == nil {
		return TraceQLSearch{}, fmt.Errorf("no query")
	}
	if r.Query.IsMetrics() {
		return TraceQLSearch{}, fmt.Errorf("a metrics query (%s) belongs on /api/metrics/query_range", r.Query)
	}
	if r.Limit <= 0 {
		r.Limit = 20
	}
	if r.SpansPerSet <= 0 {
		r.SpansPerSet = 3
	}
	req := Candidates(r.Query)
	req.StartUnixNano, req.EndUnixNano = r.StartUnixNano, r.EndUnixNano
	if err := req.Compile(); err != nil {
		return TraceQLSearch{}, err
	}
	req = withDefaultRange(req, q.lookback)
	// Candidates come a limit at a time; searchNewestFirst asks a window
	// for more when the query rejects some of them.
	req.Limit = r.Limit
	b := newBudget(q.maxQuerySpans)
	var out TraceQLSearch
	err := q.searchNewestFirst(ctx, tenant, req, func(m filter.Match) (bool, error) {
		spans, err := q.store.FindTrace(ctx, tenant, m.TraceID)
		if err != nil {
			return false, fmt.Errorf("fetch trace %s: %w", m.TraceID, err)
		}
		sets, err := r.Query.Eval(spans)
		if err != nil {
			return false, err
		}
		if len(sets) == 0 {
			return true, nil
		}
		res := TraceQLResult{TraceSummary: Summarize(m.TraceID, spans)}
		kept := 0
		for _, set := range sets {
			res.MatchedCount += len(set.Spans)
			if len(set.Spans) > r.SpansPerSet {
				set.Spans = set.Spans[:r.SpansPerSet]
			}
			kept += len(set.Spans)
			res.SpanSets = append(res.SpanSets, set)
		}
		if !b.take(kept) {
			return false, nil
		}
		detach(res.SpanSets, kept)
		out.Results = append(out.Results, res)
		return len(out.Results) < r.Limit, nil
	})
	if err != nil {
		return TraceQLSearch{}, err
	}
	out.Warning = q.partial(ctx, tenant, "traceql", b, len(out.Results))
	return out, nil
}

// Candidates returns a search request that every trace the query can match
// satisfies: some span in the trace matches it. For a single spanset filter
// that is the filter's own pushdown. For {A} op {B}, every operator but ||
// needs a span matching B in the trace (the structural ones, negated or not,
// return B spans), and && and the plain structural ones need an A span too,
// so the side with more pushdown conditions is used where both must hold.
func Candidates(tq *traceql.Query) filter.Request {
	if r := tq.Conditions(); len(r.Conditions) > 0 {
		return r
	}
	if tq.Pipeline == nil || len(tq.Pipeline.Stages) == 0 {
		return filter.Request{}
	}
	op, ok := tq.Pipeline.Stages[0].(*traceql.SpansetOperation)
	if !ok || op.Op == traceql.SpansetOr {
		return filter.Request{}
	}
	sides := []traceql.SpansetExpr{op.RHS}
	if op.Op <= traceql.SpansetSibling {
		sides = append(sides, op.LHS)
	}
	best := filter.Request{}
	for _, side := range sides {
		sub := &traceql.Query{Pipeline: &traceql.Pipeline{Stages: []traceql.Stage{side}}}
		if r := Candidates(sub); len(r.Conditions) > len(best.Conditions) {
			best = r
		}
	}
	return best
}

// detach copies the n spans the spansets point to into one new slice and
// points the spansets there, so that a result does not keep its whole
// trace alive.
func detach(sets []traceql.Spanset, n int) {
	held := make([]model.Span, 0, n)
	for _, set := range sets {
		for i := range set.Spans {
			held = append(held, *set.Spans[i].Span)
			set.Spans[i].Span = &held[len(held)-1]
		}
	}
}
