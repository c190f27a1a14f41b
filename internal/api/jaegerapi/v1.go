package jaegerapi

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"waymark/internal/api/apihttp"
	"waymark/internal/api/jaegerquery"
	"waymark/internal/model"
	"waymark/internal/query"
)

// services serves GET /api/services: data is the sorted service names and
// total their count.
func (h *handler) services(w http.ResponseWriter, r *http.Request, tenant string) error {
	names, err := h.serviceNames(r, tenant)
	if err != nil {
		return err
	}
	writeEnvelope(w, r, marshal(names), len(names), nil)
	return nil
}

func (h *handler) serviceNames(r *http.Request, tenant string) ([]string, error) {
	names, err := h.q.Services(r.Context(), tenant)
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	if names == nil {
		names = []string{}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// serviceOperations serves GET /api/services/{service}/operations: the
// unique operation names of the service, of every kind.
func (h *handler) serviceOperations(w http.ResponseWriter, r *http.Request, tenant string) error {
	ops, err := h.serviceOps(r, tenant, r.PathValue("service"))
	if err != nil {
		return err
	}
	names := make([]string, 0, len(ops))
	for _, op := range ops {
		names = append(names, op.Name)
	}
	names = slices.Compact(names)
	writeEnvelope(w, r, marshal(names), len(names), nil)
	return nil
}

// serviceOps returns the service's operations sorted by name then kind.
func (h *handler) serviceOps(r *http.Request, tenant, service string) ([]query.Operation, error) {
	ops, err := h.q.Operations(r.Context(), tenant, service)
	if err != nil {
		return nil, fmt.Errorf("list operations of %q: %w", service, err)
	}
	slices.SortFunc(ops, func(a, b query.Operation) int {
		if c := cmp.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return cmp.Compare(a.Kind, b.Kind)
	})
	return ops, nil
}

// parseKind parses an optional span kind filter ("" means any kind).
func parseKind(name, s string) (model.SpanKind, bool, error) {
	if s == "" {
		return 0, false, nil
	}
	k, ok := model.ParseSpanKind(s)
	if !ok {
		return 0, false, apihttp.BadRequest(paramError(name, fmt.Errorf("unknown span kind %q", s)))
	}
	return k, true, nil
}

// operation is one entry of GET /api/operations.
type operation = jaegerquery.Operation

// operations serves GET /api/operations?service=&spanKind=: data is
// [{"name","spanKind"}], an unspecified kind written as "".
func (h *handler) operations(w http.ResponseWriter, r *http.Request, tenant string) error {
	q := r.URL.Query()
	service := q.Get("service")
	if service == "" {
		return apihttp.BadRequest(errors.New("parameter 'service' is required"))
	}
	kind, filtered, err := parseKind("spanKind", q.Get("spanKind"))
	if err != nil {
		return err
	}
	ops, err := h.serviceOps(r, tenant, service)
	if err != nil {
		return err
	}
	out := make([]operation, 0, len(ops))
	for _, op := range ops {
		if filtered && op.Kind != kind {
			continue
		}
		k := op.Kind.String()
		if op.Kind == model.KindUnspecified {
			k = ""
		}
		out = append(out, operation{Name: op.Name, SpanKind: k})
	}
	writeEnvelope(w, r, marshal(out), len(out), nil)
	return nil
}

// search serves GET /api/traces: a search, or with traceID parameters a
// fetch by IDs in which unknown IDs are reported in errors[].
func (h *handler) search(w http.ResponseWriter, r *http.Request, tenant string) error {
	p, err := parseSearchParams(r.URL.Query(), h.now())
	if err != nil {
		return apihttp.BadRequest(err)
	}
	h.logUnits(r.Context(), "search", p.units)
	var (
		traces []query.Trace
		errs   []structuredError
	)
	if len(p.traceIDs) > 0 {
		// The store finds a trace wherever it lies: no time hints needed.
		res, err := h.q.FindTraces(r.Context(), tenant, p.traceIDs)
		if err != nil {
			return fmt.Errorf("find traces: %w", err)
		}
		traces = res.Traces
		if res.Warning != "" {
			// The IDs left out are not known to be missing.
			errs = append(errs, structuredError{Code: http.StatusPartialContent, Msg: res.Warning})
		} else {
			errs = notFound(p.traceIDs, traces)
		}
	} else {
		res, err := h.q.SearchTraces(r.Context(), tenant, p.req)
		if err != nil {
			return fmt.Errorf("search traces: %w", err)
		}
		traces = res.Traces
		if res.Warning != "" {
			// Jaeger reports a partial answer in errors[] beside the data.
			errs = append(errs, structuredError{Code: http.StatusPartialContent, Msg: res.Warning})
		}
	}
	h.writeTraces(w, r, traces, p.raw, errs)
	return nil
}

// notFound reports each of ids that is not among traces, as Jaeger lists
// unknown IDs in errors[].
func notFound(ids []model.TraceID, traces []query.Trace) []structuredError {
	found := make(map[model.TraceID]bool, len(traces))
	for i := range traces {
		found[traces[i].ID] = true
	}
	var errs []structuredError
	for _, id := range ids {
		if !found[id] {
			errs = append(errs, structuredError{Msg: query.ErrTraceNotFound.Error(), TraceID: id.String()})
			found[id] = true
		}
	}
	return errs
}

// writeTraces writes a 200 envelope holding traces in Jaeger UI form,
// streaming the data as it is encoded (or indented whole for prettyPrint).
func (h *handler) writeTraces(w http.ResponseWriter, r *http.Request, traces []query.Trace, raw bool, errs []structuredError) {
	if prettyPrint(r.URL.Query()) {
		var e uiEncoder
		writeEnvelope(w, r, e.appendTraces(nil, traces, raw), 0, errs)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	e := uiEncoder{out: w}
	buf := make([]byte, 0, flushSize+flushSize/2)
	buf = append(buf, `{"data":`...)
	buf = e.appendTraces(buf, traces, raw)
	buf = appendEnvelopeTail(buf, 0, errs)
	e.flush(buf, true)
	if e.outErr != nil {
		h.log.DebugContext(r.Context(), "write traces response", "err", e.outErr)
	}
}

// trace serves GET /api/traces/{traceID}: data is [trace], or a 404 error
// when the trace is unknown.
func (h *handler) trace(w http.ResponseWriter, r *http.Request, tenant string) error {
	id, err := model.ParseTraceID(r.PathValue("traceID"))
	if err != nil {
		return apihttp.BadRequest(paramError("traceID", err))
	}
	hints, err := parseTraceHints(r.URL.Query())
	if err != nil {
		return apihttp.BadRequest(err)
	}
	h.logUnits(r.Context(), "trace", hints.units)
	tr, err := h.findTrace(r.Context(), tenant, id, hints.start, hints.end)
	if err != nil {
		return err
	}
	h.writeTraces(w, r, []query.Trace{tr}, hints.raw, nil)
	return nil
}

// dependencyLink is one edge of GET /api/dependencies. ErrorCount (calls
// whose callee span failed) is Waymark's addition; Jaeger clients ignore it.
type dependencyLink struct {
	Parent     string `json:"parent"`
	Child      string `json:"child"`
	CallCount  uint64 `json:"callCount"`
	ErrorCount uint64 `json:"errorCount"`
}

// dependencies serves GET /api/dependencies?endTs=&lookback=&service= (ms):
// the edges of the window, duplicate edges summed, only those touching
// service when it is given.
func (h *handler) dependencies(w http.ResponseWriter, r *http.Request, tenant string) error {
	p, err := parseDepsParams(r.URL.Query(), h.now())
	if err != nil {
		return apihttp.BadRequest(err)
	}
	h.logUnits(r.Context(), "dependencies", p.units)
	deps, err := h.q.Dependencies(r.Context(), tenant, p.start, p.end)
	if err != nil {
		return fmt.Errorf("list dependencies: %w", err)
	}
	type edge struct{ parent, child string }
	sums := make(map[edge]*dependencyLink, len(deps))
	for _, d := range deps {
		if p.service != "" && d.Parent != p.service && d.Child != p.service {
			continue
		}
		l := sums[edge{d.Parent, d.Child}]
		if l == nil {
			l = &dependencyLink{Parent: d.Parent, Child: d.Child}
			sums[edge{d.Parent, d.Child}] = l
		}
		l.CallCount += d.CallCount
		l.ErrorCount += d.ErrorCount
	}
	out := make([]dependencyLink, 0, len(sums))
	for _, l := range sums {
		out = append(out, *l)
	}
	slices.SortFunc(out, func(a, b dependencyLink) int {
		if c := cmp.Compare(a.Parent, b.Parent); c != 0 {
			return c
		}
		return cmp.Compare(a.Child, b.Child)
	})
	writeEnvelope(w, r, marshal(out), 0, nil)
	return nil
}
