package wal

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are a WAL's Prometheus collectors. They always exist; they are
// registered only when a Registerer is given.
type metrics struct {
	fsyncDuration prometheus.Histogram
	records       prometheus.Counter
	bytes         prometheus.Counter
	corruptions   prometheus.Counter
	segments      prometheus.Gauge
	groupCommit   prometheus.Histogram

	reg        prometheus.Registerer
	registered []prometheus.Collector
}

// newMetrics builds the collectors and registers them on reg, if reg is
// not nil.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		fsyncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "waymark_wal_fsync_duration_seconds",
			Help:    "Time taken by each fdatasync of a WAL segment.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		records: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "waymark_wal_records_appended_total",
			Help: "Records appended to the WAL and fsynced.",
		}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "waymark_wal_bytes_appended_total",
			Help: "Bytes written to WAL segments and fsynced, framing and page padding included.",
		}),
		corruptions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "waymark_wal_corruptions_total",
			Help: "Corrupt WAL regions skipped during replay.",
		}),
		segments: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "waymark_wal_segments",
			Help: "WAL segment files on disk.",
		}),
		groupCommit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "waymark_wal_group_commit_records",
			Help:    "Records made durable by one group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12),
		}),
		reg: reg,
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.fsyncDuration, m.records, m.bytes, m.corruptions, m.segments, m.groupCommit} {
		if err := reg.Register(c); err != nil {
			m.unregister()
			return nil, fmt.Errorf("register metrics: %w", err)
		}
		m.registered = append(m.registered, c)
	}
	return m, nil
}

// unregister removes the collectors from the registerer, so that a WAL
// opened later may register its own.
func (m *metrics) unregister() {
	for _, c := range m.registered {
		m.reg.Unregister(c)
	}
	m.registered = nil
}
