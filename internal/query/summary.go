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

// SearchSummaries runs a search and summarises each matched trace (reading
// the whole trace), keeping at most spansPerSet matched spans per trace
// (0 keeps all). Results are newest first.
func (q *Querier) SearchSummaries(ctx context.Context, tenant string, req filter.Request, spansPerSet int) ([]TraceSummary, error) {
	matches, err := q.Search(ctx, tenant, req)
	if err != nil {
		return nil, err
	}
	out := make([]TraceSummary, 0, len(matches))
	for _, m := range matches {
		spans, err := q.store.FindTrace(ctx, tenant, m.TraceID)
		if err != nil {
			return nil, fmt.Errorf("fetch trace %s: %w", m.TraceID, err)
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
		if spansPerSet > 0 && len(matched) > spansPerSet {
			matched = matched[:spansPerSet]
		}
		sum.Matched = matched
		out = append(out, sum)
	}
	return out, nil
}
