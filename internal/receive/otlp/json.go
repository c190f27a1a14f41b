package otlp

import (
	"fmt"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"waymark/internal/model"
)

// DecodeJSON appends the spans of an OTLP/JSON ExportTraceServiceRequest
// to dst. It follows the OTLP/JSON rules: hex trace and span IDs, integer
// enums (names are accepted too), 64-bit integers as strings or numbers,
// lowerCamelCase keys, unknown fields ignored. Strings in the result may
// share memory with pdata's decoding of b but not with b itself.
func DecodeJSON(dst []model.Span, b []byte) ([]model.Span, error) {
	var u ptrace.JSONUnmarshaler
	td, err := u.UnmarshalTraces(b)
	if err != nil {
		return dst, fmt.Errorf("decode otlp json: %w", err)
	}
	return model.SpansFromTraces(dst, td), nil
}
