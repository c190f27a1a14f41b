package e2e

import (
	"bytes"
	"fmt"
	"net/url"
	"os/exec"
	"regexp"
	"slices"
	"testing"
	"time"
)

// demoApps are the demo's application services; each runs behind a sidecar.
var demoApps = []string{"checkout", "inventory", "payments"}

// runDemo runs "waymark demo --endpoint" against s for a bounded time and
// returns its standard output.
func runDemo(t *testing.T, s *server, args ...string) string {
	t.Helper()
	args = append([]string{"demo", "--endpoint", s.otlpGRPCAddr(), "--ui-url", s.queryURL("/")}, args...)
	cmd := exec.Command(waymarkBin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("waymark demo: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
		}
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("waymark demo did not stop after its --duration\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
	return stdout.String()
}

// processTag returns the value of a process (resource) tag of span sp.
func processTag(tr jaegerTrace, sp jaegerSpan, key string) string {
	tag, _ := tagOf(tr.Processes[sp.ProcessID].Tags, key)
	return fmt.Sprint(tag.Value)
}

// pathToRoot returns the services from the root down to sp, with repeats in
// a row collapsed; ok is false when a parent is not in the trace.
func pathToRoot(tr jaegerTrace, sp jaegerSpan) (path []string, ok bool) {
	byID := make(map[string]jaegerSpan, len(tr.Spans))
	for _, s := range tr.Spans {
		byID[s.SpanID] = s
	}
	for cur := sp; ; {
		svc := tr.Processes[cur.ProcessID].ServiceName
		if len(path) == 0 || path[0] != svc {
			path = append([]string{svc}, path...)
		}
		parent := ""
		for _, r := range cur.References {
			if r.RefType == "CHILD_OF" {
				parent = r.SpanID
			}
		}
		if parent == "" {
			return path, true
		}
		p, found := byID[parent]
		if !found {
			return path, false
		}
		cur = p
	}
}

func searchEdge(t *testing.T, s *server, tags string) []jaegerTrace {
	t.Helper()
	var resp jaegerResponse
	u := s.queryURL("/api/traces?service=edge&limit=5000&tags=" + url.QueryEscape(tags))
	if code := getJSON(t, u, &resp); code != 200 {
		t.Fatalf("GET %s: status %d, errors %+v", u, code, resp.Errors)
	}
	return resp.Data
}

// TestDemoAgainstFreshWaymark runs the demo platform against a Waymark with
// an injected fault in dc-2 and reads the result through the Jaeger API.
func TestDemoAgainstFreshWaymark(t *testing.T) {
	s := startServer(t)
	out := runDemo(t, s, "--duration", "10s", "--rate", "25", "--seed", "3", "--fault-dc", "dc-2", "--fault-rate", "0.3")

	traces := searchEdge(t, s, `{}`)
	if len(traces) < 50 {
		t.Fatalf("found %d traces of service edge after 10s at 25 requests/s; demo output:\n%s", len(traces), out)
	}
	errorsPerDC := map[string]int{}
	var fullChains int
	for _, tr := range traces {
		dc := ""
		for _, sp := range tr.Spans {
			spanDC := processTag(tr, sp, "datacenter")
			if dc == "" {
				dc = spanDC
			}
			if spanDC != dc || !slices.Contains([]string{"dc-1", "dc-2", "dc-3"}, spanDC) {
				t.Errorf("trace %s: span %s (%s) has datacenter %q, the trace's first span %q", tr.TraceID, sp.OperationName, tr.Processes[sp.ProcessID].ServiceName, spanDC, dc)
			}
			if tag, ok := tagOf(sp.Tags, "error"); ok && tag.Value == true {
				errorsPerDC[spanDC]++
			}
			path, ok := pathToRoot(tr, sp)
			if !ok {
				t.Errorf("trace %s: span %s has a parent missing from the trace", tr.TraceID, sp.OperationName)
				continue
			}
			if path[0] != "edge" {
				t.Errorf("trace %s: span %s descends from %v, not from the edge", tr.TraceID, sp.OperationName, path)
			}
			if path[len(path)-1] == "orders-db" {
				if len(path) < 5 || !slices.Equal(path[:3], []string{"edge", "ingress-gateway", "sidecar"}) ||
					!slices.Contains(demoApps, path[len(path)-2]) || path[len(path)-3] != "sidecar" {
					t.Errorf("trace %s: database span %s is reached through %v", tr.TraceID, sp.OperationName, path)
				} else {
					fullChains++
				}
			}
		}
	}
	if fullChains == 0 {
		t.Error("no trace crosses edge → ingress-gateway → sidecar → app → orders-db")
	}
	if len(errorsPerDC) != 1 || errorsPerDC["dc-2"] == 0 {
		t.Errorf("error spans per datacenter %v: want errors in dc-2 only", errorsPerDC)
	}

	// The search a user starts with finds failures in dc-2 only.
	if got := searchEdge(t, s, `{"error":"true","datacenter":"dc-1"}`); len(got) != 0 {
		t.Errorf("search error=true datacenter=dc-1 found %d traces, want none", len(got))
	}
	if got := searchEdge(t, s, `{"error":"true","datacenter":"dc-2"}`); len(got) == 0 {
		t.Error("search error=true datacenter=dc-2 found no traces")
	}

	// The failing trace the demo printed opens, and it is a dc-2 failure.
	m := regexp.MustCompile(`A failing request \((dc-\d)[^\n]*\n[^\n]*\n\s*Jaeger API: (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("demo output names no failing trace:\n%s", out)
	}
	if m[1] != "dc-2" {
		t.Errorf("the failing example is in %s, want dc-2", m[1])
	}
	var resp jaegerResponse
	if code := getJSON(t, m[2], &resp); code != 200 || len(resp.Data) != 1 {
		t.Fatalf("GET %s: status %d, %d traces", m[2], code, len(resp.Data))
	}
	var rootErr bool
	for _, sp := range resp.Data[0].Spans {
		if len(sp.References) == 0 {
			tag, _ := tagOf(sp.Tags, "error")
			rootErr = tag.Value == true && processTag(resp.Data[0], sp, "datacenter") == "dc-2"
		}
	}
	if !rootErr {
		t.Errorf("the printed failing trace %s has no failing dc-2 root span", m[2])
	}
	if !regexp.MustCompile(`A slow request \(dc-\d[^\n]*\n\s*trace: \S+/trace/[0-9a-f]{32}\n\s*Jaeger API: \S+/api/traces/[0-9a-f]{32}`).MatchString(out) {
		t.Errorf("demo output names no slow trace:\n%s", out)
	}
}
