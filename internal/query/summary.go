package query

import (
	"context"
	"fmt"
	"slices"

	"waymark/internal/model"
	"waymark/internal/store/filter"
)

// ServiceStats counts the spans and error spans of one service in a trace.
type ServiceStats struct {
	SpanCount  int
	ErrorCount int
}

// TraceSummary describes one trace found by a search.
type TraceSummary struct {
	TraceID         model.TraceID
	RootServiceName string
	RootSpanName    string
	StartUnixNano   uint64
	DurationNano    uint64
	SpanCount       int
	ErrorCount      int
	ServiceStats    map[string]ServiceStats
	// Matched are the spans that satisfied the search, at most the requested
	// number per trace; MatchedCount counts all of them.
	Matched      []model.Span
	MatchedCount int
}

// Summarize computes a trace's summary from all its spans. The root is the
// span without a parent in the trace (the earliest if several), falling back
// to the earliest span when none is received yet.
func Summarize(id model.TraceID, spans []model.Span) TraceSummary {
	s := TraceSummary{TraceID: id, SpanCount: len(spans), ServiceStats: make(map[string]ServiceStats)}
	if len(spans) == 0 {
		return s
	}
	ids := make(map[model.SpanID]struct{}, len(spans))
	for i := range spans {
		ids[spans[i].SpanID] = struct{}{}
	}
	var root *model.Span
	var end uint64
	start := spans[0].StartTimeUnixNano
	for i := range spans {
		sp := &spans[i]
		start = min(start, sp.StartTimeUnixNano)
		end = max(end, sp.EndTimeUnixNano)
		st := s.ServiceStats[sp.ServiceName()]
		st.SpanCount++
		if sp.StatusCode == model.StatusError {
			st.ErrorCount++
			s.ErrorCount++
		}
		s.ServiceStats[sp.ServiceName()] = st
		_, parentHere := ids[sp.ParentSpanID]
		isRoot := sp.ParentSpanID.IsZero() || !parentHere
		if isRoot && (root == nil || !root.ParentSpanID.IsZero() && sp.ParentSpanID.IsZero() ||
			(root.ParentSpanID.IsZero() == sp.ParentSpanID.IsZero() && sp.StartTimeUnixNano < root.StartTimeUnixNano)) {
			root = sp
		}
	}
	if root == nil {
		root = &spans[0]
	}
	s.RootServiceName = root.ServiceName()
	s.RootSpanName = root.Name
	s.StartUnixNano = start
	if end > start {
		s.DurationNano = end - start
	}
	return s
}

// SummarySearch is the answer of SearchSummaries.
type SummarySearch struct {
	// Summaries describe the traces found, newest first.
	Summaries []TraceSummary
	// Warning is set when the span budget ended the search early: Summaries
	// then holds the newest matches that fitted. Empty when complete.
	Warning string
}

// SearchSummaries runs a search and summarises each matched trace (reading
// the whole trace), keeping at most spansPerSet matched spans per trace
// (0 keeps all). Results are newest first, at most req.Limit (0: all). The
// matched spans kept count against MaxSpansPerQuery; the search stops
// before a trace that would exceed it, and the answer carries a warning.
func (q *Querier) SearchSummaries(ctx context.Context, tenant string, req filter.Request, spansPerSet int) (SummarySearch, error) {
	if err := req.Compile(); err != nil {
		return SummarySearch{}, err
	}
	req = withDefaultRange(req, q.lookback)
	b := newBudget(q.maxQuerySpans)
	var out SummarySearch
	err := q.searchNewestFirst(ctx, tenant, req, func(m filter.Match) (bool, error) {
		keep := len(m.Spans)
		if spansPerSet > 0 {
			keep = min(keep, spansPerSet)
		}
		if !b.take(keep) {
			return false, nil
		}
		spans, err := q.store.FindTrace(ctx, tenant, m.TraceID)
		if err != nil {
			return false, fmt.Errorf("fetch trace %s: %w", m.TraceID, err)
		}
		sum := Summarize(m.TraceID, spans)
		matched := slices.Clone(m.Spans)
		slices.SortFunc(matched, func(a, b model.Span) int {
			switch {
			case a.StartTimeUnixNano < b.StartTimeUnixNano:
				return -1
			case a.StartTimeUnixNano > b.StartTimeUnixNano:
				return 1
			}
			return 0
		})
		sum.MatchedCount = len(matched)
		if keep < len(matched) {
			matched = slices.Clone(matched[:keep])
		}
		sum.Matched = matched
		out.Summaries = append(out.Summaries, sum)
		return req.Limit == 0 || len(out.Summaries) < req.Limit, nil
	})
	if err != nil {
		return SummarySearch{}, err
	}
	out.Warning = q.partial(ctx, tenant, "summaries", b, len(out.Summaries))
	return out, nil
}
