package block

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/thanos-io/objstore/providers/filesystem"

	"waymark/internal/model"
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
// 100k spans on local disk.
func BenchmarkBlockFindTraceByID(b *testing.B) {
	blk, spans := benchBlock(b, 20_000)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		id := spans[(i*7919*5)%len(spans)].TraceID
		got, err := blk.FindTrace(ctx, id)
		if err != nil || len(got) != 5 {
			b.Fatalf("FindTrace: %d spans, %v", len(got), err)
		}
	}
}
