package jaegerapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"waymark/internal/api/apihttp"
	"waymark/internal/api/jaegerquery"
	"waymark/internal/model"
	"waymark/internal/query"
	"waymark/internal/store/filter"
)

// Querier answers the reads behind the Jaeger API for one tenant at a time.
// It must be safe for concurrent use. The handler owns the slices it returns
// and may reorder them.
type Querier interface {
	// FindTrace returns the trace's spans (any order), cut to the query
	// layer's per-trace limit, or an error wrapping query.ErrTraceNotFound.
	// startUnixNano and endUnixNano hint where the trace lies; 0 means no
	// hint.
	FindTrace(ctx context.Context, tenant string, id model.TraceID, startUnixNano, endUnixNano uint64) (query.Trace, error)
	// FindTraces returns the traces of ids that exist, in the order of
	// ids, as many as the query layer's span budget holds, with a warning
	// when it cut the list short.
	FindTraces(ctx context.Context, tenant string, ids []model.TraceID) (query.TraceSearch, error)
	// SearchTraces returns whole traces matching req, newest first, at most
	// req.Limit, with a warning when the query's span budget cut it short.
	// req holds only equality and inequality conditions, never regular
	// expressions.
	SearchTraces(ctx context.Context, tenant string, req filter.Request) (query.TraceSearch, error)
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
	headerTenant      = apihttp.HeaderTenant
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
	metrics       *apihttp.Metrics
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
	h.metrics = apihttp.NewMetrics(opts.Registerer, "jaegerapi", "Jaeger query API", h.log)

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

	h.mux.Handle("/api/", h.metrics.Instrument("unmatched", http.HandlerFunc(http.NotFound)))
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
	h.mux.Handle(pattern, h.metrics.Instrument(name, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tenant, err := apihttp.Tenant(r, h.defaultTenant, headerTenant, headerTenantAlias)
		if err == nil {
			err = f(w, r, tenant)
		}
		if err != nil {
			h.writeError(w, r, name, tenant, style, err)
		}
	})))
}

func (h *handler) writeError(w http.ResponseWriter, r *http.Request, route, tenant string, style errorStyle, err error) {
	code := apihttp.StatusOf(err)
	apihttp.LogError(h.log, r, "jaeger api", route, tenant, code, err)
	apihttp.SetRetryAfter(w, err)
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

// findTrace looks a trace up, retrying without the time hints when the
// hinted lookup finds nothing.
func (h *handler) findTrace(ctx context.Context, tenant string, id model.TraceID, start, end uint64) (query.Trace, error) {
	return jaegerquery.FindTrace(ctx, h.q, tenant, id, start, end)
}
