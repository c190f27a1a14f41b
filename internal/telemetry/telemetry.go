// Package telemetry sets up Waymark's own observability: the slog logger,
// the Prometheus registry every component registers its waymark_* metrics
// on, and the /metrics and /ready handlers.
package telemetry

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewLogger returns a logger writing to w at level ("debug", "info", "warn",
// "error") in format "text" or "json".
func NewLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log format %q is not text or json", format)
}

// NewRegistry returns a registry with the Go runtime and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// MetricsHandler serves reg in the Prometheus text format.
func MetricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

// Readiness tracks whether the process is ready to serve.
type Readiness struct {
	ready  atomic.Bool
	reason atomic.Value // string
}

// NewReadiness returns a Readiness that is not ready, with reason.
func NewReadiness(reason string) *Readiness {
	r := &Readiness{}
	r.reason.Store(reason)
	return r
}

// SetReady marks the process ready.
func (r *Readiness) SetReady() { r.ready.Store(true) }

// SetNotReady marks the process not ready, with the reason /ready reports.
func (r *Readiness) SetNotReady(reason string) {
	r.reason.Store(reason)
	r.ready.Store(false)
}

// Ready reports whether the process is ready.
func (r *Readiness) Ready() bool { return r.ready.Load() }

// ServeHTTP answers 200 "ready" or 503 with the reason.
func (r *Readiness) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if r.ready.Load() {
		_, _ = io.WriteString(w, "ready\n")
		return
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = fmt.Fprintf(w, "not ready: %s\n", r.reason.Load())
}
