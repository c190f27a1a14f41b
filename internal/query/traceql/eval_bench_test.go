package traceql

import "testing"

// BenchmarkEval evaluates queries over the generated dataset, one trace
// per iteration, and reports the cost per span evaluated.
func BenchmarkEval(b *testing.B) {
	traces := genDataset(200)
	queries := append(benchQueries[:len(benchQueries):len(benchQueries)],
		struct{ name, query string }{"match_all", `{}`},
		struct{ name, query string }{"unscoped_and_arith", `{ .dc = "us-west" && span.bytes * 2 > 8000 }`},
	)
	for _, bq := range queries {
		q, err := Parse(bq.query)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bq.name, func(b *testing.B) {
			b.ReportAllocs()
			spans, i := 0, 0
			for b.Loop() {
				tr := traces[i%len(traces)]
				i++
				if _, err := q.Eval(tr); err != nil {
					b.Fatal(err)
				}
				spans += len(tr)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(spans), "ns/span")
		})
	}
}
