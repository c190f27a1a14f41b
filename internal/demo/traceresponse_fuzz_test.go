package demo

import (
	"testing"

	"go.opentelemetry.io/otel/trace"
)

func FuzzParseTraceResponse(f *testing.F) {
	for _, s := range []string{
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
		"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-next",
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tid, sid, err := parseTraceResponse(s)
		if err != nil {
			return
		}
		if !tid.IsValid() || !sid.IsValid() {
			t.Fatalf("parse(%q) accepted invalid IDs %s %s", s, tid, sid)
		}
		if s[:2] != "00" {
			return
		}
		var flags trace.TraceFlags
		if s[53:55] == "01" {
			flags = trace.FlagsSampled
		} else if s[53:55] != "00" {
			return // other flag bits are not kept by the round trip
		}
		sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: flags})
		if got := formatTraceResponse(sc); got != s {
			t.Fatalf("parse then format of %q gave %q", s, got)
		}
	})
}
