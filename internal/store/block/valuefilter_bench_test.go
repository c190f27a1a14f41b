package block

import "testing"

// BenchmarkValueCollector measures building the value filter, the part of a
// block write it adds: the reference shape (no key has many values) and
// the varied mix (a request ID per span), per span including finish. It
// is the first to read the spans' attributes, which a write's row builder
// has just read, so it overstates the cost within a write: compare
// BenchmarkBlockWrite with and without the filter for that.
func BenchmarkValueCollector(b *testing.B) {
	for _, tc := range []struct {
		name   string
		varied bool
	}{{"workload-100k", false}, {"varied-100k", true}} {
		b.Run(tc.name, func(b *testing.B) {
			spans := sortedCopy(newWorkload(1, tc.varied).traces(20_000))
			b.ReportAllocs()
			b.ResetTimer()
			var words int
			for range b.N {
				var c valueCollector
				for i := range spans {
					c.add(&spans[i])
				}
				f := c.finish()
				words = len(f.bloom.words)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(spans)), "ns/span")
			b.ReportMetric(float64(words*8)/float64(len(spans)), "filter-bytes/span")
		})
	}
}
