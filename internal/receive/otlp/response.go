package otlp

import (
	"encoding/json"
	"strconv"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protowire"
)

// appendResponseProto appends an ExportTraceServiceResponse whose
// partial_success holds rejected and msg; with neither it is empty.
func appendResponseProto(b []byte, rejected int64, msg string) []byte {
	if rejected == 0 && msg == "" {
		return b
	}
	var ps []byte
	if rejected != 0 {
		ps = protowire.AppendTag(ps, 1, protowire.VarintType)
		ps = protowire.AppendVarint(ps, uint64(rejected))
	}
	if msg != "" {
		ps = protowire.AppendTag(ps, 2, protowire.BytesType)
		ps = protowire.AppendString(ps, msg)
	}
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	return protowire.AppendBytes(b, ps)
}

// partialSuccessJSON is ExportTracePartialSuccess in OTLP/JSON.
type partialSuccessJSON struct {
	RejectedSpans string `json:"rejectedSpans,omitempty"`
	ErrorMessage  string `json:"errorMessage,omitempty"`
}

// responseJSON is ExportTraceServiceResponse in OTLP/JSON.
type responseJSON struct {
	PartialSuccess *partialSuccessJSON `json:"partialSuccess,omitempty"`
}

// responseJSONBytes encodes an ExportTraceServiceResponse in OTLP/JSON:
// "{}" when nothing was rejected.
func responseJSONBytes(rejected int64, msg string) []byte {
	var r responseJSON
	if rejected != 0 || msg != "" {
		r.PartialSuccess = &partialSuccessJSON{ErrorMessage: msg}
		if rejected != 0 {
			r.PartialSuccess.RejectedSpans = strconv.FormatInt(rejected, 10)
		}
	}
	b, _ := json.Marshal(r) // cannot fail: strings only
	return b
}

// statusProto encodes a google.rpc.Status.
func statusProto(code codes.Code, msg string) []byte {
	var b []byte
	if code != codes.OK {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(code))
	}
	if msg != "" {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, msg)
	}
	return b
}

// statusJSON encodes a google.rpc.Status in JSON.
func statusJSON(code codes.Code, msg string) []byte {
	b, _ := json.Marshal(struct {
		Code    int32  `json:"code,omitempty"`
		Message string `json:"message,omitempty"`
	}{int32(code), msg}) // cannot fail: an int and a string
	return b
}
