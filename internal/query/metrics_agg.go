package query

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"

	"waymark/internal/model"
	"waymark/internal/query/traceql"
)

// Label keys Tempo gives the series of some functions.
const (
	labelName     = "__name__"
	labelBucket   = "__bucket"
	labelQuantile = "p"
)

// aggregator folds matched spans into series, one per distinct tuple of
// by() values (and log2 bucket, for histogram_over_time).
type aggregator struct {
	m *traceql.MetricsStage
	g grid
	// fields are the by() fields, then the function's argument if any;
	// names are the by() fields' label keys.
	fields []*traceql.Field
	names  []string
	series map[string]*series
	// maxSeries bounds len(series).
	maxSeries int
	key       []byte
	// err stops the query; it is set when too many series are built.
	err error
}

// series accumulates one series per step.
type series struct {
	// by holds the by() values, then the bucket for histogram_over_time.
	by []traceql.Static
	// n counts the observations per step; acc holds the sum, min or max.
	n   []uint64
	acc []float64
	// hist holds the log2 buckets per step of quantile_over_time.
	hist [][]log2Count
}

// log2Count is the number of values in the bucket (max/2, max].
type log2Count struct {
	max float64
	n   uint64
}

func newAggregator(m *traceql.MetricsStage, g grid, maxSeries int) *aggregator {
	a := &aggregator{m: m, g: g, series: make(map[string]*series), maxSeries: maxSeries}
	for _, f := range m.By {
		a.fields = append(a.fields, f)
		a.names = append(a.names, f.String())
	}
	if m.Field != nil {
		a.fields = append(a.fields, m.Field)
	}
	return a
}

// observe counts one matched span; values are the aggregator's fields on it.
func (a *aggregator) observe(span *model.Span, values []traceql.Static) {
	if a.err != nil {
		return
	}
	step := a.g.index(span.StartTimeUnixNano)
	if step < 0 {
		return
	}
	nBy := len(a.m.By)
	var x float64
	switch a.m.Func {
	case traceql.MetricsRate, traceql.MetricsCountOverTime:
	case traceql.MetricsHistogramOverTime, traceql.MetricsQuantileOverTime:
		b, ok := log2Bucket(values[nBy])
		if !ok {
			return
		}
		x = b
	default:
		v, ok := numeric(values[nBy])
		if !ok {
			return
		}
		x = v
	}
	a.key = a.key[:0]
	for _, v := range values[:nBy] {
		a.key = appendKey(a.key, v)
	}
	if a.m.Func == traceql.MetricsHistogramOverTime {
		a.key = binary.LittleEndian.AppendUint64(a.key, math.Float64bits(x))
	}
	s := a.series[string(a.key)]
	if s == nil {
		if len(a.series) >= a.maxSeries {
			a.err = a.tooManySeries()
			return
		}
		s = a.newSeries(values[:nBy], x)
		a.series[string(a.key)] = s
	}
	n := s.n[step]
	s.n[step]++
	switch a.m.Func {
	case traceql.MetricsSumOverTime, traceql.MetricsAvgOverTime:
		s.acc[step] += x
	case traceql.MetricsMinOverTime:
		if n == 0 || x < s.acc[step] {
			s.acc[step] = x
		}
	case traceql.MetricsMaxOverTime:
		if n == 0 || x > s.acc[step] {
			s.acc[step] = x
		}
	case traceql.MetricsQuantileOverTime:
		s.hist[step] = addLog2(s.hist[step], x, 1)
	}
}

// merge adds the series of o, an aggregator of the same query and grid,
// to a's.
func (a *aggregator) merge(o *aggregator) {
	if a.err == nil {
		a.err = o.err
	}
	for key, s := range o.series {
		d := a.series[key]
		if d == nil {
			if len(a.series) >= a.maxSeries && a.err == nil {
				a.err = a.tooManySeries()
			}
			a.series[key] = s
			continue
		}
		for i, n := range s.n {
			if n == 0 {
				continue
			}
			switch a.m.Func {
			case traceql.MetricsSumOverTime, traceql.MetricsAvgOverTime:
				d.acc[i] += s.acc[i]
			case traceql.MetricsMinOverTime:
				if d.n[i] == 0 || s.acc[i] < d.acc[i] {
					d.acc[i] = s.acc[i]
				}
			case traceql.MetricsMaxOverTime:
				if d.n[i] == 0 || s.acc[i] > d.acc[i] {
					d.acc[i] = s.acc[i]
				}
			case traceql.MetricsQuantileOverTime:
				for _, b := range s.hist[i] {
					d.hist[i] = addLog2(d.hist[i], b.max, b.n)
				}
			}
			d.n[i] += n
		}
	}
}

func (a *aggregator) tooManySeries() error {
	return fmt.Errorf("%w: more than %d series; group by fewer fields or filter more", ErrInvalidRequest, a.maxSeries)
}

func (a *aggregator) newSeries(by []traceql.Static, bucket float64) *series {
	s := &series{by: slices.Clone(by), n: make([]uint64, a.g.n)}
	switch a.m.Func {
	case traceql.MetricsHistogramOverTime:
		s.by = append(s.by, traceql.FloatStatic(bucket))
	case traceql.MetricsQuantileOverTime:
		s.hist = make([][]log2Count, a.g.n)
	case traceql.MetricsRate, traceql.MetricsCountOverTime:
	default:
		s.acc = make([]float64, a.g.n)
	}
	return s
}

// appendKey appends an unambiguous binary form of v to a series key.
func appendKey(dst []byte, v traceql.Static) []byte {
	dst = append(dst, byte(v.Type))
	switch v.Type {
	case traceql.TypeString, traceql.TypeArray:
		dst = binary.AppendUvarint(dst, uint64(len(v.Str)))
		return append(dst, v.Str...)
	case traceql.TypeFloat:
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(v.Float))
	case traceql.TypeNil:
		return dst
	}
	return binary.LittleEndian.AppendUint64(dst, uint64(v.Int))
}

// numeric returns v as a number; durations are in seconds.
func numeric(v traceql.Static) (float64, bool) {
	switch v.Type {
	case traceql.TypeInt:
		return float64(v.Int), true
	case traceql.TypeFloat:
		return v.Float, !math.IsNaN(v.Float)
	case traceql.TypeDuration:
		return float64(v.Int) / 1e9, true
	}
	return 0, false
}

// log2Bucket returns the upper bound of v's log2 bucket: the smallest
// power of two at or above v, counted in nanoseconds for durations and
// given in seconds. Ints and durations below 2, floats ≤ 0 and values that
// are not numbers have no bucket.
func log2Bucket(v traceql.Static) (float64, bool) {
	switch v.Type {
	case traceql.TypeInt, traceql.TypeDuration:
		if v.Int < 2 {
			return 0, false
		}
		b := math.Ldexp(1, bits.Len64(uint64(v.Int-1)))
		if v.Type == traceql.TypeDuration {
			b /= 1e9
		}
		return b, true
	case traceql.TypeFloat:
		if !(v.Float > 0) || math.IsInf(v.Float, 1) {
			return 0, false
		}
		return math.Ldexp(1, int(math.Ceil(math.Log2(v.Float)))), true
	}
	return 0, false
}

// addLog2 adds n values to the bucket bounded by max.
func addLog2(h []log2Count, max float64, n uint64) []log2Count {
	for i := range h {
		if h[i].max == max {
			h[i].n += n
			return h
		}
	}
	return append(h, log2Count{max: max, n: n})
}

// log2Quantile returns quantile p of a log2 histogram sorted by bucket, as
// Tempo computes it: it finds the bucket holding the ⌈p·n⌉-th smallest
// value (at least the first) and interpolates exponentially between the
// previous bucket's bound (half the bucket's, for the first) and the
// bucket's, by the share of the bucket's values needed.
func log2Quantile(p float64, h []log2Count) float64 {
	var total uint64
	for _, b := range h {
		total += b.n
	}
	if total == 0 {
		return math.NaN()
	}
	want := max(uint64(math.Ceil(p*float64(total))), 1)
	var seen uint64
	k := 0
	for k = range h {
		if seen+h[k].n > want {
			break
		}
		seen += h[k].n
		if seen == want {
			return h[k].max
		}
	}
	hi := math.Log2(h[k].max)
	lo := hi - 1
	if k > 0 {
		lo = math.Log2(h[k-1].max)
	}
	return math.Exp2(lo + (hi-lo)*float64(want-seen)/float64(h[k].n))
}

// row is a finished series before its samples are cut out.
type row struct {
	labels []MetricsLabel
	values []float64 // NaN where the series has no value
}

// result turns the accumulated series into the query's answer.
func (a *aggregator) result() []MetricsSeries {
	rows := make([]row, 0, len(a.series))
	for _, s := range a.series {
		rows = a.appendRows(rows, s)
	}
	slices.SortFunc(rows, func(x, y row) int { return compareLabels(x.labels, y.labels) })
	if f := a.m.Filter; f != nil {
		for _, r := range rows {
			for i, v := range r.values {
				if !math.IsNaN(v) && !holds(f.Op, v, f.Value) {
					r.values[i] = math.NaN()
				}
			}
		}
	}
	if a.m.TopK != nil {
		topK(rows, a.g.n, a.m.TopK.N, a.m.TopK.Bottom)
	}
	out := make([]MetricsSeries, 0, len(rows))
	for _, r := range rows {
		var samples []MetricsSample
		for i, v := range r.values {
			if !math.IsNaN(v) {
				samples = append(samples, MetricsSample{TimestampUnixMilli: a.g.timestamp(i), Value: v})
			}
		}
		if len(samples) > 0 {
			out = append(out, MetricsSeries{Labels: r.labels, Samples: samples})
		}
	}
	return out
}

// appendRows appends the rows of one series: one, or one per quantile.
func (a *aggregator) appendRows(rows []row, s *series) []row {
	if a.m.Func == traceql.MetricsQuantileOverTime {
		for _, h := range s.hist {
			slices.SortFunc(h, func(x, y log2Count) int { return cmp.Compare(x.max, y.max) })
		}
		for _, p := range a.m.Quantiles {
			vals := make([]float64, a.g.n)
			for i, h := range s.hist {
				vals[i] = log2Quantile(p, h)
			}
			rows = append(rows, row{labels: a.labels(s.by, labelQuantile, traceql.FloatStatic(p)), values: vals})
		}
		return rows
	}
	vals := make([]float64, a.g.n)
	for i, n := range s.n {
		switch a.m.Func {
		case traceql.MetricsRate:
			vals[i] = float64(n) / a.g.seconds()
		case traceql.MetricsCountOverTime, traceql.MetricsHistogramOverTime:
			vals[i] = float64(n)
		case traceql.MetricsAvgOverTime:
			vals[i] = s.acc[i] / float64(n) // NaN when n is 0
		default:
			vals[i] = s.acc[i]
			if n == 0 {
				vals[i] = math.NaN()
			}
		}
	}
	var lbl []MetricsLabel
	if a.m.Func == traceql.MetricsHistogramOverTime {
		nBy := len(a.m.By)
		lbl = a.labels(s.by[:nBy], labelBucket, s.by[nBy])
	} else {
		lbl = a.labels(s.by, "", traceql.Static{})
	}
	return append(rows, row{labels: lbl, values: vals})
}

// labels builds a series' labels from its by() values and an optional
// extra label (extraKey "" for none), following Tempo's rules for nils.
func (a *aggregator) labels(by []traceql.Static, extraKey string, extra traceql.Static) []MetricsLabel {
	var out []MetricsLabel
	for i, v := range by {
		if v.Type != traceql.TypeNil {
			out = append(out, MetricsLabel{Key: a.names[i], Value: v})
		}
	}
	if extraKey != "" {
		out = append(out, MetricsLabel{Key: extraKey, Value: extra})
	}
	if len(out) == 0 {
		if len(a.names) > 0 {
			return []MetricsLabel{{Key: a.names[0]}}
		}
		return []MetricsLabel{{Key: labelName, Value: traceql.StringStatic(a.m.Func.String())}}
	}
	return out
}

// compareLabels orders label sets: key by key, numbers numerically.
func compareLabels(x, y []MetricsLabel) int {
	for i := range min(len(x), len(y)) {
		if c := strings.Compare(x[i].Key, y[i].Key); c != 0 {
			return c
		}
		if c := compareStatic(x[i].Value, y[i].Value); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(x), len(y))
}

func compareStatic(x, y traceql.Static) int {
	if c := cmp.Compare(x.Type, y.Type); c != 0 {
		return c
	}
	switch x.Type {
	case traceql.TypeString, traceql.TypeArray:
		return strings.Compare(x.Str, y.Str)
	case traceql.TypeFloat:
		return cmp.Compare(x.Float, y.Float)
	}
	return cmp.Compare(x.Int, y.Int)
}

// holds applies a comparison filter to a sample value.
func holds(op traceql.Op, v, ref float64) bool {
	switch op {
	case traceql.OpEq:
		return v == ref
	case traceql.OpNeq:
		return v != ref
	case traceql.OpGt:
		return v > ref
	case traceql.OpGte:
		return v >= ref
	case traceql.OpLt:
		return v < ref
	case traceql.OpLte:
		return v <= ref
	}
	return false
}

// topK keeps, at each step, the values of the k series with the highest
// (bottom: lowest) values there; ties go to the series sorted first.
func topK(rows []row, steps, k int, bottom bool) {
	idx := make([]int, 0, len(rows))
	for i := range steps {
		idx = idx[:0]
		for r := range rows {
			if !math.IsNaN(rows[r].values[i]) {
				idx = append(idx, r)
			}
		}
		if len(idx) <= k {
			continue
		}
		slices.SortStableFunc(idx, func(x, y int) int {
			c := cmp.Compare(rows[y].values[i], rows[x].values[i])
			if bottom {
				c = -c
			}
			return c
		})
		for _, r := range idx[k:] {
			rows[r].values[i] = math.NaN()
		}
	}
}
