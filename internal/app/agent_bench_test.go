package app

import (
	"context"
	"syscall"
	"testing"

	"waymark/internal/export/otlp"
	"waymark/internal/queue"
)

// BenchmarkFanout puts 256 KiB items (about 1000 spans each) from eight
// concurrent callers into one and into two durable queues, as the agent
// does for each batch. Wall time is mostly fsync waits; cpu-ns/span is the
// process CPU the puts cost.
func BenchmarkFanout(b *testing.B) {
	item := make([]byte, 256<<10)
	for i := range item {
		item[i] = byte(i)
	}
	for _, n := range []int{1, 2} {
		b.Run(map[int]string{1: "one-queue", 2: "two-queues"}[n], func(b *testing.B) {
			qs := make([]otlp.Putter, n)
			for i := range qs {
				q, err := queue.Open(b.TempDir(), queue.Options{Config: queue.Config{CapacityBytes: 1 << 40}})
				if err != nil {
					b.Fatal(err)
				}
				defer q.Close()
				qs[i] = q
			}
			put := fanout(qs)
			b.SetBytes(int64(len(item)))
			b.SetParallelism(4)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuNanos(b)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := put.Put(context.Background(), item); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(cpuNanos(b)-cpu0)/float64(b.N*1000), "cpu-ns/span")
		})
	}
}

// cpuNanos returns the process's user and system CPU time.
func cpuNanos(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
