package query

import (
	"context"
	"errors"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"waymark/internal/model"
	"waymark/internal/query/traceql"
)

// metricsCase describes a query and, in plain Go, what it computes: which
// spans it counts, their series labels and the value it aggregates.
type metricsCase struct {
	name    string
	query   string
	instant bool
	// defaultStep, if set, is the step the query should pick when given none.
	defaultStep time.Duration
	// match reports whether the query returns span s of trace tr.
	match func(tr genTrace, s *model.Span) bool
	// labels returns the labels of s's series.
	labels func(s *model.Span) []MetricsLabel
	// value returns the aggregated argument of s, if s has one.
	value func(s *model.Span) (float64, bool)
	// agg is rate, count, sum, min, max, avg, hist or quantile.
	agg       string
	quantiles []float64
	// keep, if set, is the comparison filter of the query.
	keep func(v float64) bool
}

func service(s *model.Span) string { return s.Resource.ServiceName }

func serviceLabel(s *model.Span) []MetricsLabel {
	return []MetricsLabel{{Key: "resource.service.name", Value: traceql.StringStatic(service(s))}}
}

func nameLabel(fn string) func(*model.Span) []MetricsLabel {
	return func(*model.Span) []MetricsLabel {
		return []MetricsLabel{{Key: "__name__", Value: traceql.StringStatic(fn)}}
	}
}

func all(genTrace, *model.Span) bool { return true }

func seconds(s *model.Span) (float64, bool) {
	return float64(s.EndTimeUnixNano-s.StartTimeUnixNano) / 1e9, true
}

func intAttr(key string) func(s *model.Span) (float64, bool) {
	return func(s *model.Span) (float64, bool) {
		v, ok := s.Attributes.Get(key)
		return float64(v.Int), ok
	}
}

func metricsCases() []metricsCase {
	return []metricsCase{
		{name: "rate", query: `{ } | rate()`, match: all, labels: nameLabel("rate"), agg: "rate"},
		{name: "count_by_service", query: `{ } | count_over_time() by (resource.service.name)`,
			match: all, labels: serviceLabel, agg: "count"},
		{name: "errors_by_status_code_with_nils", query: `{ status = error } | count_over_time() by (span.http.status_code, resource.service.name)`,
			match: func(_ genTrace, s *model.Span) bool { return s.StatusCode == model.StatusError },
			labels: func(s *model.Span) []MetricsLabel {
				var l []MetricsLabel
				if v, ok := s.Attributes.Get("http.status_code"); ok {
					l = append(l, MetricsLabel{Key: "span.http.status_code", Value: traceql.IntStatic(v.Int)})
				}
				return append(l, serviceLabel(s)...)
			}, agg: "count"},
		{name: "all_nil_labels", query: `{ resource.service.name = "frontend" } | count_over_time() by (span.size)`,
			match:  func(_ genTrace, s *model.Span) bool { return service(s) == "frontend" },
			labels: func(*model.Span) []MetricsLabel { return []MetricsLabel{{Key: "span.size"}} }, agg: "count"},
		{name: "avg_duration_seconds", query: `{ } | avg_over_time(duration) by (resource.service.name)`,
			match: all, labels: serviceLabel, value: seconds, agg: "avg"},
		{name: "sum_size", query: `{ kind = server } | sum_over_time(span.size)`,
			match:  func(_ genTrace, s *model.Span) bool { return s.Kind == model.KindServer },
			labels: nameLabel("sum_over_time"), value: intAttr("size"), agg: "sum"},
		{name: "min_size", query: `{ } | min_over_time(span.size) by (resource.service.name)`,
			match: all, labels: serviceLabel, value: intAttr("size"), agg: "min"},
		{name: "max_duration", query: `{ } | max_over_time(span:duration) by (resource.service.name)`,
			match: all, labels: serviceLabel, value: seconds, agg: "max"},
		{name: "quantiles", query: `{ } | quantile_over_time(duration, 0, .5, .9, .99, 1) by (resource.service.name)`,
			match: all, labels: serviceLabel, value: seconds, agg: "quantile", quantiles: []float64{0, .5, .9, .99, 1}},
		{name: "histogram", query: `{ resource.service.name = "postgres" } | histogram_over_time(duration)`,
			match:  func(_ genTrace, s *model.Span) bool { return service(s) == "postgres" },
			labels: func(*model.Span) []MetricsLabel { return nil }, value: seconds, agg: "hist"},
		{name: "structural_child_errors", query: `{ resource.service.name = "frontend" } > { status = error } | count_over_time() by (resource.service.name)`,
			match: func(tr genTrace, s *model.Span) bool {
				return s.StatusCode == model.StatusError && s.ParentSpanID == tr[0].SpanID
			}, labels: serviceLabel, agg: "count"},
		{name: "trace_level_root_service", query: `{ trace:rootService = "frontend" && span.size > 2500 } | rate() by (trace:rootService)`,
			match: func(_ genTrace, s *model.Span) bool {
				v, ok := s.Attributes.Get("size")
				return ok && v.Int > 2500
			}, labels: func(*model.Span) []MetricsLabel {
				return []MetricsLabel{{Key: "trace:rootService", Value: traceql.StringStatic("frontend")}}
			}, agg: "rate"},
		{name: "pipeline_count_filter", query: `{ } | count() > 2 | count_over_time() by (resource.service.name)`,
			match: func(tr genTrace, _ *model.Span) bool { return len(tr) > 2 }, labels: serviceLabel, agg: "count"},
		{name: "comparison_filter", query: `{ } | count_over_time() by (resource.service.name) > 9`,
			match: all, labels: serviceLabel, agg: "count", keep: func(v float64) bool { return v > 9 }},
		{name: "default_step", query: `{ } | count_over_time() by (resource.service.name)`, defaultStep: time.Second,
			match: all, labels: serviceLabel, agg: "count"},
		{name: "instant_rate", query: `{ } | rate() by (resource.service.name)`, instant: true,
			match: all, labels: serviceLabel, agg: "rate"},
		{name: "instant_quantile", query: `{ resource.service.name = "cart" } | quantile_over_time(duration, .5)`, instant: true,
			match:  func(_ genTrace, s *model.Span) bool { return service(s) == "cart" },
			labels: func(*model.Span) []MetricsLabel { return nil }, value: seconds, agg: "quantile", quantiles: []float64{.5}},
	}
}

func TestQueryRangeMatchesPlainGo(t *testing.T) {
	traces := metricsDataset(600, metricsBase, uint64(time.Second))
	q := openMetricsStore(t, traces, Options{})
	wholeTraces := *q
	wholeTraces.spanPath = false
	unprojected := *q
	unprojected.project = false
	start := metricsBase + uint64(65*time.Second) + 123
	end := metricsBase + uint64(8*time.Minute+2*time.Second)
	for _, c := range metricsCases() {
		t.Run(c.name, func(t *testing.T) {
			tq, err := traceql.Parse(c.query)
			if err != nil {
				t.Fatal(err)
			}
			step := uint64(30 * time.Second)
			req := MetricsRequest{Query: tq, StartUnixNano: start, EndUnixNano: end, StepNano: step, Instant: c.instant}
			if c.defaultStep != 0 {
				req.StepNano, step = 0, uint64(c.defaultStep)
			}
			want := expectedSeries(c, traces, start, end, step)
			if len(want) == 0 {
				t.Fatal("the case expects no series; it tests nothing")
			}
			// Span-local queries take the span path; check the whole-trace
			// path gives the same answer.
			paths := map[string]*Querier{"whole_traces": &wholeTraces}
			if spanLocal(tq) {
				paths["spans"] = q
				paths["whole_spans"] = &unprojected
			}
			for path, pq := range paths {
				res, err := pq.QueryRange(context.Background(), "t", req)
				if err != nil {
					t.Fatalf("%s: %v", path, err)
				}
				compareSeries(t, path, seriesMap(res.Series), want)
				if res.InspectedTraces == 0 || res.InspectedSpans < res.InspectedTraces {
					t.Errorf("%s: inspected %d traces, %d spans", path, res.InspectedTraces, res.InspectedSpans)
				}
				if !sort.SliceIsSorted(res.Series, func(i, j int) bool {
					return compareLabels(res.Series[i].Labels, res.Series[j].Labels) < 0
				}) {
					t.Errorf("%s: series are not sorted by labels", path)
				}
			}
		})
	}
}

// expectedSeries computes a case's answer from the generated traces.
func expectedSeries(c metricsCase, traces []genTrace, start, end, step uint64) map[string][]MetricsSample {
	first, last := (start+step-1)/step*step, (end+step-1)/step*step
	width := float64(step) / 1e9
	if c.instant {
		first, last, width = end, end, float64(end-start)/1e9
	}
	type cell struct {
		labels string
		at     uint64
	}
	obs := map[cell][]float64{}
	names := map[string]bool{}
	for _, tr := range traces {
		for i := range tr {
			s := &tr[i]
			ts := s.StartTimeUnixNano
			at := (ts + step - 1) / step * step
			if c.instant {
				if ts < start || ts > end {
					continue
				}
				at = end
			} else if at < first || at > last {
				continue
			}
			if !c.match(tr, s) {
				continue
			}
			v := 1.0
			if c.value != nil {
				var ok bool
				if v, ok = c.value(s); !ok {
					continue
				}
			}
			labels := c.labels(s)
			if c.agg == "hist" {
				labels = append(labels, MetricsLabel{Key: "__bucket", Value: traceql.FloatStatic(pow2Above(s.EndTimeUnixNano-s.StartTimeUnixNano) / 1e9)})
			}
			key := labelText(labels)
			names[key] = true
			obs[cell{key, at}] = append(obs[cell{key, at}], v)
		}
	}
	out := map[string][]MetricsSample{}
	add := func(key string, at uint64, v float64) {
		if c.keep == nil || c.keep(v) {
			out[key] = append(out[key], MetricsSample{TimestampUnixMilli: int64(at / 1e6), Value: v})
		}
	}
	for key := range names {
		for at := first; at <= last; at += step {
			vs := obs[cell{key, at}]
			switch c.agg {
			case "rate":
				add(key, at, float64(len(vs))/width)
			case "count", "hist":
				add(key, at, float64(len(vs)))
			case "quantile":
				if len(vs) == 0 {
					continue
				}
				for _, p := range c.quantiles {
					qkey := key
					if qkey != "" {
						qkey += ","
					}
					qkey += labelText([]MetricsLabel{{Key: "p", Value: traceql.FloatStatic(p)}})
					out[qkey] = append(out[qkey], MetricsSample{TimestampUnixMilli: int64(at / 1e6), Value: tempoQuantile(p, vs)})
				}
			default:
				if len(vs) == 0 {
					continue
				}
				add(key, at, fold(c.agg, vs))
			}
			if c.instant {
				break
			}
		}
	}
	return out
}

func fold(agg string, vs []float64) float64 {
	switch agg {
	case "min":
		return slices.Min(vs)
	case "max":
		return slices.Max(vs)
	}
	sum := 0.0
	for _, v := range vs {
		sum += v
	}
	if agg == "avg" {
		return sum / float64(len(vs))
	}
	return sum
}

// pow2Above returns the smallest power of two at or above n.
func pow2Above(n uint64) float64 {
	b := uint64(1)
	for b < n {
		b *= 2
	}
	return float64(b)
}

// tempoQuantile computes Tempo's log2-histogram quantile of durations
// given in seconds, from the sorted values: the ⌈p·n⌉-th smallest value
// picks the bucket, and the result is interpolated exponentially between
// the highest lower bucket in use (or half the bucket) and the bucket.
func tempoQuantile(p float64, secs []float64) float64 {
	vs := slices.Clone(secs)
	slices.Sort(vs)
	bucket := func(v float64) float64 { return pow2Above(uint64(math.Round(v*1e9))) / 1e9 }
	rank := max(int(math.Ceil(p*float64(len(vs)))), 1)
	b := bucket(vs[rank-1])
	below, in, prev := 0, 0, b/2
	for _, v := range vs {
		switch vb := bucket(v); {
		case vb < b:
			below++
			if below == 1 || vb > prev {
				prev = vb
			}
		case vb == b:
			in++
		}
	}
	if below == 0 {
		prev = b / 2
	}
	if rank == below+in {
		return b
	}
	frac := float64(rank-below) / float64(in)
	return math.Exp2(math.Log2(prev) + (math.Log2(b)-math.Log2(prev))*frac)
}

func labelText(labels []MetricsLabel) string {
	parts := make([]string, len(labels))
	for i, l := range labels {
		parts[i] = l.Key + "=" + l.Value.String()
	}
	return strings.Join(parts, ",")
}

func seriesMap(series []MetricsSeries) map[string][]MetricsSample {
	out := map[string][]MetricsSample{}
	for _, s := range series {
		out[labelText(s.Labels)] = s.Samples
	}
	return out
}

func compareSeries(t *testing.T, path string, got, want map[string][]MetricsSample) {
	t.Helper()
	for key, w := range want {
		g, ok := got[key]
		if !ok {
			t.Errorf("%s: missing series {%s}", path, key)
			continue
		}
		if len(g) != len(w) {
			t.Errorf("%s: series {%s}: %d samples, want %d:\n got %v\nwant %v", path, key, len(g), len(w), g, w)
			continue
		}
		for i := range w {
			if g[i].TimestampUnixMilli != w[i].TimestampUnixMilli || !close(g[i].Value, w[i].Value) {
				t.Errorf("%s: series {%s} sample %d = %v, want %v", path, key, i, g[i], w[i])
			}
		}
	}
	for key := range got {
		if _, ok := want[key]; !ok {
			t.Errorf("%s: unexpected series {%s}: %v", path, key, got[key])
		}
	}
}

func close(a, b float64) bool {
	return a == b || math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}

// TestQueryRangeTopK checks topk and bottomk against the unlimited query:
// at every step they keep k series, none beaten by a series they dropped.
func TestQueryRangeTopK(t *testing.T) {
	traces := metricsDataset(300, metricsBase, uint64(time.Second))
	q := openMetricsStore(t, traces, Options{})
	run := func(query string) map[string][]MetricsSample {
		t.Helper()
		tq, err := traceql.Parse(query)
		if err != nil {
			t.Fatal(err)
		}
		res, err := q.QueryRange(context.Background(), "t", MetricsRequest{Query: tq, StartUnixNano: metricsBase,
			EndUnixNano: metricsBase + uint64(5*time.Minute), StepNano: uint64(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		return seriesMap(res.Series)
	}
	base := `{ } | avg_over_time(duration) by (resource.service.name)`
	full := run(base)
	if len(full) < 4 {
		t.Fatalf("need at least 4 series, have %d", len(full))
	}
	for _, tc := range []struct {
		name   string
		k      int
		bottom bool
	}{
		{"top1", 1, false},
		{"top2", 2, false},
		{"bottom2", 2, true},
		{"top_all", 10, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fn := "topk"
			if tc.bottom {
				fn = "bottomk"
			}
			got := run(base + " | " + fn + "(" + strconv.Itoa(tc.k) + ")")
			kept := map[int64][]float64{}
			for key, samples := range got {
				for _, s := range samples {
					if !slices.Contains(full[key], s) {
						t.Errorf("{%s} %v is not in the full result", key, s)
					}
					kept[s.TimestampUnixMilli] = append(kept[s.TimestampUnixMilli], s.Value)
				}
			}
			all := map[int64][]float64{}
			for _, samples := range full {
				for _, s := range samples {
					all[s.TimestampUnixMilli] = append(all[s.TimestampUnixMilli], s.Value)
				}
			}
			for ts, vs := range all {
				k := kept[ts]
				if len(k) != min(tc.k, len(vs)) {
					t.Fatalf("at %d: kept %d of %d series, want %d", ts, len(k), len(vs), min(tc.k, len(vs)))
				}
				slices.Sort(vs)
				slices.Sort(k)
				if tc.bottom && !slices.Equal(k, vs[:len(k)]) || !tc.bottom && !slices.Equal(k, vs[len(vs)-len(k):]) {
					t.Errorf("at %d: kept %v of %v", ts, k, vs)
				}
			}
		})
	}
}

func TestQueryRangeErrors(t *testing.T) {
	q := openMetricsStore(t, metricsDataset(10, metricsBase, uint64(time.Second)), Options{})
	for _, tc := range []struct {
		name  string
		query string
		req   MetricsRequest
		want  string
	}{
		{"search_query", `{ status = error }`, MetricsRequest{}, "not a metrics query"},
		{"compare", `{ } | compare({ status = error })`, MetricsRequest{}, "compare() is not supported"},
		{"end_before_start", `{ } | rate()`, MetricsRequest{StartUnixNano: metricsBase, EndUnixNano: metricsBase - 1}, "is not after start"},
		{"too_many_steps", `{ } | rate()`, MetricsRequest{StartUnixNano: metricsBase, EndUnixNano: metricsBase + uint64(time.Hour), StepNano: uint64(100 * time.Millisecond)}, "steps of 100ms"},
		{"step_below_ms", `{ } | rate()`, MetricsRequest{StartUnixNano: metricsBase, EndUnixNano: metricsBase + uint64(time.Second), StepNano: 1000}, "below 1ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tq, err := traceql.Parse(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			tc.req.Query = tq
			_, err = q.QueryRange(context.Background(), "t", tc.req)
			if !errors.Is(err, ErrInvalidRequest) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrInvalidRequest with %q", err, tc.want)
			}
		})
	}
}

func TestQueryRangeTooManySeries(t *testing.T) {
	traces := metricsDataset(30, metricsBase, uint64(time.Second))
	q := openMetricsStore(t, traces, Options{MaxMetricsSeries: 50})
	tq, err := traceql.Parse(`{ } | count_over_time() by (span:id)`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = q.QueryRange(context.Background(), "t", MetricsRequest{Query: tq, StartUnixNano: metricsBase, EndUnixNano: metricsBase + uint64(time.Minute)})
	if !errors.Is(err, ErrInvalidRequest) || !strings.Contains(err.Error(), "series") {
		t.Fatalf("err = %v, want too many series", err)
	}
}

func TestDefaultMetricsStep(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    time.Duration
		want time.Duration
	}{
		{"hour", time.Hour, 15 * time.Second},
		{"day", 24 * time.Hour, 6 * time.Minute},
		{"ten_minutes", 10 * time.Minute, 2 * time.Second},
		{"minute", time.Minute, time.Second},
		{"second", time.Second, time.Second},
		{"empty", 0, time.Second},
		{"seven_hours", 7 * time.Hour, 105 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := DefaultMetricsStep(metricsBase, metricsBase+uint64(tc.r)); got != uint64(tc.want) {
				t.Errorf("DefaultMetricsStep(%s) = %s, want %s", tc.r, time.Duration(got), tc.want)
			}
		})
	}
}

func TestSpanLocal(t *testing.T) {
	for _, tc := range []struct {
		query string
		want  bool
	}{
		{`{ } | rate()`, true},
		{`{ status = error && span.http.status_code >= 500 } | rate() by (resource.service.name, span:id)`, true},
		{`{ !(duration > 1s) || .dc = "x" } | quantile_over_time(duration, .9) by (span:parentID)`, true},
		{`{ trace:rootService = "a" } | rate()`, false},
		{`{ } | rate() by (trace:rootName)`, false},
		{`{ } | avg_over_time(trace:duration)`, false},
		{`{ span:childCount > 2 } | rate()`, false},
		{`{ } > { } | rate()`, false},
		{`{ } && { } | rate()`, false},
		{`{ } | count() > 2 | rate()`, false},
		{`{ } | by(resource.service.name) | rate()`, false},
	} {
		t.Run(tc.query, func(t *testing.T) {
			tq, err := traceql.Parse(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			if got := spanLocal(tq); got != tc.want {
				t.Errorf("spanLocal = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestQueryRangeProjection runs span-local queries with and without the
// projection over a store with blocks and a head, many traces split
// between them, and checks the results are the same: the same series and
// sample times, and the same values (exactly but for float sums, which
// may add up in another order).
func TestQueryRangeProjection(t *testing.T) {
	traces := metricsDataset(900, metricsBase, uint64(time.Second)/2)
	q := openMetricsStore(t, traces, Options{})
	unprojected := *q
	unprojected.project = false
	start, end := metricsBase+uint64(7*time.Second), metricsBase+uint64(7*time.Minute)
	for _, query := range []string{
		`{ } | rate() by (resource.service.name)`,
		`{ } | count_over_time() by (resource.service.name, span.http.status_code)`,
		`{ status = error || span.size > 3000 } | sum_over_time(span.size) by (kind)`,
		`{ .http.status_code >= 500 } | quantile_over_time(duration, .5, .99) by (name)`,
		`{ resource.service.name =~ "c.*" } | histogram_over_time(duration) by (span:statusMessage)`,
		`{ span:parentID = nil } | min_over_time(duration) by (span:id)`,
		`{ } | avg_over_time(span.size) by (.service.name)`,
	} {
		t.Run(query, func(t *testing.T) {
			tq, err := traceql.Parse(query)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := tq.Projection(); !ok || !spanLocal(tq) {
				t.Fatal("the query does not take the projected span path")
			}
			req := MetricsRequest{Query: tq, StartUnixNano: start, EndUnixNano: end, StepNano: uint64(20 * time.Second)}
			got, err := q.QueryRange(context.Background(), "t", req)
			if err != nil {
				t.Fatal(err)
			}
			want, err := unprojected.QueryRange(context.Background(), "t", req)
			if err != nil {
				t.Fatal(err)
			}
			if len(want.Series) == 0 {
				t.Fatal("no series; the case tests nothing")
			}
			if got.InspectedSpans != want.InspectedSpans || got.InspectedTraces != want.InspectedTraces {
				t.Errorf("inspected %d spans of %d traces, want %d of %d", got.InspectedSpans, got.InspectedTraces, want.InspectedSpans, want.InspectedTraces)
			}
			sums := tq.Metrics.Func == traceql.MetricsSumOverTime || tq.Metrics.Func == traceql.MetricsAvgOverTime
			if sums {
				compareSeries(t, "projected", seriesMap(got.Series), seriesMap(want.Series))
				return
			}
			if !slices.EqualFunc(got.Series, want.Series, func(a, b MetricsSeries) bool {
				return compareLabels(a.Labels, b.Labels) == 0 && slices.Equal(a.Samples, b.Samples)
			}) {
				t.Errorf("projected series differ:\n got %v\nwant %v", got.Series, want.Series)
			}
		})
	}
}
