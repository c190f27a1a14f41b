package block

import (
	"context"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/thanos-io/objstore/providers/filesystem"

	"waymark/internal/model"
	"waymark/internal/store/filter"
)

// cpuTime returns the CPU time the process has used, user plus system. On a
// shared machine it measures cost better than wall time.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchWrite(b *testing.B, varied bool) {
	ctx := context.Background()
	bkt, err := filesystem.NewBucket(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	const n = 20_000 // traces: 100k spans
	spans := newWorkload(1, varied).traces(n)
	b.ReportAllocs()
	var (
		size int64
		cpu  time.Duration
	)
	b.ResetTimer()
	for range b.N {
		c0 := cpuTime(b)
		meta, err := Write(ctx, bkt, "bench", spans, WriteOptions{})
		if err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime(b) - c0
		size = meta.DataSize + meta.IndexSize
	}
	total := float64(b.N * len(spans))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/total, "ns/span")
	b.ReportMetric(float64(cpu.Nanoseconds())/total, "cpu-ns/span")
	b.ReportMetric(float64(size)/float64(len(spans)), "bytes/span")
}

// BenchmarkBlockWrite measures writing a 100k-span block of the reference
// workload shape, and of a mix with varied values. bytes/span counts
// data.parquet and the index.
func BenchmarkBlockWrite(b *testing.B) {
	b.Run("workload", func(b *testing.B) { benchWrite(b, false) })
	b.Run("varied", func(b *testing.B) { benchWrite(b, true) })
}

// benchBlock writes a block of n traces of the varied mix and opens it.
func benchBlock(b *testing.B, traces int) (*Block, []model.Span) {
	b.Helper()
	spans := newWorkload(11, true).traces(traces)
	blk := writeOpen(b, newBucket(b), spans, WriteOptions{})
	return blk, spans
}

// BenchmarkBlockFindTraceByID looks up random stored trace IDs in a block of
// 100k spans on local disk. cpu-ns/op is the process CPU time per lookup;
// p50-ns and p99-ns are wall-clock latencies, which a loaded machine inflates.
func BenchmarkBlockFindTraceByID(b *testing.B) {
	blk, spans := benchBlock(b, 20_000)
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	c0 := cpuTime(b)
	for i := range b.N {
		id := spans[(i*7919*5)%len(spans)].TraceID
		t0 := time.Now()
		got, err := blk.FindTrace(ctx, id)
		lat = append(lat, time.Since(t0))
		if err != nil || len(got) != 5 {
			b.Fatalf("FindTrace: %d spans, %v", len(got), err)
		}
	}
	reportLatency(b, cpuTime(b)-c0, lat)
}

// reportLatency reports CPU time per op and wall-clock percentiles.
func reportLatency(b *testing.B, cpu time.Duration, lat []time.Duration) {
	slices.Sort(lat)
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}

// BenchmarkBlockSearch runs searches over a block of 100k spans: a limit-20
// search by service and route, and full scans for a rare attribute value (a
// generic key) and a rare route (a dedicated column).
func BenchmarkBlockSearch(b *testing.B) {
	blk, spans := benchBlock(b, 20_000)
	rare := spans[len(spans)/3]
	cases := []struct {
		name string
		req  filter.Request
	}{
		{"limit20", filter.Request{Limit: 20, Conditions: []filter.Condition{
			{Scope: filter.ScopeResource, Key: "service.name", Op: filter.OpEq, Value: model.StringValue("service-2")},
			{Scope: filter.ScopeSpan, Key: "http.route", Op: filter.OpEq, Value: model.StringValue("/api/v1/users/{id}")},
		}}},
		{"scan-rare-generic", filter.Request{Conditions: []filter.Condition{
			{Scope: filter.ScopeAny, Key: "request.id", Op: filter.OpEq, Value: rare.Attributes[6].Value},
		}}},
		{"scan-rare-dedicated", filter.Request{Conditions: []filter.Condition{
			{Scope: filter.ScopeSpan, Key: "http.route", Op: filter.OpEq, Value: model.StringValue("/api/v1/none/{id}")},
		}}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			req := tc.req
			if err := req.Compile(); err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			lat := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			c0 := cpuTime(b)
			for range b.N {
				t0 := time.Now()
				found := 0
				if err := blk.Search(ctx, &req, func(filter.Match) bool { found++; return true }); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
				if tc.name == "limit20" && found != 20 || tc.name == "scan-rare-generic" && found != 1 {
					b.Fatalf("found %d traces", found)
				}
			}
			reportLatency(b, cpuTime(b)-c0, lat)
		})
	}
}
