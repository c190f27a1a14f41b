package compact

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	runs        prometheus.Counter
	failures    prometheus.Counter
	inputBlocks prometheus.Counter
	spans       prometheus.Counter
	duplicates  prometheus.Counter
	bytes       prometheus.Counter
	duration    prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		runs:        prometheus.NewCounter(prometheus.CounterOpts{Name: "waymark_compaction_runs_total", Help: "Compactions that wrote a merged block."}),
		failures:    prometheus.NewCounter(prometheus.CounterOpts{Name: "waymark_compaction_failures_total", Help: "Compactions that failed; their inputs stay."}),
		inputBlocks: prometheus.NewCounter(prometheus.CounterOpts{Name: "waymark_compaction_input_blocks_total", Help: "Blocks merged into compacted blocks."}),
		spans:       prometheus.NewCounter(prometheus.CounterOpts{Name: "waymark_compaction_spans_written_total", Help: "Spans written into compacted blocks."}),
		duplicates:  prometheus.NewCounter(prometheus.CounterOpts{Name: "waymark_compaction_duplicate_spans_total", Help: "Repeated span copies dropped by compaction."}),
		bytes:       prometheus.NewCounter(prometheus.CounterOpts{Name: "waymark_compaction_bytes_written_total", Help: "Bytes of data and index objects of compacted blocks."}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "waymark_compaction_duration_seconds", Help: "Time to merge and write one compacted block.",
			Buckets: prometheus.ExponentialBuckets(0.01, 4, 8)}),
	}
	if reg != nil {
		reg.MustRegister(m.runs, m.failures, m.inputBlocks, m.spans, m.duplicates, m.bytes, m.duration)
	}
	return m
}
