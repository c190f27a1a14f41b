package query

import (
	"context"
	"testing"
	"time"

	"waymark/internal/query/traceql"
)

// BenchmarkQueryRange runs metrics queries over one hour of generated
// traces (20,000 traces, about 45,000 spans), stored as ingest stores them:
// a block per minute of data, the last minute in the head. It reports the
// spans evaluated per second. The structural query reads whole traces, so
// it runs over 5 minutes only. Span-local queries run with whole spans
// read and with the query's projection.
func BenchmarkQueryRange(b *testing.B) {
	const traces = 20_000
	gap := uint64(time.Hour) / traces
	q := openTimeOrderedStore(b, metricsDataset(traces, metricsBase, gap), time.Minute)
	for _, bq := range []struct {
		name, query string
		r           time.Duration
	}{
		{"rate_by_service", `{ } | rate() by (resource.service.name)`, time.Hour},
		{"errors_by_service", `{ status = error } | rate() by (resource.service.name)`, time.Hour},
		{"quantiles_by_service", `{ } | quantile_over_time(duration, .5, .99) by (resource.service.name)`, time.Hour},
		{"structural_5m", `{ resource.service.name = "frontend" } > { } | rate() by (resource.service.name)`, 5 * time.Minute},
	} {
		tq, err := traceql.Parse(bq.query)
		if err != nil {
			b.Fatal(err)
		}
		req := MetricsRequest{Query: tq, StartUnixNano: metricsBase, EndUnixNano: metricsBase + uint64(bq.r)}
		for _, project := range []bool{false, true} {
			if _, ok := tq.Projection(); project && !ok {
				continue
			}
			pq := *q
			pq.project = project
			read := map[bool]string{false: "whole_spans", true: "projected"}[project]
			benchQueryRange(b, bq.name+"/"+read, &pq, req)
		}
	}
}

// benchQueryRange runs one metrics request, reporting spans per second,
// time per inspected span and the spans per run (allocs/op over
// spans/op gives allocations per span).
func benchQueryRange(b *testing.B, name string, q *Querier, req MetricsRequest) {
	b.Run(name, func(b *testing.B) {
		b.ReportAllocs()
		var spans uint64
		for b.Loop() {
			res, err := q.QueryRange(context.Background(), "t", req)
			if err != nil {
				b.Fatal(err)
			}
			if len(res.Series) == 0 {
				b.Fatal("no series")
			}
			spans += res.InspectedSpans
		}
		b.ReportMetric(float64(spans)/b.Elapsed().Seconds(), "spans/s")
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(spans), "ns/span")
		b.ReportMetric(float64(spans)/float64(b.N), "spans/op")
	})
}

// BenchmarkAggregate measures the engine's own cost per span, without
// storage: evaluating the query on in-memory traces and folding the
// matched spans into series.
func BenchmarkAggregate(b *testing.B) {
	traces := metricsDataset(2000, metricsBase, uint64(time.Hour)/2000)
	spans := 0
	for _, tr := range traces {
		spans += len(tr)
	}
	for _, bq := range []struct{ name, query string }{
		{"rate_by_service", `{ } | rate() by (resource.service.name)`},
		{"quantiles_by_service", `{ } | quantile_over_time(duration, .5, .99) by (resource.service.name)`},
		{"errors_by_two_fields", `{ status = error } | count_over_time() by (resource.service.name, span.size)`},
	} {
		tq, err := traceql.Parse(bq.query)
		if err != nil {
			b.Fatal(err)
		}
		g, err := newGrid(MetricsRequest{StartUnixNano: metricsBase, EndUnixNano: metricsBase + uint64(time.Hour)})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bq.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				agg := newAggregator(tq.Metrics, g, DefaultMaxMetricsSeries)
				for _, tr := range traces {
					if err := tq.Observe(tr, agg.fields, agg.observe); err != nil {
						b.Fatal(err)
					}
				}
				if len(agg.result()) == 0 {
					b.Fatal("no series")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
		})
	}
}
