package demo

import (
	"encoding/hex"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/trace"
)

// headerTraceResponse is the W3C Trace Context Level 2 response header the
// edge sets, so a client learns the trace its request started.
const headerTraceResponse = "Traceresponse"

// formatTraceResponse renders sc as "00-<trace-id>-<span-id>-<flags>".
func formatTraceResponse(sc trace.SpanContext) string {
	tid, sid := sc.TraceID(), sc.SpanID()
	flags := sc.TraceFlags()
	b := make([]byte, 0, 55)
	b = append(b, "00-"...)
	b = hex.AppendEncode(b, tid[:])
	b = append(b, '-')
	b = hex.AppendEncode(b, sid[:])
	b = append(b, '-')
	b = hex.AppendEncode(b, []byte{byte(flags)})
	return string(b)
}

// errBadTraceResponse says a traceresponse header is malformed.
var errBadTraceResponse = errors.New("malformed traceresponse header")

// parseTraceResponse reads a version-00 traceresponse header. IDs must be
// lowercase hex and not all zero. Later versions may append fields after the
// flags, which are ignored as the W3C specification asks.
func parseTraceResponse(s string) (trace.TraceID, trace.SpanID, error) {
	var tid trace.TraceID
	var sid trace.SpanID
	if len(s) < 55 || s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return tid, sid, fmt.Errorf("%w: want 00-<32 hex>-<16 hex>-<2 hex>, got %q", errBadTraceResponse, truncate(s, 64))
	}
	version := s[:2]
	if version == "ff" || !isLowerHex(version) {
		return tid, sid, fmt.Errorf("%w: bad version %q", errBadTraceResponse, version)
	}
	if version == "00" && len(s) != 55 {
		return tid, sid, fmt.Errorf("%w: version 00 has %d bytes, want 55", errBadTraceResponse, len(s))
	}
	if len(s) > 55 && s[55] != '-' {
		return tid, sid, fmt.Errorf("%w: flags not followed by '-'", errBadTraceResponse)
	}
	if !isLowerHex(s[3:35]) || !isLowerHex(s[36:52]) || !isLowerHex(s[53:55]) {
		return tid, sid, fmt.Errorf("%w: IDs and flags must be lowercase hex", errBadTraceResponse)
	}
	_, _ = hex.Decode(tid[:], []byte(s[3:35]))
	_, _ = hex.Decode(sid[:], []byte(s[36:52]))
	if !tid.IsValid() || !sid.IsValid() {
		return tid, sid, fmt.Errorf("%w: all-zero trace or span ID", errBadTraceResponse)
	}
	return tid, sid, nil
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// truncate shortens s to at most n bytes for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
