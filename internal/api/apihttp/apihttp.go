package apihttp

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
)

// HeaderTenant carries a request's tenant (Tempo's convention).
const HeaderTenant = "X-Scope-OrgID"

// Tenant returns the first non-empty header of headers, else def, and
// checks it with model.ValidateTenant; an invalid tenant is a BadRequest.
func Tenant(r *http.Request, def string, headers ...string) (string, error) {
	t := ""
	for _, h := range headers {
		if t = r.Header.Get(h); t != "" {
			break
		}
	}
	if t == "" {
		t = def
	}
	if err := model.ValidateTenant(t); err != nil {
		return "", BadRequest(err)
	}
	return t, nil
}

// StatusError carries the HTTP status an error should be answered with.
type StatusError struct {
	Code int
	Err  error
}

// Error returns the wrapped error's message.
func (e *StatusError) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *StatusError) Unwrap() error { return e.Err }

// BadRequest marks err as the client's fault (400).
func BadRequest(err error) error { return &StatusError{Code: http.StatusBadRequest, Err: err} }

// StatusOf maps an error to its HTTP status: a StatusError's own, 404 for a
// missing trace, 504 for a deadline, 503 for an overloaded store, 500
// otherwise.
func StatusOf(err error) int {
	var se *StatusError
	switch {
	case errors.As(err, &se):
		return se.Code
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

// SetWarning adds msg to the response as a Warning header (code 199,
// miscellaneous), for answers whose body format has no place for it, such
// as a truncated trace in a bare span list. Control characters and quotes
// in msg are replaced so the header stays well-formed.
func SetWarning(h http.Header, msg string) {
	b := make([]byte, 0, len(msg)+16)
	b = append(b, `199 waymark "`...)
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c < 0x20 || c == 0x7f || c == '"' || c == '\\' {
			c = '\''
		}
		b = append(b, c)
	}
	h.Add("Warning", string(append(b, '"')))
}

// SetRetryAfter sets Retry-After (whole seconds, at least 1) when err says
// the store is overloaded.
func SetRetryAfter(w http.ResponseWriter, err error) {
	if oe, ok := model.IsOverloaded(err); ok {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(oe.RetryAfter.Round(time.Second)/time.Second))))
	}
}

// LogError logs a failed request at a level fitting its status: nothing
// for client errors, debug when the client went away, error otherwise.
func LogError(log *slog.Logger, r *http.Request, api, route, tenant string, code int, err error) {
	switch {
	case code < http.StatusInternalServerError:
	case r.Context().Err() != nil:
		log.DebugContext(r.Context(), api+" request abandoned", "route", route, "tenant", tenant, "err", err)
	default:
		log.ErrorContext(r.Context(), api+" query", "route", route, "tenant", tenant, "status", code, "err", err)
	}
}

// Metrics counts requests per route and status and times them, as
// waymark_<subsystem>_requests_total and
// waymark_<subsystem>_request_duration_seconds. A nil *Metrics counts
// nothing.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics registers an API's request metrics with reg; api names it in
// the help text. It returns nil when reg is nil. Handlers built twice on
// one registry share the collectors; a clash with different collectors of
// the same names is logged and yields nil.
func NewMetrics(reg prometheus.Registerer, subsystem, api string, log *slog.Logger) *Metrics {
	if reg == nil {
		return nil
	}
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waymark_" + subsystem + "_requests_total",
			Help: "Requests to the " + api + " by route and HTTP status.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "waymark_" + subsystem + "_request_duration_seconds",
			Help:    "Time to answer a " + api + " request, by route.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
		}, []string{"route"}),
	}
	var err error
	if m.requests, err = register(reg, m.requests); err == nil {
		m.duration, err = register(reg, m.duration)
	}
	if err != nil {
		log.Error("register "+api+" metrics; serving without them", "err", err)
		return nil
	}
	return m
}

// register registers c, or returns the collector already registered under
// its name.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	var zero C
	return zero, fmt.Errorf("register: %w", err)
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

// Instrument wraps next to count and time its requests under route.
func (m *Metrics) Instrument(route string, next http.Handler) http.Handler {
	if m == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		m.requests.WithLabelValues(route, strconv.Itoa(rec.code)).Inc()
		m.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}
