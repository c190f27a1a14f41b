package uiapi

import (
	"math"
	"slices"

	"waymark/internal/model"
)

// Latency holds duration percentiles in microseconds.
type Latency struct {
	P50Us float64 `json:"p50Us"`
	P90Us float64 `json:"p90Us"`
	P99Us float64 `json:"p99Us"`
}

// latencyOf returns the nearest-rank percentiles of durations (ns). It sorts
// durations in place.
func latencyOf(durations []uint64) Latency {
	if len(durations) == 0 {
		return Latency{}
	}
	slices.Sort(durations)
	return Latency{
		P50Us: nsToUs(percentile(durations, 0.50)),
		P90Us: nsToUs(percentile(durations, 0.90)),
		P99Us: nsToUs(percentile(durations, 0.99)),
	}
}

// percentile returns the nearest-rank p-quantile of sorted, which must not
// be empty: the smallest value with at least p of the values at or below it.
func percentile(sorted []uint64, p float64) uint64 {
	rank := int(math.Ceil(p * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	if rank > len(sorted) {
		rank = len(sorted)
	}
	return sorted[rank-1]
}

func nsToUs(ns uint64) float64 { return float64(ns) / 1e3 }

// rate returns part/total, or 0 when total is 0.
func rate(part, total int) float64 {
	if total == 0 {
		return 0
	}
	return float64(part) / float64(total)
}

// isError reports whether a span failed: its status is error, or it carries
// the Jaeger/OpenTracing tag error=true.
func isError(s *model.Span) bool {
	if s.StatusCode == model.StatusError {
		return true
	}
	if v, ok := s.Attributes.Get("error"); ok {
		switch v.Type {
		case model.ValueBool:
			return v.Bool()
		case model.ValueString:
			return v.Str == "true"
		}
	}
	return false
}

// attributeOf returns the text value of key on s: the span attribute, else
// the resource attribute (service.name included).
func attributeOf(s *model.Span, key string) (string, bool) {
	if v, ok := s.Attributes.Get(key); ok {
		return v.AsString(), true
	}
	if s.Resource == nil {
		return "", false
	}
	if key == "service.name" {
		return s.Resource.ServiceName, true
	}
	if v, ok := s.Resource.Attributes.Get(key); ok {
		return v.AsString(), true
	}
	return "", false
}

// twoProportionZ is the pooled two-proportion z-statistic of e1/n1 against
// e2/n2: positive when the first rate is higher. It is 0 when either side is
// empty or both rates are 0 or 1 (no variance).
func twoProportionZ(e1, n1, e2, n2 int) float64 {
	if n1 == 0 || n2 == 0 {
		return 0
	}
	p1, p2 := float64(e1)/float64(n1), float64(e2)/float64(n2)
	p := float64(e1+e2) / float64(n1+n2)
	se := math.Sqrt(p * (1 - p) * (1/float64(n1) + 1/float64(n2)))
	if se == 0 {
		return 0
	}
	return (p1 - p2) / se
}

// logMoments accumulates the count, sum and sum of squares of log durations,
// which give the geometric mean and the variance of log latency.
type logMoments struct {
	n          int
	sum, sumSq float64
}

func (m *logMoments) add(ns uint64) {
	// Durations of 0 (or below 1 ns) count as 1 ns so the log is defined.
	x := math.Log(math.Max(float64(ns), 1))
	m.n++
	m.sum += x
	m.sumSq += x * x
}

func (m logMoments) minus(o logMoments) logMoments {
	return logMoments{n: m.n - o.n, sum: m.sum - o.sum, sumSq: m.sumSq - o.sumSq}
}

func (m logMoments) mean() float64 { return m.sum / float64(m.n) }

// variance is the unbiased sample variance of the log durations.
func (m logMoments) variance() float64 {
	if m.n < 2 {
		return 0
	}
	v := (m.sumSq - m.sum*m.sum/float64(m.n)) / float64(m.n-1)
	return math.Max(v, 0)
}

// latencyDeviation compares the log latencies of a group with the rest:
// ratio is the ratio of geometric means (2 means twice as slow), z the Welch
// statistic of the difference of mean log latency (positive when slower).
// Both are neutral (1 and 0) when either side is empty.
func latencyDeviation(g, rest logMoments) (ratio, z float64) {
	if g.n == 0 || rest.n == 0 {
		return 1, 0
	}
	d := g.mean() - rest.mean()
	ratio = math.Exp(d)
	se := math.Sqrt(g.variance()/float64(g.n) + rest.variance()/float64(rest.n))
	switch {
	case se > 0:
		z = d / se
	case d > 0:
		// No spread on either side but a real difference: as certain as
		// the data can say. Cap so one constant value does not dwarf all.
		z = maxZ
	case d < 0:
		z = -maxZ
	}
	return ratio, math.Max(-maxZ, math.Min(maxZ, z))
}

// maxZ bounds the deviation statistics so that degenerate data (no variance)
// cannot produce infinities.
const maxZ = 1000

// deviationScore combines how much worse a group is than the rest on errors
// and on latency: the length of the vector of the two positive z-statistics.
// Being better than the rest scores 0.
func deviationScore(errorZ, latencyZ float64) float64 {
	e, l := math.Max(errorZ, 0), math.Max(latencyZ, 0)
	return math.Sqrt(e*e + l*l)
}
