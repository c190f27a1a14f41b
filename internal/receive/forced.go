package receive

import (
	"encoding/binary"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"waymark/internal/model"
)

// SamplingPriorityKey is the span attribute (an OpenTracing convention)
// whose positive value tells samplers to keep a span. Receivers set it to
// 1 on spans their protocol marks debug: Zipkin's debug field and
// X-B3-Flags: 1, Jaeger's debug flag.
const SamplingPriorityKey = "sampling.priority"

// SpanRef names a span by its IDs. Both halves of a Zipkin shared span have
// the same SpanRef, as they share one span context.
type SpanRef struct {
	TraceID model.TraceID
	SpanID  model.SpanID
}

// MarkForced gives each span of spans named in forced the attribute
// sampling.priority=1, unless it has a sampling.priority already. The
// attribute lists of marked spans are copied, never changed in place.
func MarkForced(spans []model.Span, forced map[SpanRef]bool) {
	if len(forced) == 0 {
		return
	}
	for i := range spans {
		s := &spans[i]
		if !forced[SpanRef{s.TraceID, s.SpanID}] {
			continue
		}
		if _, ok := s.Attributes.Get(SamplingPriorityKey); ok {
			continue
		}
		attrs := make(model.Attributes, len(s.Attributes), len(s.Attributes)+1)
		copy(attrs, s.Attributes)
		s.Attributes = append(attrs, model.Attribute{Key: SamplingPriorityKey, Value: model.IntValue(1)})
	}
}

// NewSpanRef builds a SpanRef from the 64-bit halves of a trace ID and a
// span ID, as Zipkin and Jaeger carry them.
func NewSpanRef(traceHigh, traceLow, spanID uint64) SpanRef {
	var r SpanRef
	binary.BigEndian.PutUint64(r.TraceID[:8], traceHigh)
	binary.BigEndian.PutUint64(r.TraceID[8:], traceLow)
	binary.BigEndian.PutUint64(r.SpanID[:], spanID)
	return r
}

// AppendTraces appends the spans of td to dst (see model.SpansFromTraces)
// and marks those named in forced (see MarkForced).
func AppendTraces(dst []model.Span, td ptrace.Traces, forced map[SpanRef]bool) []model.Span {
	start := len(dst)
	dst = model.SpansFromTraces(dst, td)
	MarkForced(dst[start:], forced)
	return dst
}
