package jaegerquery

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"waymark/internal/model"
	"waymark/internal/query"
)

// TraceFinder looks a trace up by ID for one tenant; *query.Querier
// implements it.
type TraceFinder interface {
	// FindTrace returns the trace's spans (any order, cut to the query
	// layer's per-trace limit, which the Trace reports), or an error
	// wrapping query.ErrTraceNotFound. startUnixNano and endUnixNano hint
	// where the trace lies; 0 means no hint.
	FindTrace(ctx context.Context, tenant string, id model.TraceID, startUnixNano, endUnixNano uint64) (query.Trace, error)
}

// FindTrace looks a trace up with the client's time hints and, when the
// hinted lookup finds nothing, again without them: clients send hints in
// wrong units or too narrow. A trace with no spans is an error wrapping
// query.ErrTraceNotFound. A truncated trace is returned as such
// (query.Trace.Truncated): callers show its warning.
func FindTrace(ctx context.Context, f TraceFinder, tenant string, id model.TraceID, startUnixNano, endUnixNano uint64) (query.Trace, error) {
	t, err := f.FindTrace(ctx, tenant, id, startUnixNano, endUnixNano)
	if (startUnixNano != 0 || endUnixNano != 0) && (errors.Is(err, query.ErrTraceNotFound) || (err == nil && len(t.Spans) == 0)) {
		t, err = f.FindTrace(ctx, tenant, id, 0, 0)
	}
	if err != nil {
		return query.Trace{}, fmt.Errorf("find trace %s: %w", id, err)
	}
	if len(t.Spans) == 0 {
		return query.Trace{}, fmt.Errorf("find trace %s: %w", id, query.ErrTraceNotFound)
	}
	return t, nil
}

// Adjust prepares a trace for display, as Jaeger does unless raw traces
// are asked for: it sorts spans by start time (then span ID) and drops
// exact repeats of a span (same ID, name, times and service), which
// at-least-once delivery can store twice. It reorders spans in place and
// returns the kept prefix.
func Adjust(spans []model.Span) []model.Span {
	slices.SortFunc(spans, func(a, b model.Span) int {
		if c := cmp.Compare(a.StartTimeUnixNano, b.StartTimeUnixNano); c != 0 {
			return c
		}
		return slices.Compare(a.SpanID[:], b.SpanID[:])
	})
	return slices.CompactFunc(spans, func(a, b model.Span) bool {
		return a.SpanID == b.SpanID && a.StartTimeUnixNano == b.StartTimeUnixNano &&
			a.EndTimeUnixNano == b.EndTimeUnixNano && a.Name == b.Name && a.ServiceName() == b.ServiceName()
	})
}

// GroupByScope reorders spans, stably, so that spans sharing a resource are
// adjacent, and within a resource those sharing a scope, in the order each
// first appears. OTLP output then has one ResourceSpans per resource and
// one ScopeSpans per scope instead of one per run of spans. It returns
// spans itself when there is one resource and scope, else a new slice.
func GroupByScope(spans []model.Span) []model.Span {
	resRank := make(map[*model.Resource]int)
	scopeRank := make(map[*model.Scope]int)
	type rank struct{ res, scope, pos int }
	ranks := make([]rank, len(spans))
	for i := range spans {
		r, ok := resRank[spans[i].Resource]
		if !ok {
			r = len(resRank)
			resRank[spans[i].Resource] = r
		}
		s, ok := scopeRank[spans[i].Scope]
		if !ok {
			s = len(scopeRank)
			scopeRank[spans[i].Scope] = s
		}
		ranks[i] = rank{r, s, i}
	}
	if len(resRank) <= 1 && len(scopeRank) <= 1 {
		return spans
	}
	slices.SortFunc(ranks, func(a, b rank) int {
		if c := cmp.Compare(a.res, b.res); c != 0 {
			return c
		}
		if c := cmp.Compare(a.scope, b.scope); c != 0 {
			return c
		}
		return cmp.Compare(a.pos, b.pos)
	})
	out := make([]model.Span, len(spans))
	for i, r := range ranks {
		out[i] = spans[r.pos]
	}
	return out
}
