package uiapi

import (
	"cmp"
	"slices"

	"waymark/internal/model"
	"waymark/internal/store/filter"
)

// RED is the request rate, error rate and latency of a set of spans.
type RED struct {
	Count     int     `json:"count"`
	Errors    int     `json:"errorCount"`
	Rate      float64 `json:"ratePerSecond"`
	ErrorRate float64 `json:"errorRate"`
	Latency
}

// OperationStats is the RED figures of one span name and kind in a service.
type OperationStats struct {
	Name string `json:"name"`
	Kind string `json:"spanKind"`
	RED
}

// ServiceStat is the RED figures of one service, computed over its entry
// spans (a span whose parent is absent or belongs to another service), and
// of each of its operations over all their spans.
type ServiceStat struct {
	Service    string           `json:"service"`
	Entry      RED              `json:"entry"`
	Operations []OperationStats `json:"operations"`
}

// ServiceStats is the answer of the service-stats endpoint.
type ServiceStats struct {
	Services []ServiceStat `json:"services"`
	// WindowSeconds is the length of the queried time range that rates are
	// computed over.
	WindowSeconds float64 `json:"windowSeconds"`
	Traces        int     `json:"traces"`
	Truncated     bool    `json:"truncated"`
}

type redAcc struct {
	errors    int
	durations []uint64
}

func (a *redAcc) add(s *model.Span) {
	a.durations = append(a.durations, s.DurationNano())
	if isError(s) {
		a.errors++
	}
}

func (a *redAcc) red(windowSeconds float64) RED {
	n := len(a.durations)
	r := RED{Count: n, Errors: a.errors, ErrorRate: rate(a.errors, n), Latency: latencyOf(a.durations)}
	if windowSeconds > 0 {
		r.Rate = float64(n) / windowSeconds
	}
	return r
}

type opKey struct {
	name string
	kind model.SpanKind
}

type serviceAcc struct {
	entry redAcc
	ops   map[opKey]*redAcc
}

// ServiceStatsOf computes per-service and per-operation RED figures from the
// matched spans of matches, with rates over a window of windowSeconds.
// Services sort by name; operations by name, then kind.
func ServiceStatsOf(matches []filter.Match, windowSeconds float64) ServiceStats {
	services := make(map[string]*serviceAcc)
	spanService := make(map[model.SpanID]string)
	for mi := range matches {
		spans := matches[mi].Spans
		clear(spanService)
		for i := range spans {
			spanService[spans[i].SpanID] = spans[i].ServiceName()
		}
		for i := range spans {
			s := &spans[i]
			svc := s.ServiceName()
			acc := services[svc]
			if acc == nil {
				acc = &serviceAcc{ops: make(map[opKey]*redAcc)}
				services[svc] = acc
			}
			k := opKey{s.Name, s.Kind}
			op := acc.ops[k]
			if op == nil {
				op = &redAcc{}
				acc.ops[k] = op
			}
			op.add(s)
			if parentSvc, ok := spanService[s.ParentSpanID]; s.ParentSpanID.IsZero() || !ok || parentSvc != svc {
				acc.entry.add(s)
			}
		}
	}
	out := ServiceStats{WindowSeconds: windowSeconds, Traces: len(matches), Services: make([]ServiceStat, 0, len(services))}
	for name, acc := range services {
		st := ServiceStat{Service: name, Entry: acc.entry.red(windowSeconds), Operations: make([]OperationStats, 0, len(acc.ops))}
		for k, op := range acc.ops {
			st.Operations = append(st.Operations, OperationStats{Name: k.name, Kind: k.kind.String(), RED: op.red(windowSeconds)})
		}
		slices.SortFunc(st.Operations, func(a, b OperationStats) int {
			return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Kind, b.Kind))
		})
		out.Services = append(out.Services, st)
	}
	slices.SortFunc(out.Services, func(a, b ServiceStat) int { return cmp.Compare(a.Service, b.Service) })
	return out
}
