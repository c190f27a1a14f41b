package jaegerquery

import (
	"cmp"
	"slices"

	"waymark/internal/model"
)

// Summary describes one trace in a search result list: api_v3's
// TraceSummary. Its JSON form is an entry of /api/v3/trace-summaries, with
// nanosecond times as decimal strings, as in OTLP JSON.
type Summary struct {
	// TraceID is the trace ID in hex.
	TraceID string `json:"traceId"`
	// RootServiceName and RootOperationName describe the root span.
	RootServiceName   string `json:"rootServiceName"`
	RootOperationName string `json:"rootOperationName"`
	// MinStartTimeUnixNano and MaxEndTimeUnixNano bound the trace's spans.
	MinStartTimeUnixNano uint64 `json:"minStartTimeUnixNano,string"`
	MaxEndTimeUnixNano   uint64 `json:"maxEndTimeUnixNano,string"`
	// SpanCount counts the spans, ErrorSpanCount those with status error,
	// OrphanSpanCount those whose parent is not in the trace.
	SpanCount       int `json:"spanCount"`
	ErrorSpanCount  int `json:"errorSpanCount"`
	OrphanSpanCount int `json:"orphanSpanCount"`
	// Services breaks the counts down by service, sorted by name.
	Services []ServiceSummary `json:"services"`
}

// ServiceSummary counts one service's spans in a trace summary.
type ServiceSummary struct {
	// Name is the service name.
	Name string `json:"name"`
	// SpanCount counts the service's spans, ErrorSpanCount those with
	// status error.
	SpanCount      int `json:"spanCount"`
	ErrorSpanCount int `json:"errorSpanCount"`
}

// Summarize describes a non-empty trace. Its root is the earliest span
// without a parent; failing that the earliest orphan (a span whose parent is
// not in the trace); failing that the earliest span. Errors are spans with
// status error. Services are sorted by name.
func Summarize(spans []model.Span) Summary {
	present := make(map[model.SpanID]struct{}, len(spans))
	for i := range spans {
		present[spans[i].SpanID] = struct{}{}
	}
	sum := Summary{TraceID: spans[0].TraceID.String(), SpanCount: len(spans)}
	services := make(map[string]*ServiceSummary)
	const (
		rankNone = iota
		rankAny
		rankOrphan
		rankRoot
	)
	var root *model.Span
	rootRank := rankNone
	for i := range spans {
		s := &spans[i]
		if i == 0 || s.StartTimeUnixNano < sum.MinStartTimeUnixNano {
			sum.MinStartTimeUnixNano = s.StartTimeUnixNano
		}
		sum.MaxEndTimeUnixNano = max(sum.MaxEndTimeUnixNano, s.EndTimeUnixNano)
		rank := rankAny
		switch _, ok := present[s.ParentSpanID]; {
		case s.IsRoot():
			rank = rankRoot
		case !ok:
			rank = rankOrphan
			sum.OrphanSpanCount++
		}
		if rank > rootRank || (rank == rootRank && s.StartTimeUnixNano < root.StartTimeUnixNano) {
			root, rootRank = s, rank
		}
		name := s.ServiceName()
		svc := services[name]
		if svc == nil {
			svc = &ServiceSummary{Name: name}
			services[name] = svc
		}
		svc.SpanCount++
		if s.StatusCode == model.StatusError {
			svc.ErrorSpanCount++
			sum.ErrorSpanCount++
		}
	}
	sum.RootServiceName, sum.RootOperationName = root.ServiceName(), root.Name
	sum.Services = make([]ServiceSummary, 0, len(services))
	for _, svc := range services {
		sum.Services = append(sum.Services, *svc)
	}
	slices.SortFunc(sum.Services, func(a, b ServiceSummary) int { return cmp.Compare(a.Name, b.Name) })
	return sum
}
