package compact

import (
	"context"
	"testing"

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
		})
	}
}
