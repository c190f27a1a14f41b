package jaegergrpc

import (
	"fmt"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"waymark/internal/model"
)

// maxChunkBytes bounds the encoded size of one TracesData message that
// api_v3 streams: half of gRPC's default 4 MiB receive limit, so that any
// client can read every chunk of a trace of any size.
const maxChunkBytes = 2 << 20

// otlpChunks encodes spans as OTLP TracesData messages of at most limit
// bytes each and passes each encoding to emit, in span order. Spans that
// share a resource and scope should be adjacent (jaegerquery.GroupByScope)
// so that each message repeats a resource and scope once. A span that alone
// exceeds limit is sent in a message of its own. The encoding is pdata's,
// which is wire-identical to the generated TracesData.
func otlpChunks(spans []model.Span, limit int, emit func([]byte) error) error {
	var m ptrace.ProtoMarshaler
	td := model.TracesFromSpans(spans)
	size := m.TracesSize(td)
	if size <= limit || len(spans) <= 1 {
		b, err := m.MarshalTraces(td)
		if err != nil {
			return fmt.Errorf("encode otlp traces: %w", err)
		}
		return emit(b)
	}
	// Cut into parts expected to fit; a part that still does not (its
	// spans being larger than the average) is cut again.
	parts := min(len(spans), size/limit+1)
	per := (len(spans) + parts - 1) / parts
	for i := 0; i < len(spans); i += per {
		if err := otlpChunks(spans[i:min(i+per, len(spans))], limit, emit); err != nil {
			return err
		}
	}
	return nil
}
