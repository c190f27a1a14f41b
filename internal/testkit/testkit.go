// Package testkit holds small helpers shared by Waymark's tests: checking
// that Config.Validate reports every bad field by its YAML key, and reading
// metrics from a test registry. It is imported only by tests.
package testkit

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
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
