package uiapi

import (
	"errors"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the handler's Prometheus metrics; a nil *metrics records nothing.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	traces   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		return nil
	}
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waymark_uiapi_requests_total",
			Help: "UI API requests by endpoint and HTTP status code.",
		}, []string{"endpoint", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "waymark_uiapi_request_duration_seconds",
			Help:    "Time to answer a UI API request, by endpoint.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 9),
		}, []string{"endpoint"}),
		traces: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waymark_uiapi_scanned_traces_total",
			Help: "Traces read to answer UI API requests, by endpoint.",
		}, []string{"endpoint"}),
	}
	m.requests = register(reg, m.requests)
	m.duration = register(reg, m.duration)
	m.traces = register(reg, m.traces)
	return m
}

// register registers c, or returns the collector already registered under
// the same description so that two handlers can share a registry.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}

func (m *metrics) observe(endpoint string, code int, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(endpoint, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(endpoint).Observe(d.Seconds())
}

func (m *metrics) scanned(endpoint string, traces int) {
	if m == nil {
		return
	}
	m.traces.WithLabelValues(endpoint).Add(float64(traces))
}
