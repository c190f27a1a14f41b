package jaegerapi

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"waymark/internal/api/apihttp"
	"waymark/internal/model"
)

// v3Services serves GET /api/v3/services: {"services":[…]}.
func (h *handler) v3Services(w http.ResponseWriter, r *http.Request, tenant string) error {
	names, err := h.serviceNames(r, tenant)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, marshal(struct {
		Services []string `json:"services"`
	}{names}))
	return nil
}

// v3Operations serves GET /api/v3/operations?service=&spanKind=:
// {"operations":[{"name","spanKind"}]}. As in Jaeger, an unspecified kind is
// reported as internal, and so a spanKind=internal filter matches both.
func (h *handler) v3Operations(w http.ResponseWriter, r *http.Request, tenant string) error {
	q := r.URL.Query()
	service := q.Get("service")
	if service == "" {
		return apihttp.BadRequest(errors.New("parameter service is required"))
	}
	kindName, kindValue := getParam(q, "spanKind", "span_kind")
	kind, filtered, err := parseKind(kindName, kindValue)
	if err != nil {
		return err
	}
	if kind == model.KindUnspecified {
		kind = model.KindInternal
	}
	ops, err := h.serviceOps(r, tenant, service)
	if err != nil {
		return err
	}
	out := make([]operation, 0, len(ops))
	for _, op := range ops {
		k := op.Kind
		if k == model.KindUnspecified {
			k = model.KindInternal
		}
		if filtered && k != kind {
			continue
		}
		o := operation{Name: op.Name, SpanKind: k.String()}
		if n := len(out); n > 0 && out[n-1] == o {
			continue
		}
		out = append(out, o)
	}
	writeJSON(w, http.StatusOK, marshal(struct {
		Operations []operation `json:"operations"`
	}{out}))
	return nil
}

// v3Trace serves GET /api/v3/traces/{traceID}: {"result":{"resourceSpans":…}}
// in OTLP JSON, or 404.
func (h *handler) v3Trace(w http.ResponseWriter, r *http.Request, tenant string) error {
	id, err := model.ParseTraceID(r.PathValue("traceID"))
	if err != nil {
		return apihttp.BadRequest(paramError("trace_id", err))
	}
	p, err := parseV3TraceParams(r.URL.Query())
	if err != nil {
		return apihttp.BadRequest(err)
	}
	spans, err := h.findTrace(r.Context(), tenant, id, p.start, p.end)
	if err != nil {
		return err
	}
	return writeOTLP(w, [][]model.Span{spans}, p.raw)
}

// v3Search serves GET /api/v3/traces: every matching trace merged into one
// OTLP JSON result, or, as in Jaeger, 404 "No traces found" when none match.
func (h *handler) v3Search(w http.ResponseWriter, r *http.Request, tenant string) error {
	traces, raw, err := h.v3Find(r, tenant)
	if err != nil {
		return err
	}
	if len(traces) == 0 {
		// Jaeger's exact message, capital letter included.
		return &apihttp.StatusError{Code: http.StatusNotFound, Err: errors.New("No traces found")}
	}
	return writeOTLP(w, traces, raw)
}

// v3Find parses an api_v3 search and runs it; it also reports whether raw
// traces were asked for.
func (h *handler) v3Find(r *http.Request, tenant string) ([][]model.Span, bool, error) {
	p, err := parseV3SearchParams(r.URL.Query())
	if err != nil {
		return nil, false, apihttp.BadRequest(err)
	}
	traces, err := h.q.SearchTraces(r.Context(), tenant, p.req)
	if err != nil {
		return nil, false, fmt.Errorf("search traces: %w", err)
	}
	return traces, p.raw, nil
}

// writeOTLP writes traces as {"result":{"resourceSpans":[…]}} in OTLP JSON
// (hex IDs, integer enums, 64-bit integers as strings).
func writeOTLP(w http.ResponseWriter, traces [][]model.Span, raw bool) error {
	body, err := appendOTLPResult(nil, traces, raw)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// appendOTLPResult appends {"result":<OTLP JSON of traces>}; spans of one
// resource and scope are grouped, and each trace is adjusted unless raw.
func appendOTLPResult(dst []byte, traces [][]model.Span, raw bool) ([]byte, error) {
	td := ptrace.NewTraces()
	for _, spans := range traces {
		if !raw {
			spans = adjust(spans)
		}
		model.AppendToTraces(td, groupByScope(spans))
	}
	var m ptrace.JSONMarshaler
	b, err := m.MarshalTraces(td)
	if err != nil {
		return nil, fmt.Errorf("encode otlp json: %w", err)
	}
	dst = append(dst, `{"result":`...)
	dst = append(dst, b...)
	return append(dst, '}'), nil
}

// v3Summaries serves GET /api/v3/trace-summaries: {"summaries":[…]}, one
// per matching trace, newest first; an empty search gives an empty list.
// Repeated spans are counted once unless raw traces are asked for.
func (h *handler) v3Summaries(w http.ResponseWriter, r *http.Request, tenant string) error {
	traces, raw, err := h.v3Find(r, tenant)
	if err != nil {
		return err
	}
	out := make([]traceSummary, 0, len(traces))
	for _, spans := range traces {
		if !raw {
			spans = adjust(spans)
		}
		if len(spans) > 0 {
			out = append(out, summarize(spans))
		}
	}
	writeJSON(w, http.StatusOK, marshal(struct {
		Summaries []traceSummary `json:"summaries"`
	}{out}))
	return nil
}

// traceSummary is one entry of /api/v3/trace-summaries. Nanosecond times
// are decimal strings, as in OTLP JSON.
type traceSummary struct {
	TraceID              string           `json:"traceId"`
	RootServiceName      string           `json:"rootServiceName"`
	RootOperationName    string           `json:"rootOperationName"`
	MinStartTimeUnixNano uint64           `json:"minStartTimeUnixNano,string"`
	MaxEndTimeUnixNano   uint64           `json:"maxEndTimeUnixNano,string"`
	SpanCount            int              `json:"spanCount"`
	ErrorSpanCount       int              `json:"errorSpanCount"`
	OrphanSpanCount      int              `json:"orphanSpanCount"`
	Services             []serviceSummary `json:"services"`
}

// serviceSummary counts one service's spans in a trace summary.
type serviceSummary struct {
	Name           string `json:"name"`
	SpanCount      int    `json:"spanCount"`
	ErrorSpanCount int    `json:"errorSpanCount"`
}

// summarize describes a non-empty trace. Its root is the earliest span
// without a parent; failing that the earliest orphan (a span whose parent is
// not in the trace); failing that the earliest span. Errors are spans with
// status error. Services are sorted by name.
func summarize(spans []model.Span) traceSummary {
	present := make(map[model.SpanID]struct{}, len(spans))
	for i := range spans {
		present[spans[i].SpanID] = struct{}{}
	}
	sum := traceSummary{TraceID: spans[0].TraceID.String(), SpanCount: len(spans)}
	services := make(map[string]*serviceSummary)
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
			svc = &serviceSummary{Name: name}
			services[name] = svc
		}
		svc.SpanCount++
		if s.StatusCode == model.StatusError {
			svc.ErrorSpanCount++
			sum.ErrorSpanCount++
		}
	}
	sum.RootServiceName, sum.RootOperationName = root.ServiceName(), root.Name
	sum.Services = make([]serviceSummary, 0, len(services))
	for _, svc := range services {
		sum.Services = append(sum.Services, *svc)
	}
	slices.SortFunc(sum.Services, func(a, b serviceSummary) int { return cmp.Compare(a.Name, b.Name) })
	return sum
}
