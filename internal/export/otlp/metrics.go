package otlp

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	sent     prometheus.Counter
	requests *prometheus.CounterVec
	retries  prometheus.Counter
	dropped  *prometheus.CounterVec
	// undecodable counts queue items that could not be read; their span
	// count is unknown.
	undecodable prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		sent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "waymark_exporter_sent_spans_total",
			Help: "Spans the backend accepted.",
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waymark_exporter_requests_total",
			Help: "Export requests by outcome (success, retryable, permanent) and HTTP status or gRPC code.",
		}, []string{"outcome", "code"}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "waymark_exporter_retries_total",
			Help: "Export requests retried after a retryable failure.",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waymark_exporter_dropped_spans_total",
			Help: "Spans given up on, by reason: rejected, partial_success, retry_exhausted.",
		}, []string{"reason"}),
		undecodable: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "waymark_exporter_undecodable_items_total",
			Help: "Queue items dropped because they could not be decoded.",
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.sent, m.requests, m.retries, m.dropped, m.undecodable} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register exporter metrics: %w", err)
			}
		}
	}
	return m, nil
}
