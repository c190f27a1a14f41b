package batch

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	flushes    *prometheus.CounterVec
	batchSpans prometheus.Histogram
	buffered   prometheus.Gauge
	limit      prometheus.Gauge
	refused    prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		flushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waymark_batch_flushes_total",
			Help: "Batches passed on, by trigger: size, timeout, cancel.",
		}, []string{"trigger"}),
		batchSpans: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "waymark_batch_size_spans",
			Help:    "Spans per batch passed on.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 9),
		}),
		buffered: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "waymark_batch_buffered_bytes",
			Help: "Estimated bytes of spans waiting in or being sent from batches.",
		}),
		limit: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "waymark_batch_memory_limit_bytes",
			Help: "The batcher's memory limit.",
		}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "waymark_batch_refused_spans_total",
			Help: "Spans refused with an overload error at the memory limit.",
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.flushes, m.batchSpans, m.buffered, m.limit, m.refused} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register batch metrics: %w", err)
			}
		}
	}
	return m, nil
}
