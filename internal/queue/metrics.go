package queue

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	pendingBytes prometheus.Gauge
	pendingItems prometheus.Gauge
	capacity     prometheus.Gauge
	dropped      prometheus.Counter
	truncated    prometheus.Counter
	fsyncs       prometheus.Counter
	failures     *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		pendingBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "waymark_queue_pending_bytes",
			Help: "Bytes of queued items not yet acked.",
		}),
		pendingItems: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "waymark_queue_pending_items",
			Help: "Queued items not yet acked.",
		}),
		capacity: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "waymark_queue_capacity_bytes",
			Help: "Bytes the queue may hold.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "waymark_queue_dropped_items_total",
			Help: "Items discarded, unsent, to make room in a full queue.",
		}),
		truncated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "waymark_queue_truncated_bytes_total",
			Help: "Bytes of torn or corrupt segment tails cut off on open.",
		}),
		fsyncs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "waymark_queue_fsyncs_total",
			Help: "Fsyncs that made Puts durable; fewer than Puts under group commit.",
		}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waymark_queue_enqueue_failures_total",
			Help: "Puts that failed, by reason: full, too_large, empty, io.",
		}, []string{"reason"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.pendingBytes, m.pendingItems, m.capacity, m.dropped, m.truncated, m.fsyncs, m.failures} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register queue metrics: %w", err)
			}
		}
	}
	return m, nil
}
