package queue

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkQueuePut measures durable Puts of a 64 KiB item (a batch of a
// few hundred spans) by 1 and by 8 concurrent producers; fsyncs/op shows
// how many Puts share one fsync.
func BenchmarkQueuePut(b *testing.B) {
	for _, producers := range []int{1, 8} {
		b.Run(fmt.Sprintf("producers=%d", producers), func(b *testing.B) {
			reg := prometheus.NewRegistry()
			q, err := Open(b.TempDir(), Options{Config: Config{CapacityBytes: 1 << 40}, Registerer: reg})
			if err != nil {
				b.Fatal(err)
			}
			item := make([]byte, 64<<10)
			b.SetBytes(int64(len(item)))
			b.ReportAllocs()
			b.ResetTimer()
			var wg sync.WaitGroup
			per := b.N / producers
			for p := 0; p < producers; p++ {
				n := per
				if p == 0 {
					n += b.N % producers
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < n; i++ {
						if err := q.Put(context.Background(), item); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			mfs, err := reg.Gather()
			if err != nil {
				b.Fatal(err)
			}
			for _, mf := range mfs {
				if mf.GetName() == "waymark_queue_fsyncs_total" {
					b.ReportMetric(mf.GetMetric()[0].GetCounter().GetValue()/float64(b.N), "fsyncs/op")
				}
			}
			if err := q.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkQueueGetAck measures reading and acking items already queued.
func BenchmarkQueueGetAck(b *testing.B) {
	q, err := Open(b.TempDir(), Options{Config: Config{CapacityBytes: 1 << 40, AckSyncInterval: time.Second}})
	if err != nil {
		b.Fatal(err)
	}
	item := make([]byte, 4<<10)
	for i := 0; i < b.N; i++ {
		if err := q.appendOnly(item); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(item)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		it, err := q.Get(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if err := q.Ack(it); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if err := q.Close(); err != nil {
		b.Fatal(err)
	}
}

// appendOnly queues an item without waiting for an fsync, to fill a queue
// quickly before a read benchmark.
func (q *Queue) appendOnly(item []byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	_, err := q.appendLocked(item)
	return err
}
