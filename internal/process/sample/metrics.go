package sample

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the sampler's counters.
type metrics struct {
	seen      *prometheus.CounterVec
	kept      *prometheus.CounterVec
	decisions [numReasons]prometheus.Counter
	errors    [numFaults]prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	seen := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "waymark_sampler_spans_seen_total",
		Help: "Spans the sampler decided on, by service.",
	}, []string{"service"})
	kept := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "waymark_sampler_spans_kept_total",
		Help: "Spans the sampler kept, by service.",
	}, []string{"service"})
	decisions := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "waymark_sampler_decisions_total",
		Help: "Sampling decisions, by reason.",
	}, []string{"reason"})
	errs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "waymark_sampler_errors_total",
		Help: "Malformed sampling inputs, by reason; the spans were still decided or kept.",
	}, []string{"reason"})
	m := &metrics{seen: seen, kept: kept}
	for r := Reason(0); r < numReasons; r++ {
		m.decisions[r] = decisions.WithLabelValues(r.String())
	}
	for f := faultNone + 1; f < numFaults; f++ {
		m.errors[f] = errs.WithLabelValues(faultNames[f])
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{seen, kept, decisions, errs} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register sampler metrics: %w", err)
			}
		}
	}
	return m, nil
}

// add records the per-batch decision and error counts.
func (m *metrics) add(reasons []int, faults []int) {
	for r, n := range reasons {
		if n > 0 {
			m.decisions[r].Add(float64(n))
		}
	}
	for f := faultNone + 1; f < numFaults; f++ {
		if n := faults[f]; n > 0 {
			m.errors[f].Add(float64(n))
		}
	}
}

// serviceTally counts a run of spans of one service, so the labelled
// counters are looked up once per run rather than once per span.
type serviceTally struct {
	service    string
	seen, kept int
}

func (t *serviceTally) switchTo(m *metrics, service string) {
	if service == t.service {
		return
	}
	t.flush(m)
	t.service = service
}

func (t *serviceTally) flush(m *metrics) {
	if t.seen > 0 {
		m.seen.WithLabelValues(t.service).Add(float64(t.seen))
	}
	if t.kept > 0 {
		m.kept.WithLabelValues(t.service).Add(float64(t.kept))
	}
	t.seen, t.kept = 0, 0
}
