package demo

import (
	"errors"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

func TestTraceResponseRoundTrip(t *testing.T) {
	tid := trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	sid := trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}
	tests := []struct {
		name  string
		flags trace.TraceFlags
		want  string
	}{
		{"sampled", trace.FlagsSampled, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
		{"not sampled", 0, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: tc.flags})
			got := formatTraceResponse(sc)
			if got != tc.want {
				t.Fatalf("format = %q, want %q", got, tc.want)
			}
			gotTID, gotSID, err := parseTraceResponse(got)
			if err != nil || gotTID != tid || gotSID != sid {
				t.Fatalf("parse(%q) = %s, %s, %v", got, gotTID, gotSID, err)
			}
		})
	}
}

func TestParseTraceResponseRejects(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"short", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"},
		{"uppercase hex", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"},
		{"zero trace ID", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"},
		{"zero span ID", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"},
		{"version ff", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
		{"version 00 with extra field", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xyz"},
		{"future version without separator", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x"},
		{"wrong separators", "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01"},
		{"non-hex flags", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-zz"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := parseTraceResponse(tc.in); !errors.Is(err, errBadTraceResponse) {
				t.Errorf("parse(%q) error = %v, want errBadTraceResponse", tc.in, err)
			}
		})
	}
	// A later version may append fields after the flags.
	if _, _, err := parseTraceResponse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-comes-next"); err != nil {
		t.Errorf("future version with extra fields: %v", err)
	}
}
