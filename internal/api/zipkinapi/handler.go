package zipkinapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"waymark/internal/api/apihttp"
	"waymark/internal/api/jsonenc"
	"waymark/internal/model"
	"waymark/internal/query"
	"waymark/internal/store/filter"
	"waymark/internal/store/summary"
)

// Querier answers the reads behind the Zipkin API for one tenant at a time.
// It must be safe for concurrent use. The handler owns the slices it
// returns and may reorder them. *query.Querier implements it.
type Querier interface {
	// FindTrace returns the trace's spans (any order), cut to the query
	// layer's per-trace limit, or an error wrapping query.ErrTraceNotFound.
	// startUnixNano and endUnixNano hint where the trace lies; 0 means no
	// hint. Zipkin's JSON has no place for the truncation warning; the
	// query layer logs and counts it.
	FindTrace(ctx context.Context, tenant string, id model.TraceID, startUnixNano, endUnixNano uint64) (query.Trace, error)
	// FindTraces returns the traces of ids that exist, in the order of
	// ids, as many as the query's span budget holds.
	FindTraces(ctx context.Context, tenant string, ids []model.TraceID) (query.TraceSearch, error)
	// Search returns the traces in which one span matches req, newest
	// first, at most req.Limit, each with the spans that matched, and a
	// warning when the query layer's span budget cut it short.
	Search(ctx context.Context, tenant string, req filter.Request) (query.MatchSearch, error)
	// Services returns the tenant's service names, sorted.
	Services(ctx context.Context, tenant string) ([]string, error)
	// Operations returns the service's operations, sorted by name then kind.
	Operations(ctx context.Context, tenant, service string) ([]query.Operation, error)
	// Dependencies returns the service call edges seen between the two
	// times (Unix ns).
	Dependencies(ctx context.Context, tenant string, startUnixNano, endUnixNano uint64) ([]query.Dependency, error)
	// Tags returns the attribute keys and values seen between the two
	// times (Unix ns), by scope.
	Tags(ctx context.Context, tenant string, startUnixNano, endUnixNano uint64) (summary.Tags, error)
}

// DefaultLookback is Zipkin's default query lookback (QUERY_LOOKBACK).
const DefaultLookback = 24 * time.Hour

// Options configures the handler. The zero value is usable.
type Options struct {
	// DefaultTenant serves requests that carry no X-Scope-OrgID header;
	// empty means model.DefaultTenant.
	DefaultTenant string
	// Lookback is how far back /traces (without lookback), /remoteServices
	// and autocomplete look, and the default lookback of /dependencies;
	// zero means DefaultLookback.
	Lookback time.Duration
	// Timeout bounds each request's reads; zero means no bound.
	Timeout time.Duration
	// Logger receives internal errors; nil discards them.
	Logger *slog.Logger
	// Registerer receives the handler's metrics; nil means no metrics.
	Registerer prometheus.Registerer
}

// NewHandler returns the handler of the Zipkin v2 query API. It serves the
// GET routes under /api/v2/ and a plain 404 for any other GET path there;
// mount it beside the Zipkin receiver, which owns POST /api/v2/spans.
func NewHandler(q Querier, opts Options) http.Handler {
	return newHandler(q, opts)
}

type handler struct {
	q             Querier
	defaultTenant string
	lookback      time.Duration
	timeout       time.Duration
	log           *slog.Logger
	metrics       *apihttp.Metrics
	now           func() time.Time
	mux           *http.ServeMux
}

func newHandler(q Querier, opts Options) *handler {
	h := &handler{
		q:             q,
		defaultTenant: opts.DefaultTenant,
		lookback:      opts.Lookback,
		timeout:       opts.Timeout,
		log:           opts.Logger,
		now:           time.Now,
		mux:           http.NewServeMux(),
	}
	if h.defaultTenant == "" {
		h.defaultTenant = model.DefaultTenant
	}
	if h.lookback <= 0 {
		h.lookback = DefaultLookback
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.metrics = apihttp.NewMetrics(opts.Registerer, "zipkinapi", "Zipkin query API", h.log)

	h.route("GET /api/v2/services", "services", h.services)
	h.route("GET /api/v2/spans", "spans", h.spanNames)
	h.route("GET /api/v2/remoteServices", "remote_services", h.remoteServices)
	h.route("GET /api/v2/traces", "traces", h.traces)
	h.route("GET /api/v2/trace/{traceId}", "trace", h.trace)
	h.route("GET /api/v2/traceMany", "trace_many", h.traceMany)
	h.route("GET /api/v2/dependencies", "dependencies", h.dependencies)
	h.route("GET /api/v2/autocompleteKeys", "autocomplete_keys", h.autocompleteKeys)
	h.route("GET /api/v2/autocompleteValues", "autocomplete_values", h.autocompleteValues)
	h.mux.Handle("GET /api/v2/", h.metrics.Instrument("unmatched", http.HandlerFunc(http.NotFound)))
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mux.ServeHTTP(w, r)
}

// routeFunc serves one route for a resolved tenant and returns the JSON
// body; an error it returns is answered in plain text.
type routeFunc func(r *http.Request, tenant string) ([]byte, error)

func (h *handler) route(pattern, name string, f routeFunc) {
	h.mux.Handle(pattern, h.metrics.Instrument(name, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.timeout > 0 {
			ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
			defer cancel()
			r = r.WithContext(ctx)
		}
		tenant, err := apihttp.Tenant(r, h.defaultTenant, apihttp.HeaderTenant)
		var body []byte
		if err == nil {
			body, err = f(r, tenant)
		}
		if err != nil {
			h.writeError(w, r, name, tenant, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	})))
}

// writeError answers err in plain text, as Zipkin does.
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, route, tenant string, err error) {
	code := apihttp.StatusOf(err)
	apihttp.LogError(h.log, r, "zipkin api", route, tenant, code, err)
	apihttp.SetRetryAfter(w, err)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = fmt.Fprintln(w, err.Error())
}

// requiredParam returns the non-empty query parameter key.
func requiredParam(r *http.Request, key string) (string, error) {
	v := r.URL.Query().Get(key)
	if v == "" {
		return "", apihttp.BadRequest(fmt.Errorf("%s is required", key))
	}
	return v, nil
}

func (h *handler) services(r *http.Request, tenant string) ([]byte, error) {
	names, err := h.q.Services(r.Context(), tenant)
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	return jsonenc.AppendStrings(nil, sortedUnique(names)), nil
}

func (h *handler) spanNames(r *http.Request, tenant string) ([]byte, error) {
	service, err := requiredParam(r, "serviceName")
	if err != nil {
		return nil, err
	}
	ops, err := h.q.Operations(r.Context(), tenant, service)
	if err != nil {
		return nil, fmt.Errorf("list span names of %s: %w", service, err)
	}
	names := make([]string, len(ops))
	for i, op := range ops {
		names[i] = op.Name
	}
	return jsonenc.AppendStrings(nil, sortedUnique(names)), nil
}

func (h *handler) trace(r *http.Request, tenant string) ([]byte, error) {
	id, err := parseTraceID(r.PathValue("traceId"))
	if err != nil {
		return nil, apihttp.BadRequest(err)
	}
	spans, err := h.findTrace(r.Context(), tenant, id)
	if err != nil {
		return nil, err
	}
	var e encoder
	return e.appendTrace(nil, spans), nil
}

func (h *handler) traceMany(r *http.Request, tenant string) ([]byte, error) {
	ids, err := parseTraceIDs(r.URL.Query().Get("traceIds"))
	if err != nil {
		return nil, apihttp.BadRequest(err)
	}
	traces, err := h.findTraces(r.Context(), tenant, ids)
	if err != nil {
		return nil, err
	}
	var e encoder
	return e.appendTraces(nil, traces), nil
}

// findTrace returns a trace's spans or an error wrapping
// query.ErrTraceNotFound.
func (h *handler) findTrace(ctx context.Context, tenant string, id model.TraceID) ([]model.Span, error) {
	tr, err := h.q.FindTrace(ctx, tenant, id, 0, 0)
	if err == nil && len(tr.Spans) == 0 {
		err = query.ErrTraceNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("find trace %s: %w", id, err)
	}
	return tr.Spans, nil
}

// findTraces returns the traces of ids that exist, in the order of ids, as
// many as the query's span budget holds (the query layer logs a cut).
func (h *handler) findTraces(ctx context.Context, tenant string, ids []model.TraceID) ([][]model.Span, error) {
	res, err := h.q.FindTraces(ctx, tenant, ids)
	if err != nil {
		return nil, fmt.Errorf("find traces: %w", err)
	}
	traces := make([][]model.Span, 0, len(res.Traces))
	for i := range res.Traces {
		traces = append(traces, res.Traces[i].Spans)
	}
	return traces, nil
}

func (h *handler) dependencies(r *http.Request, tenant string) ([]byte, error) {
	win, err := parseWindow(r.URL.Query(), h.now(), h.lookback, true)
	if err != nil {
		return nil, apihttp.BadRequest(err)
	}
	deps, err := h.q.Dependencies(r.Context(), tenant, win.start, win.end)
	if err != nil {
		return nil, fmt.Errorf("dependencies: %w", err)
	}
	return appendDependencies(nil, deps), nil
}

// appendDependencies appends Zipkin dependency links.
func appendDependencies(dst []byte, deps []query.Dependency) []byte {
	dst = append(dst, '[')
	for i, d := range deps {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"parent":`...)
		dst = jsonenc.AppendString(dst, d.Parent)
		dst = append(dst, `,"child":`...)
		dst = jsonenc.AppendString(dst, d.Child)
		dst = append(dst, `,"callCount":`...)
		dst = strconv.AppendUint(dst, d.CallCount, 10)
		dst = append(dst, `,"errorCount":`...)
		dst = strconv.AppendUint(dst, d.ErrorCount, 10)
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// tagScopes are the summary scopes whose keys annotationQuery can match.
var tagScopes = []string{summary.ScopeSpan, summary.ScopeResource}

func (h *handler) recentTags(ctx context.Context, tenant string) (summary.Tags, error) {
	now := uint64(max(0, h.now().UnixNano()))
	start := uint64(1)
	if lb := uint64(h.lookback); lb < now {
		start = now - lb
	}
	tags, err := h.q.Tags(ctx, tenant, start, now)
	if err != nil {
		return nil, fmt.Errorf("list tags: %w", err)
	}
	return tags, nil
}

func (h *handler) autocompleteKeys(r *http.Request, tenant string) ([]byte, error) {
	tags, err := h.recentTags(r.Context(), tenant)
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, scope := range tagScopes {
		for k := range tags[scope] {
			if k != attrServiceName {
				keys = append(keys, k)
			}
		}
	}
	return jsonenc.AppendStrings(nil, sortedUnique(keys)), nil
}

func (h *handler) autocompleteValues(r *http.Request, tenant string) ([]byte, error) {
	key, err := requiredParam(r, "key")
	if err != nil {
		return nil, err
	}
	tags, err := h.recentTags(r.Context(), tenant)
	if err != nil {
		return nil, err
	}
	var values []string
	for _, scope := range tagScopes {
		if tv := tags[scope][key]; tv != nil {
			for v := range tv.Values {
				values = append(values, v.AsString())
			}
		}
	}
	return jsonenc.AppendStrings(nil, sortedUnique(values)), nil
}

// sortedUnique sorts ss and drops repeats, in place.
func sortedUnique(ss []string) []string {
	slices.Sort(ss)
	return slices.Compact(ss)
}
