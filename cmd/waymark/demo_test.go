package main

import (
	"net"
	"strings"
	"testing"
	"time"

	"waymark/internal/demo"
)

func TestDialAddr(t *testing.T) {
	tests := []struct {
		name string
		addr net.Addr
		want string
	}{
		{"loopback", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4317}, "127.0.0.1:4317"},
		{"IPv4 wildcard", &net.TCPAddr{IP: net.IPv4zero, Port: 4317}, "127.0.0.1:4317"},
		{"IPv6 wildcard", &net.TCPAddr{IP: net.IPv6unspecified, Port: 16686}, "127.0.0.1:16686"},
		{"specific address", &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 4317}, "10.1.2.3:4317"},
		{"none", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := dialAddr(tc.addr); got != tc.want {
				t.Errorf("dialAddr(%v) = %q, want %q", tc.addr, got, tc.want)
			}
		})
	}
}

// TestReporterPrintsExamplesOnceSearchable feeds the reporter a sequence of
// snapshots and checks what it prints at each step.
func TestReporterPrintsExamplesOnceSearchable(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	okFail := demo.Request{Datacenter: "dc-1", Method: "GET", Path: "/api/products/sku-1", Status: 504, TraceID: strings.Repeat("1", 32)}
	faultFail := demo.Request{Datacenter: "dc-2", Method: "POST", Path: "/api/checkout", Status: 502, Duration: 20 * time.Millisecond, TraceID: strings.Repeat("2", 32)}
	slow := demo.Request{Datacenter: "dc-3", Method: "POST", Path: "/api/checkout", Status: 200, Duration: 400 * time.Millisecond, TraceID: strings.Repeat("3", 32)}
	both := map[string]demo.Request{"dc-1": okFail, "dc-2": faultFail}
	steps := []struct {
		name  string
		at    time.Duration
		stats demo.Stats
		want  []string // substrings of what this step prints; nil means nothing
	}{
		{"nothing yet", time.Second, demo.Stats{}, nil},
		{"a failure elsewhere is picked", 2 * time.Second,
			demo.Stats{FirstFailure: map[string]demo.Request{"dc-1": okFail}, Slowest: slow}, nil},
		{"the faulty datacenter's failure replaces it; the slow one is picked", 3 * time.Second,
			demo.Stats{FirstFailure: both, Slowest: slow}, nil},
		{"not yet searchable", 5 * time.Second, demo.Stats{FirstFailure: both, Slowest: slow}, nil},
		{"both searchable", 6 * time.Second, demo.Stats{FirstFailure: both, Slowest: okFail},
			[]string{"A failing request (dc-2, POST /api/checkout, 502, 20ms)", "http://ui/trace/" + faultFail.TraceID,
				"Jaeger API: http://ui/api/traces/" + faultFail.TraceID, "A slow request (dc-3", "http://ui/api/traces/" + slow.TraceID}},
		{"printed once", 7 * time.Second, demo.Stats{FirstFailure: both, Slowest: slow}, nil},
		{"progress line", 10 * time.Second,
			demo.Stats{Sent: 100, Failed: 4, Datacenters: map[string]demo.DatacenterStats{"dc-2": {Sent: 50, Failed: 4}, "dc-1": {Sent: 50}}},
			[]string{"requests=100 failed=4 dropped=0 dc-1=0/50 dc-2=4/50 spans_exported=7 spans_lost=0"}},
	}
	var out strings.Builder
	r := reporter{stdout: &out, ui: "http://ui", faultDC: "dc-2", start: start}
	for _, st := range steps {
		out.Reset()
		r.tick(start.Add(st.at), st.stats, demo.ExportStats{Spans: 7})
		got := out.String()
		if st.want == nil && got != "" {
			t.Errorf("%s: printed %q, want nothing", st.name, got)
		}
		for _, w := range st.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: output %q lacks %q", st.name, got, w)
			}
		}
	}
}
