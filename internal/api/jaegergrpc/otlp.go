package jaegergrpc

import (
	"fmt"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"waymark/internal/model"
)

const (
	// maxChunkBytes bounds the encoded size of one TracesData message that
	// api_v3 streams: half of gRPC's default 4 MiB receive limit, so that
	// any client can read every chunk of a trace of any size.
	maxChunkBytes = 2 << 20
	// sampleSpans is how many spans otlpChunks encodes to estimate the
	// size of a span.
	sampleSpans = 256
)

// otlpChunks encodes spans as OTLP TracesData messages of at most limit
// bytes each and passes each encoding to emit, in span order. Spans that
// share a resource and scope should be adjacent (jaegerquery.GroupByScope)
// so that each message repeats a resource and scope once. A span that alone
// exceeds limit is sent in a message of its own. The encoding is pdata's,
// which is wire-identical to the generated TracesData.
//
// The spans of a chunk are chosen from the size of a sample, aiming at
// three quarters of limit; a chunk that still exceeds limit is halved. A
// trace that fits is encoded once.
func otlpChunks(spans []model.Span, limit int, emit func([]byte) error) error {
	if len(spans) == 0 {
		return nil
	}
	var m ptrace.ProtoMarshaler
	sample := spans[:min(len(spans), sampleSpans)]
	td := model.TracesFromSpans(sample)
	size := m.TracesSize(td)
	if len(sample) == len(spans) && size <= limit {
		return marshalChunk(&m, td, emit)
	}
	per := max(1, limit*3/4/(size/len(sample)+1))
	for i := 0; i < len(spans); i += per {
		if err := emitChunk(&m, spans[i:min(i+per, len(spans))], limit, emit); err != nil {
			return err
		}
	}
	return nil
}

// emitChunk encodes spans as one message, or as two halves, recursively,
// while the message exceeds limit.
func emitChunk(m *ptrace.ProtoMarshaler, spans []model.Span, limit int, emit func([]byte) error) error {
	td := model.TracesFromSpans(spans)
	if len(spans) > 1 && m.TracesSize(td) > limit {
		mid := len(spans) / 2
		if err := emitChunk(m, spans[:mid], limit, emit); err != nil {
			return err
		}
		return emitChunk(m, spans[mid:], limit, emit)
	}
	return marshalChunk(m, td, emit)
}

func marshalChunk(m *ptrace.ProtoMarshaler, td ptrace.Traces, emit func([]byte) error) error {
	b, err := m.MarshalTraces(td)
	if err != nil {
		return fmt.Errorf("encode otlp traces: %w", err)
	}
	return emit(b)
}
