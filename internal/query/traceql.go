package query

import (
	"context"
	"fmt"

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

// SearchTraceQL runs a TraceQL search: candidate traces come from the store
// through the query's pushdown conditions (newest first), each candidate's
// whole trace is evaluated, and the first Limit traces that match are
// returned with their spansets.
func (q *Querier) SearchTraceQL(ctx context.Context, tenant string, r TraceQLRequest) ([]TraceQLResult, error) {
	if r.Query == nil {
		return nil, fmt.Errorf("no query")
	}
	if r.Query.IsMetrics() {
		return nil, fmt.Errorf("a metrics query (%s) belongs on /api/metrics/query_range", r.Query)
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
		return nil, err
	}
	req = withDefaultRange(req, q.lookback)
	// Candidates come a limit at a time; searchNewestFirst asks a window
	// for more when the query rejects some of them.
	req.Limit = r.Limit
	var out []TraceQLResult
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
		for _, set := range sets {
			res.MatchedCount += len(set.Spans)
			if len(set.Spans) > r.SpansPerSet {
				set.Spans = set.Spans[:r.SpansPerSet]
			}
			res.SpanSets = append(res.SpanSets, set)
		}
		out = append(out, res)
		return len(out) < r.Limit, nil
	})
	if err != nil {
		return nil, err
	}
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
