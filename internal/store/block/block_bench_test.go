package block

import (
	"context"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/thanos-io/objstore"

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

// writeStreamed writes sorted spans through a Writer, a trace per Add call,
// as a compaction does.
func writeStreamed(ctx context.Context, bkt objstore.Bucket, spans []model.Span, traces int) (Meta, error) {
	w, err := NewWriter(ctx, bkt, "bench", WriteOptions{}, traces)
	if err != nil {
		return Meta{}, err
	}
	defer w.Abort()
	for start, i := 0, 1; i <= len(spans); i++ {
		if i == len(spans) || spans[i].TraceID != spans[start].TraceID {
			if err := w.Add(spans[start:i]); err != nil {
				return Meta{}, err
			}
			start = i
		}
	}
	return w.Close()
}

// benchWrite writes blocks of the given number of traces with Write, or
// with streamed set through a Writer fed trace by trace.
func benchWrite(b *testing.B, traces int, varied, streamed bool) {
	ctx := context.Background()
	bkt := newBucket(b)
	spans := newWorkload(1, varied).traces(traces)
	write := func() (Meta, error) { return Write(ctx, bkt, "bench", spans, WriteOptions{}) }
	if streamed {
		spans = sortedCopy(spans)
		write = func() (Meta, error) { return writeStreamed(ctx, bkt, spans, traces) }
	}
	b.ReportAllocs()
	var (
		size int64
		cpu  time.Duration
	)
	b.ResetTimer()
	for range b.N {
		c0 := cpuTime(b)
		meta, err := write()
		if err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime(b) - c0
		size = meta.DataSize + meta.IndexSize
		b.StopTimer()
		if err := Delete(ctx, bkt, "bench", meta.ID); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	total := float64(b.N * len(spans))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/total, "ns/span")
	b.ReportMetric(float64(cpu.Nanoseconds())/total, "cpu-ns/span")
	b.ReportMetric(float64(size)/float64(len(spans)), "bytes/span")
}

// BenchmarkBlockWrite measures writing blocks of the reference workload
// shape and of a mix with varied values, of 100k and 1M spans, with Write
// and (streamed-*) through a Writer fed trace by trace. bytes/span counts
// data.parquet and the index.
func BenchmarkBlockWrite(b *testing.B) {
	b.Run("workload-100k", func(b *testing.B) { benchWrite(b, 20_000, false, false) })
	b.Run("varied-100k", func(b *testing.B) { benchWrite(b, 20_000, true, false) })
	b.Run("workload-1M", func(b *testing.B) { benchWrite(b, 200_000, false, false) })
	b.Run("varied-1M", func(b *testing.B) { benchWrite(b, 200_000, true, false) })
	b.Run("streamed-varied-100k", func(b *testing.B) { benchWrite(b, 20_000, true, true) })
}

// reportLatency reports CPU time per op and wall-clock percentiles.
func reportLatency(b *testing.B, cpu time.Duration, lat []time.Duration) {
	slices.Sort(lat)
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}

// BenchmarkBlockRead reads a block of 1M spans of the varied mix on local
// disk. cpu-ns/op is the process CPU time per operation; p50-ns and p99-ns
// are wall-clock latencies, which a loaded machine inflates.
//
//   - find-trace looks up random stored trace IDs.
//   - limit20-service finds the 20 newest traces of a service that a fifth
//     of all spans have; limit20-service-route adds a route condition;
//     all-service finds every trace of that service (no limit).
//   - rare-generic-absent and rare-generic-one scan a generic attribute
//     column for a value no span has and one span has.
//   - rare-dedicated scans a dedicated column for a value no span has.
func BenchmarkBlockRead(b *testing.B) {
	spans := newWorkload(11, true).traces(200_000)
	blk := writeOpen(b, newBucket(b), spans, WriteOptions{})
	ctx := context.Background()
	// The same block read through range requests, as on object storage.
	ranged, err := Open(ctx, rangeBucket{blk.bkt}, "tenant-a", blk.Meta().ID)
	if err != nil {
		b.Fatal(err)
	}
	for name, blk := range map[string]*Block{"find-trace": blk, "find-trace-ranges": ranged} {
		b.Run(name, func(b *testing.B) {
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
		})
	}
	rare := spans[len(spans)/3]
	withService2 := map[model.TraceID]bool{}
	for i := range spans {
		if spans[i].Resource.ServiceName == "service-2" {
			withService2[spans[i].TraceID] = true
		}
	}
	cases := []struct {
		name  string
		want  int
		conds []filter.Condition
	}{
		{"limit20-service", 20, []filter.Condition{
			{Scope: filter.ScopeResource, Key: "service.name", Op: filter.OpEq, Value: model.StringValue("service-2")},
		}},
		{"limit20-service-route", 20, []filter.Condition{
			{Scope: filter.ScopeResource, Key: "service.name", Op: filter.OpEq, Value: model.StringValue("service-2")},
			{Scope: filter.ScopeSpan, Key: "http.route", Op: filter.OpEq, Value: model.StringValue("/api/v1/users/{id}")},
		}},
		{"all-service", len(withService2), []filter.Condition{
			{Scope: filter.ScopeResource, Key: "service.name", Op: filter.OpEq, Value: model.StringValue("service-2")},
		}},
		{"rare-generic-absent", 0, []filter.Condition{
			{Scope: filter.ScopeAny, Key: "request.id", Op: filter.OpEq, Value: model.StringValue("no-such-request")},
		}},
		{"rare-generic-one", 1, []filter.Condition{
			{Scope: filter.ScopeAny, Key: "request.id", Op: filter.OpEq, Value: rare.Attributes[6].Value},
		}},
		{"rare-dedicated", 0, []filter.Condition{
			{Scope: filter.ScopeSpan, Key: "http.route", Op: filter.OpEq, Value: model.StringValue("/api/v1/none/{id}")},
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			req := filter.Request{Conditions: tc.conds}
			if tc.want == 20 {
				req.Limit = 20
			}
			if err := req.Compile(); err != nil {
				b.Fatal(err)
			}
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
				if found != tc.want {
					b.Fatalf("found %d traces, want %d", found, tc.want)
				}
			}
			reportLatency(b, cpuTime(b)-c0, lat)
		})
	}
}
