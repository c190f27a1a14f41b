package loadgen

import (
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"waymark/internal/model"
)

func TestTemplateInstancesAreValidAndUnique(t *testing.T) {
	for _, shape := range []Shape{ReferenceShape(), {Services: 3, SpansPerTrace: 7, Depth: 3, Varied: true, ErrorRate: 0.3, PayloadBytes: 10}} {
		td := BuildTraces(shape, 50, 1_700_000_000_000_000_000, 1)
		tpl, err := NewTemplate(td, 50, (&ptrace.ProtoMarshaler{}).MarshalTraces, false)
		if err != nil {
			t.Fatal(err)
		}
		seenTraces := map[model.TraceID]bool{}
		seenSpans := map[model.SpanID]bool{}
		var buf []byte
		for seq := uint64(1); seq <= 20; seq++ {
			var ids [][16]byte
			buf, ids = tpl.Instance(buf, seq, ids)
			got, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(buf)
			if err != nil {
				t.Fatalf("instance %d does not decode: %v", seq, err)
			}
			spans := model.SpansFromTraces(nil, got)
			if len(spans) != 50*shape.SpansPerTrace || len(ids) != 50 {
				t.Fatalf("instance %d: %d spans, %d ids", seq, len(spans), len(ids))
			}
			bySpan := map[model.SpanID]model.Span{}
			for _, s := range spans {
				if seenSpans[s.SpanID] {
					t.Fatalf("span id %s repeats", s.SpanID)
				}
				seenSpans[s.SpanID] = true
				bySpan[s.SpanID] = s
				seenTraces[s.TraceID] = true
			}
			for _, s := range spans {
				if s.IsRoot() {
					continue
				}
				p, ok := bySpan[s.ParentSpanID]
				if !ok || p.TraceID != s.TraceID {
					t.Fatalf("span %s: parent %s not in the same trace", s.SpanID, s.ParentSpanID)
				}
			}
		}
		if len(seenTraces) != 20*50 {
			t.Fatalf("%d distinct trace ids, want %d", len(seenTraces), 20*50)
		}
	}
}

func BenchmarkTemplateInstance(b *testing.B) {
	for _, bc := range []struct {
		name  string
		shape Shape
		shift time.Duration
	}{
		{name: "reference", shape: ReferenceShape()},
		{name: "platform backdated", shape: PlatformShape(), shift: -30 * time.Minute},
	} {
		b.Run(bc.name, func(b *testing.B) {
			td := BuildTraces(bc.shape, 200, 1_700_000_000_000_000_000, 1)
			tpl, err := NewTemplate(td, 200, (&ptrace.ProtoMarshaler{}).MarshalTraces, false)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(tpl.Body)))
			b.ResetTimer()
			var buf []byte
			var ids [][16]byte
			for i := 0; i < b.N; i++ {
				buf, ids = tpl.InstanceAt(buf, uint64(i), ids[:0], bc.shift)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*tpl.Spans), "ns/span")
		})
	}
}
