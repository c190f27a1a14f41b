package e2e

import (
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestLoadgenAcceptedEqualsStored runs `waymark loadgen` against a server for
// a bounded number of spans, over both OTLP transports, and checks that every
// accepted span was stored and that sampled traces read back complete.
func TestLoadgenAcceptedEqualsStored(t *testing.T) {
	s := startServer(t)
	cases := []struct {
		protocol, endpoint string
		spans              int
	}{
		{"otlp-grpc", s.otlpGRPCAddr(), 20_000},
		{"otlp-http", s.otlpHTTPAddr(), 10_000},
	}
	var total float64
	for _, tc := range cases {
		out, err := exec.Command(waymarkBin, "loadgen", "--protocol", tc.protocol, "--endpoint", tc.endpoint,
			"--spans", strconv.Itoa(tc.spans), "--varied", "--error-rate", "0.1", "--verify", "100", "--query-url", s.queryURL("")).CombinedOutput()
		if err != nil {
			t.Fatalf("loadgen %s: %v\n%s", tc.protocol, err, out)
		}
		m := regexp.MustCompile(`accepted=(\d+) refused=(\d+)`).FindSubmatch(out)
		if m == nil {
			t.Fatalf("loadgen output has no accepted= figure:\n%s", out)
		}
		accepted, _ := strconv.Atoi(string(m[1]))
		if accepted != tc.spans || string(m[2]) != "0" {
			t.Fatalf("loadgen %s: accepted %s refused %s, want %d and 0", tc.protocol, m[1], m[2], tc.spans)
		}
		if !strings.Contains(string(out), "verified=100/100") {
			t.Errorf("loadgen %s: sampled traces not all readable:\n%s", tc.protocol, out)
		}
		total += float64(accepted)
		if stored := metricValue(t, s, "waymark_store_spans_stored_total"); stored != total {
			t.Errorf("after %s: server stored %.0f spans, loadgen had %.0f accepted", tc.protocol, stored, total)
		}
	}
}
