package compact

import (
	"context"
	"runtime"
	rtmetrics "runtime/metrics"
	"testing"
	"time"

	"waymark/internal/loadgen"
	"waymark/internal/model"
	"waymark/internal/store/block"
)

// benchInputs writes four level-0 blocks of the reference workload, 50,000
// spans each, the last repeating a tenth of the first.
func benchInputs(b *testing.B, varied bool) []*block.Block {
	b.Helper()
	bkt := newBucket(b)
	shape := loadgen.ReferenceShape()
	shape.Varied = varied
	var blocks []*block.Block
	var first []model.Span
	for i := 0; i < 4; i++ {
		td := loadgen.BuildTraces(shape, benchTraces, 1e18+uint64(i)*1e9, uint64(i+1))
		spans := model.SpansFromTraces(nil, td)
		// BuildTraces reuses marker IDs; make each block's traces distinct.
		for j := range spans {
			spans[j].TraceID[15] = byte(i)
		}
		if i == 0 {
			first = spans
		}
		if i == 3 {
			spans = append(spans, first[:len(first)/10]...)
		}
		blocks = append(blocks, writeBlock(b, bkt, "t", 0, spans))
	}
	return blocks
}

// benchTraces is the number of traces of each input block (5 spans each).
const benchTraces = 10_000

func BenchmarkMerge(b *testing.B) {
	blocks := benchInputs(b, false)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	var spans int
	for b.Loop() {
		m, err := Merge(ctx, blocks, func([]model.Span) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
		spans += m.Spans + m.Duplicates
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(spans), "ns/span")
}

// watchHeap samples the heap (live and not yet collected objects) until
// the returned function is called, which returns the largest growth seen
// over the heap at the start. It shows how memory grows with the merge.
func watchHeap() (peak func() uint64) {
	const name = "/memory/classes/heap/objects:bytes"
	runtime.GC()
	sample := []rtmetrics.Sample{{Name: name}}
	rtmetrics.Read(sample)
	base := sample[0].Value.Uint64()
	done, result := make(chan struct{}), make(chan uint64)
	go func() {
		s := []rtmetrics.Sample{{Name: name}}
		var top uint64
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				result <- top
				return
			case <-tick.C:
				rtmetrics.Read(s)
				top = max(top, s[0].Value.Uint64())
			}
		}
	}()
	return func() uint64 {
		close(done)
		return max(<-result, base) - base
	}
}

// BenchmarkCompact merges four blocks of 50,000 spans (benchInputs) into
// one; peak-heap-MiB is the largest heap growth seen while it runs.
func BenchmarkCompact(b *testing.B) {
	for _, tc := range []struct {
		name   string
		varied bool
	}{{"reference", false}, {"varied", true}} {
		b.Run(tc.name, func(b *testing.B) {
			blocks := benchInputs(b, tc.varied)
			g := Group{Tenant: "t", Level: 1}
			for _, bl := range blocks {
				g.Inputs = append(g.Inputs, bl.Meta())
			}
			bkt := newBucket(b)
			c := New(bkt, Config{})
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			var spans, bytes int64
			peak := watchHeap()
			for b.Loop() {
				res, err := c.Compact(ctx, g, blocks, nil, func(context.Context, block.Meta) error { return nil })
				if err != nil {
					b.Fatal(err)
				}
				spans += res.Meta.SpanCount
				bytes += res.Meta.DataSize + res.Meta.IndexSize
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(spans), "ns/span")
			b.ReportMetric(float64(bytes)/float64(spans), "disk-bytes/span")
			b.ReportMetric(float64(peak())/(1<<20), "peak-heap-MiB")
		})
	}
}
