package testkit

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"waymark/internal/model"
)

// WantErrors fails t unless err mentions every string in want; with no
// want, err must be nil.
func WantErrors(t testing.TB, err error, want ...string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("Validate() = %v, want nil", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("Validate() = nil, want errors mentioning %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Validate() error %q does not mention %q", err, w)
		}
	}
}

// MetricValue returns the sum of the counter or gauge series named name in
// reg whose first label has the value label ("" matches every series).
func MetricValue(t testing.TB, reg prometheus.Gatherer, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label != "" && (len(m.GetLabel()) == 0 || m.GetLabel()[0].GetValue() != label) {
				continue
			}
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

// Sink is a model.Consumer that records the batches it gets. It is safe
// for concurrent use.
type Sink struct {
	mu      sync.Mutex
	batches []model.Batch
}

// Consume records b.
func (s *Sink) Consume(_ context.Context, b model.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches = append(s.batches, b)
	return nil
}

// Batches returns the batches received so far.
func (s *Sink) Batches() []model.Batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]model.Batch(nil), s.batches...)
}

// Spans returns the spans of every batch received so far, in order.
func (s *Sink) Spans() []model.Span {
	var out []model.Span
	for _, b := range s.Batches() {
		out = append(out, b.Spans...)
	}
	return out
}
