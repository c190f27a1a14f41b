package batch

import (
	"context"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"waymark/internal/model"
)

// BenchmarkBatchConsume merges 64-span batches from many concurrent
// callers into batches of 1024.
func BenchmarkBatchConsume(b *testing.B) {
	var sent atomic.Int64
	next := model.ConsumerFunc(func(_ context.Context, bb model.Batch) error {
		sent.Add(int64(len(bb.Spans)))
		return nil
	})
	bt := newBatcher(b, Config{MaxSpans: 1024, Timeout: 5 * time.Millisecond}, next, nil)
	const n = 64
	b.SetParallelism(32)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime(b)
	b.RunParallel(func(pb *testing.PB) {
		in := spans(n, "x")
		for pb.Next() {
			if err := bt.Consume(context.Background(), model.Batch{Tenant: "acme", Spans: in}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	// Callers wait for their batch to fill, so wall time says little;
	// the process CPU time per span is the cost that matters.
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N*n), "cpu-ns/span")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/span")
}

// cpuTime returns the process's user and system CPU time in nanoseconds.
func cpuTime(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
