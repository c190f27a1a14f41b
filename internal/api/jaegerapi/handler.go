package jaegerapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"waymark/internal/model"
	"waymark/internal/query"
	"waymark/internal/store/filter"
)

// Querier answers the reads behind the Jaeger API for one tenant at a time.
// It must be safe for concurrent use. The handler owns the slices it returns
// and may reorder them.
type Querier interface {
	// FindTrace returns every span of the trace (any order), or an error
	// wrapping query.ErrTraceNotFound. startUnixNano and endUnixNano hint
	// where the trace lies; 0 means no hint.
	FindTrace(ctx context.Context, tenant string, id model.TraceID, startUnixNano, endUnixNano uint64) ([]model.Span, error)
	// SearchTraces returns whole traces matching req, newest first, at most
	// req.Limit. req holds only equality and inequality conditions, never
	// regular expressions.
	SearchTraces(ctx context.Context, tenant string, req filter.Request) ([][]model.Span, error)
	// Services returns the tenant's service names, sorted.
	Services(ctx context.Context, tenant string) ([]string, error)
	// Operations returns the service's operations, sorted by name then kind.
	Operations(ctx context.Context, tenant, service string) ([]query.Operation, error)
	// Dependencies returns the service call edges seen between the two
	// times (Unix ns).
	Dependencies(ctx context.Context, tenant string, startUnixNano, endUnixNano uint64) ([]query.Dependency, error)
}

// Options configures the handler. The zero value is usable.
type Options struct {
	// DefaultTenant serves requests that carry no tenant header; empty means
	// model.DefaultTenant.
	DefaultTenant string
	// Logger receives warnings about odd parameters and internal errors; nil
	// discards them.
	Logger *slog.Logger
	// Registerer receives the handler's metrics; nil means no metrics.
	Registerer prometheus.Registerer
}

// Tenant headers: Tempo's convention, and the one Jaeger uses with
// multi-tenancy on.
const (
	headerTenant      = "X-Scope-OrgID"
	headerTenantAlias = "X-Tenant"
)

// NewHandler returns the handler of the Jaeger query API. It serves every
// path under /api/ (mount it there): the routes of the internal API and of
// api_v3, and a plain 404 for any other /api/ path.
func NewHandler(q Querier, opts Options) http.Handler {
	return newHandler(q, opts)
}

type handler struct {
	q             Querier
	defaultTenant string
	log           *slog.Logger
	metrics       *metrics
	now           func() time.Time
	mux           *http.ServeMux
}

func newHandler(q Querier, opts Options) *handler {
	h := &handler{
		q:             q,
		defaultTenant: opts.DefaultTenant,
		log:           opts.Logger,
		now:           time.Now,
		mux:           http.NewServeMux(),
	}
	if h.defaultTenant == "" {
		h.defaultTenant = model.DefaultTenant
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.metrics = newMetrics(opts.Registerer, h.log)

	h.route("GET /api/services", "services", v1Errors, h.services)
	h.route("GET /api/services/{service}/operations", "service_operations", v1Errors, h.serviceOperations)
	h.route("GET /api/operations", "operations", v1Errors, h.operations)
	h.route("GET /api/traces", "search", v1Errors, h.search)
	h.route("GET /api/traces/{traceID}", "trace", v1Errors, h.trace)
	h.route("GET /api/dependencies", "dependencies", v1Errors, h.dependencies)

	h.route("GET /api/v3/services", "v3_services", v3Errors, h.v3Services)
	h.route("GET /api/v3/operations", "v3_operations", v3Errors, h.v3Operations)
	h.route("GET /api/v3/traces", "v3_search", v3Errors, h.v3Search)
	h.route("GET /api/v3/traces/{traceID}", "v3_trace", v3Errors, h.v3Trace)
	h.route("GET /api/v3/trace-summaries", "v3_trace_summaries", v3Errors, h.v3Summaries)

	h.mux.Handle("/api/", h.instrument("unmatched", http.HandlerFunc(http.NotFound)))
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mux.ServeHTTP(w, r)
}

// errorStyle says how a route family reports errors.
type errorStyle uint8

const (
	// v1Errors is the internal API's envelope with errors[].
	v1Errors errorStyle = iota
	// v3Errors is api_v3's {"error":{"httpCode","message"}}.
	v3Errors
)

// routeFunc serves one route for a resolved tenant; an error it returns is
// written in the route's error style.
type routeFunc func(w http.ResponseWriter, r *http.Request, tenant string) error

func (h *handler) route(pattern, name string, style errorStyle, f routeFunc) {
	h.mux.Handle(pattern, h.instrument(name, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tenant, err := h.tenant(r)
		if err == nil {
			err = f(w, r, tenant)
		}
		if err != nil {
			h.writeError(w, r, name, tenant, style, err)
		}
	})))
}

// tenant returns the request's tenant: X-Scope-OrgID, else x-tenant, else
// the default. An invalid tenant is a bad request.
func (h *handler) tenant(r *http.Request) (string, error) {
	t := r.Header.Get(headerTenant)
	if t == "" {
		t = r.Header.Get(headerTenantAlias)
	}
	if t == "" {
		t = h.defaultTenant
	}
	if err := model.ValidateTenant(t); err != nil {
		return "", badRequest(err)
	}
	return t, nil
}

// statusError carries the HTTP status an error should be answered with.
type statusError struct {
	code int
	err  error
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

func badRequest(err error) error { return &statusError{code: http.StatusBadRequest, err: err} }

// statusOf maps an error to its HTTP status: a statusError's own, 404 for a
// missing trace, 503 for an overloaded querier, 500 otherwise.
func statusOf(err error) int {
	var se *statusError
	switch {
	case errors.As(err, &se):
		return se.code
	case errors.Is(err, query.ErrTraceNotFound):
		return http.StatusNotFound
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	}
	if _, ok := model.IsOverloaded(err); ok {
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func (h *handler) writeError(w http.ResponseWriter, r *http.Request, route, tenant string, style errorStyle, err error) {
	code := statusOf(err)
	switch {
	case code < http.StatusInternalServerError:
	case r.Context().Err() != nil:
		// The client went away; nobody reads the answer.
		h.log.DebugContext(r.Context(), "jaeger api request abandoned", "route", route, "tenant", tenant, "err", err)
	default:
		h.log.ErrorContext(r.Context(), "jaeger api query", "route", route, "tenant", tenant, "status", code, "err", err)
	}
	if oe, ok := model.IsOverloaded(err); ok {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(oe.RetryAfter.Round(time.Second)/time.Second))))
	}
	var body []byte
	if style == v3Errors {
		body = marshal(v3ErrorBody{Error: v3ErrorDetail{HTTPCode: code, Message: err.Error()}})
	} else {
		body = appendEnvelope(nil, []byte("null"), 0, []structuredError{{Code: code, Msg: err.Error()}})
	}
	writeJSON(w, code, body)
}

// logUnits warns about epoch parameters sent in an unexpected unit.
func (h *handler) logUnits(ctx context.Context, route string, mm []unitMismatch) {
	for _, m := range mm {
		h.log.WarnContext(ctx, "epoch parameter in unexpected unit; converted by digit count",
			"route", route, "param", m.param, "detected_unit", m.got.String(), "expected_unit", m.want.String())
	}
}

// findTrace looks a trace up with time hints and, when the hinted lookup
// finds nothing, again without them: clients send hints in wrong units.
func (h *handler) findTrace(ctx context.Context, tenant string, id model.TraceID, start, end uint64) ([]model.Span, error) {
	spans, err := h.q.FindTrace(ctx, tenant, id, start, end)
	if (start != 0 || end != 0) && (errors.Is(err, query.ErrTraceNotFound) || (err == nil && len(spans) == 0)) {
		spans, err = h.q.FindTrace(ctx, tenant, id, 0, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("find trace %s: %w", id, err)
	}
	if len(spans) == 0 {
		return nil, fmt.Errorf("find trace %s: %w", id, query.ErrTraceNotFound)
	}
	return spans, nil
}

// metrics counts requests per route and status and times them.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer, log *slog.Logger) *metrics {
	if reg == nil {
		return nil
	}
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waymark_jaegerapi_requests_total",
			Help: "Requests to the Jaeger query API by route and HTTP status.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "waymark_jaegerapi_request_duration_seconds",
			Help:    "Time to answer a Jaeger query API request, by route.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
		}, []string{"route"}),
	}
	m.requests = register(reg, m.requests, log)
	m.duration = register(reg, m.duration, log)
	if m.requests == nil || m.duration == nil {
		return nil
	}
	return m
}

// register registers c, or returns the collector already registered under
// its name, so that two handlers can share a registry. It returns nil, and
// logs, when c clashes with a different collector.
func register[C prometheus.Collector](reg prometheus.Registerer, c C, log *slog.Logger) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	log.Error("register jaeger api metrics; serving without them", "err", err)
	var zero C
	return zero
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

func (h *handler) instrument(route string, next http.Handler) http.Handler {
	if h.metrics == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		h.metrics.requests.WithLabelValues(route, strconv.Itoa(rec.code)).Inc()
		h.metrics.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}
