package wal

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkWALAppend measures durable append throughput for several record
// sizes and numbers of concurrent appenders, and how many records each
// group commit's fdatasync covers.
func BenchmarkWALAppend(b *testing.B) {
	for _, size := range []struct {
		name  string
		bytes int
	}{{"1KiB", 1 << 10}, {"64KiB", 64 << 10}, {"1MiB", 1 << 20}} {
		for _, appenders := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("size=%s/appenders=%d", size.name, appenders), func(b *testing.B) {
				benchmarkAppend(b, size.bytes, appenders)
			})
		}
	}
}

func benchmarkAppend(b *testing.B, size, appenders int) {
	reg := prometheus.NewRegistry()
	w, err := Open(b.TempDir(), Options{Registerer: reg})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	ctx := context.Background()
	rec := testRecord(1, size) // Append only reads it, so appenders share it
	b.ReportAllocs()
	b.SetBytes(int64(size))
	b.ResetTimer()
	if appenders == 1 {
		for b.Loop() {
			if err := w.Append(ctx, rec); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		// RunParallel starts parallelism × GOMAXPROCS goroutines.
		b.SetParallelism(max(1, appenders/runtime.GOMAXPROCS(0)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := w.Append(ctx, rec); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	b.StopTimer()
	records, commits := groupCommitStats(b, reg)
	if commits > 0 {
		b.ReportMetric(records/commits, "records/fsync")
	}
}

// groupCommitStats returns the records and group commits the WAL counted.
func groupCommitStats(b *testing.B, reg *prometheus.Registry) (records, commits float64) {
	families, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "waymark_wal_group_commit_records" {
			h := f.GetMetric()[0].GetHistogram()
			return h.GetSampleSum(), float64(h.GetSampleCount())
		}
	}
	b.Fatal("group commit histogram not found")
	return 0, 0
}

// BenchmarkReplay measures how fast a segment decodes at startup.
func BenchmarkReplay(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10} {
		b.Run(fmt.Sprintf("record=%dKiB", size>>10), func(b *testing.B) {
			var data []byte
			var off int64
			rec := testRecord(1, size)
			for len(data) < 16<<20 {
				data, off = appendRecord(data, off, rec)
			}
			n := 0
			count := func(int, []byte) error { n++; return nil }
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				tail, err := scanSegment(context.Background(), bytes.NewReader(data), 0, count, func(*CorruptionError) {})
				if err != nil || tail != nil {
					b.Fatalf("scan: %v, tail %v", err, tail)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/record")
		})
	}
}
