package jaegerapi

import (
	"errors"
	"fmt"
	"net/http"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"waymark/internal/api/apihttp"
	"waymark/internal/api/jaegerquery"
	"waymark/internal/model"
	"waymark/internal/query"
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
	ops, err := h.serviceOps(r, tenant, service)
	if err != nil {
		return err
	}
	out := jaegerquery.V3Operations(ops, kind, filtered)
	writeJSON(w, http.StatusOK, marshal(struct {
		Operations []jaegerquery.Operation `json:"operations"`
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
	tr, err := h.findTrace(r.Context(), tenant, id, p.start, p.end)
	if err != nil {
		return err
	}
	// OTLP JSON has no place for a warning: a truncation goes in a header.
	if msg := tr.Warning(); msg != "" {
		apihttp.SetWarning(w.Header(), msg)
	}
	return writeOTLP(w, [][]model.Span{tr.Spans}, p.raw)
}

// v3Search serves GET /api/v3/traces: every matching trace merged into one
// OTLP JSON result, or, as in Jaeger, 404 "No traces found" when none match.
func (h *handler) v3Search(w http.ResponseWriter, r *http.Request, tenant string) error {
	res, raw, err := h.v3Find(r, tenant)
	if err != nil {
		return err
	}
	traces := setWarnings(w, res)
	if len(traces) == 0 {
		// Jaeger's exact message, capital letter included.
		return &apihttp.StatusError{Code: http.StatusNotFound, Err: errors.New("No traces found")}
	}
	return writeOTLP(w, traces, raw)
}

// v3Find parses an api_v3 search and runs it; it also reports whether raw
// traces were asked for.
func (h *handler) v3Find(r *http.Request, tenant string) (query.TraceSearch, bool, error) {
	p, err := parseV3SearchParams(r.URL.Query())
	if err != nil {
		return query.TraceSearch{}, false, apihttp.BadRequest(err)
	}
	res, err := h.q.SearchTraces(r.Context(), tenant, p.req)
	if err != nil {
		return query.TraceSearch{}, false, fmt.Errorf("search traces: %w", err)
	}
	return res, p.raw, nil
}

// setWarnings puts the warnings of a search answer (a partial search, and
// each truncated trace) in Warning headers, since api_v3's JSON has no
// place for them, and returns the traces' spans.
func setWarnings(w http.ResponseWriter, res query.TraceSearch) [][]model.Span {
	if res.Warning != "" {
		apihttp.SetWarning(w.Header(), res.Warning)
	}
	out := make([][]model.Span, len(res.Traces))
	for i := range res.Traces {
		if msg := res.Traces[i].Warning(); msg != "" {
			apihttp.SetWarning(w.Header(), res.Traces[i].ID.String()+": "+msg)
		}
		out[i] = res.Traces[i].Spans
	}
	return out
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
			spans = jaegerquery.Adjust(spans)
		}
		model.AppendToTraces(td, jaegerquery.GroupByScope(spans))
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
	res, raw, err := h.v3Find(r, tenant)
	if err != nil {
		return err
	}
	// A truncated trace is summarised from the spans kept (its warning
	// says so), except for its span count, which is the stored one.
	out := make([]jaegerquery.Summary, 0, len(res.Traces))
	for i, spans := range setWarnings(w, res) {
		if !raw {
			spans = jaegerquery.Adjust(spans)
		}
		if len(spans) > 0 {
			s := jaegerquery.Summarize(spans)
			if res.Traces[i].Truncated() {
				s.SpanCount = res.Traces[i].StoredSpans
			}
			out = append(out, s)
		}
	}
	writeJSON(w, http.StatusOK, marshal(struct {
		Summaries []jaegerquery.Summary `json:"summaries"`
	}{out}))
	return nil
}
