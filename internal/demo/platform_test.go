package demo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"waymark/internal/model"
)

// TestMain fails the package when goroutines started by this package are
// still running after every test has closed what it started.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := leakedGoroutines(5 * time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "goroutines leaked by package demo:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// leakedGoroutines waits up to grace for goroutines running demo code (other
// than TestMain's own) to end, and returns the stacks of those left.
func leakedGoroutines(grace time.Duration) string {
	deadline := time.Now().Add(grace)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var leaked []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "waymark/internal/demo.") && !strings.Contains(g, "demo.TestMain") && !strings.Contains(g, "demo.leakedGoroutines") {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			return strings.Join(leaked, "\n\n")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startPlatform starts a platform exporting to a fresh collector.
func startPlatform(t *testing.T, cfg Config) (*Platform, *collector) {
	t.Helper()
	col := startCollector(t)
	cfg.Endpoint = col.addr
	if cfg.Seed == 0 {
		cfg.Seed = 42
	}
	p, err := Start(context.Background(), cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p, col
}

// closePlatform stops p, which flushes every span to the collector.
func closePlatform(t *testing.T, p *Platform) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatalf("close platform: %v", err)
	}
}

// get sends one request to an edge and returns its status and response headers.
func get(t *testing.T, method, url string) (int, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

func resourceAttr(s *model.Span, key string) string {
	if s.Resource == nil {
		return ""
	}
	v, _ := s.Resource.Attributes.Get(key)
	return v.AsString()
}

func spanAttr(s *model.Span, key string) string {
	v, _ := s.Attributes.Get(key)
	return v.AsString()
}

// servicePath returns the services from the root down to s, with repeats of
// one service in a row collapsed, or an error if a parent is missing.
func servicePath(spans []model.Span, s *model.Span) ([]string, error) {
	byID := make(map[model.SpanID]*model.Span, len(spans))
	for i := range spans {
		byID[spans[i].SpanID] = &spans[i]
	}
	var path []string
	for cur := s; ; {
		if len(path) == 0 || path[0] != cur.Resource.ServiceName {
			path = append([]string{cur.Resource.ServiceName}, path...)
		}
		if cur.ParentSpanID.IsZero() {
			return path, nil
		}
		parent, ok := byID[cur.ParentSpanID]
		if !ok {
			return path, fmt.Errorf("span %s (%s) has parent %s, which is not in the trace", cur.SpanID, cur.Name, cur.ParentSpanID)
		}
		cur = parent
	}
}

// root returns the trace's root span.
func root(t *testing.T, spans []model.Span) *model.Span {
	t.Helper()
	var r *model.Span
	for i := range spans {
		if spans[i].ParentSpanID.IsZero() {
			if r != nil {
				t.Fatalf("trace %s has two roots: %s and %s", spans[i].TraceID, r.Name, spans[i].Name)
			}
			r = &spans[i]
		}
	}
	if r == nil {
		t.Fatalf("trace %s has no root", spans[0].TraceID)
	}
	return r
}

func TestPlatformTraces(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Faults = Faults{
		ErrorDatacenter: "dc-2", ErrorService: ServicePayments, ErrorRate: 0.5,
		SlowService: ServiceInventory, SlowLatency: 30 * time.Millisecond, SlowRate: 0.3,
	}
	p, col := startPlatform(t, cfg)
	const checkouts, views = 12, 4
	requestIDs := make(map[string]string) // trace ID -> x-request-id the edge answered
	statusOf := make(map[string]int)
	for _, e := range p.Edges() {
		for i := range checkouts + views {
			method, path := http.MethodPost, fmt.Sprintf("/api/checkout?sku=sku-%d&qty=2", i)
			if i >= checkouts {
				method, path = http.MethodGet, fmt.Sprintf("/api/products/sku-%d", i)
			}
			status, hdr := get(t, method, e.URL+path)
			tid, _, err := parseTraceResponse(hdr.Get(headerTraceResponse))
			if err != nil {
				t.Fatalf("%s %s%s: %v", method, e.Datacenter, path, err)
			}
			requestIDs[tid.String()] = hdr.Get(headerRequestID)
			statusOf[tid.String()] = status
		}
	}
	closePlatform(t, p)

	traces := col.traces()
	if want := 3 * (checkouts + views); len(traces) != want {
		t.Fatalf("got %d traces, want %d", len(traces), want)
	}
	errorDCs := make(map[string]int)
	var slowSpans, dbSpans int
	for tid, spans := range traces {
		r := root(t, spans)
		dc := resourceAttr(r, AttrDatacenter)
		if r.Resource.ServiceName != ServiceEdge || r.Kind != model.KindServer {
			t.Errorf("trace %s: root is %s/%s, want the edge's server span", tid, r.Resource.ServiceName, r.Kind)
		}
		if got := spanAttr(r, "http.response.status_code"); got != fmt.Sprint(statusOf[tid.String()]) {
			t.Errorf("trace %s: root status %s, client saw %d", tid, got, statusOf[tid.String()])
		}
		for i := range spans {
			s := &spans[i]
			if got := resourceAttr(s, AttrDatacenter); got != dc {
				t.Errorf("trace %s: span %s of %s has datacenter %q, root has %q", tid, s.Name, s.Resource.ServiceName, got, dc)
			}
			if s.StatusCode == model.StatusError {
				errorDCs[dc]++
			}
			if _, err := servicePath(spans, s); err != nil {
				t.Errorf("trace %s: %v", tid, err)
			}
			if s.Resource.ServiceName == ServiceEdge || s.Resource.ServiceName == ServiceGateway || s.Resource.ServiceName == ServiceSidecar {
				if got := spanAttr(s, AttrRequestID); got != requestIDs[tid.String()] {
					t.Errorf("trace %s: %s span %s has %s %q, edge answered %q", tid, s.Resource.ServiceName, s.Name, AttrRequestID, got, requestIDs[tid.String()])
				}
				if spanAttr(s, AttrUpstreamCluster) == "" {
					t.Errorf("trace %s: %s span %s has no %s", tid, s.Resource.ServiceName, s.Name, AttrUpstreamCluster)
				}
			}
			if s.Resource.ServiceName == ServiceSidecar && s.Kind == model.KindServer {
				for _, key := range []string{"http.request.method", "url.path", "http.route", "http.response.status_code", "server.address"} {
					if spanAttr(s, key) == "" {
						t.Errorf("trace %s: sidecar span %s has no %s", tid, s.Name, key)
					}
				}
			}
			if s.Resource.ServiceName == ServiceInventory && s.Kind == model.KindServer && slices.ContainsFunc(s.Events, func(e model.Event) bool { return e.Name == "cache miss: recomputing" }) {
				slowSpans++
				if d := time.Duration(s.EndTimeUnixNano - s.StartTimeUnixNano); d < 30*time.Millisecond {
					t.Errorf("trace %s: slowed inventory span lasted %s, less than the injected 30ms", tid, d)
				}
			}
			if s.Resource.ServiceName != ServiceOrdersDB {
				continue
			}
			dbSpans++
			if spanAttr(s, AttrDBSystem) == "" || spanAttr(s, AttrDBQueryText) == "" {
				t.Errorf("trace %s: orders-db span %s lacks %s or %s", tid, s.Name, AttrDBSystem, AttrDBQueryText)
			}
			path, _ := servicePath(spans, s)
			if len(path) < 5 || !slices.Equal(path[:3], []string{ServiceEdge, ServiceGateway, ServiceSidecar}) ||
				!slices.Contains(appNames(), path[len(path)-2]) || path[len(path)-3] != ServiceSidecar {
				t.Errorf("trace %s: database span %s is reached through %v, want edge → ingress-gateway → sidecar → … → sidecar → app → orders-db", tid, s.Name, path)
			}
		}
	}
	if len(errorDCs) != 1 || errorDCs["dc-2"] == 0 {
		t.Errorf("error spans per datacenter: %v; want errors in dc-2 only", errorDCs)
	}
	if slowSpans == 0 {
		t.Error("no inventory span carries the injected slowness")
	}
	if dbSpans == 0 {
		t.Error("no orders-db spans")
	}
}

// TestFaultSidecarSpan checks what an injected datacenter fault looks like:
// the payments sidecar answers 503 with response flag UF without calling
// payments, and the failure propagates to the edge.
func TestFaultSidecarSpan(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Datacenters = []string{"dc-1"}
	cfg.Faults = Faults{ErrorDatacenter: "dc-1", ErrorService: ServicePayments, ErrorRate: 1}
	p, col := startPlatform(t, cfg)
	status, _ := get(t, http.MethodPost, p.Edges()[0].URL+"/api/checkout?sku=sku-1&qty=1")
	if status != http.StatusBadGateway {
		t.Errorf("edge answered %d, want 502 (checkout's answer to a failed charge)", status)
	}
	closePlatform(t, p)
	traces := col.traces()
	if len(traces) != 1 {
		t.Fatalf("got %d traces, want 1", len(traces))
	}
	for _, spans := range traces {
		var faulty, payments int
		for i := range spans {
			s := &spans[i]
			switch {
			case s.Resource.ServiceName == ServicePayments:
				payments++
			case s.Resource.ServiceName == ServiceSidecar && s.Kind == model.KindServer && spanAttr(s, AttrResponseFlags) == "UF":
				faulty++
				if spanAttr(s, "http.response.status_code") != "503" || s.StatusCode != model.StatusError {
					t.Errorf("faulty sidecar span: status %s/%s, want 503/error", spanAttr(s, "http.response.status_code"), s.StatusCode)
				}
				if got := spanAttr(s, AttrUpstreamCluster); got != "inbound|8080||payments" {
					t.Errorf("faulty sidecar span: upstream_cluster %q", got)
				}
			}
		}
		if faulty != 1 || payments != 0 {
			t.Errorf("got %d faulty sidecar spans and %d payments spans, want 1 and 0", faulty, payments)
		}
		if r := root(t, spans); r.StatusCode != model.StatusError {
			t.Errorf("root span status %s, want error", r.StatusCode)
		}
	}
}

// TestRetryStorm checks that retries at every hop multiply the calls to a
// failing upstream: edge, gateway, checkout sidecar and checkout each try
// retries+1 times, so the payments sidecar sees (retries+1)^4 requests.
func TestRetryStorm(t *testing.T) {
	tests := []struct {
		name    string
		retries int
		want    int
	}{
		{"no retries", 0, 1},
		{"one retry", 1, 16},
		{"two retries", 2, 81},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Datacenters = []string{"dc-1"}
			cfg.Faults = Faults{ErrorDatacenter: "dc-1", ErrorService: ServicePayments, ErrorRate: 1, Retries: tc.retries}
			p, col := startPlatform(t, cfg)
			get(t, http.MethodPost, p.Edges()[0].URL+"/api/checkout?sku=sku-1&qty=1")
			closePlatform(t, p)
			var hits, maxResend int
			for _, spans := range col.traces() {
				for i := range spans {
					s := &spans[i]
					if s.Resource.ServiceName == ServiceSidecar && s.Kind == model.KindServer && spanAttr(s, AttrUpstreamCluster) == "inbound|8080||payments" {
						hits++
					}
					if v, ok := s.Attributes.Get("http.request.resend_count"); ok && int(v.Int) > maxResend {
						maxResend = int(v.Int)
					}
				}
			}
			if hits != tc.want {
				t.Errorf("payments sidecar got %d requests, want %d", hits, tc.want)
			}
			if maxResend != tc.retries {
				t.Errorf("highest http.request.resend_count is %d, want %d", maxResend, tc.retries)
			}
		})
	}
}

func TestDriver(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Faults.ErrorRate = 0.5
	p, col := startPlatform(t, cfg)
	d, err := NewDriver(DriverConfig{Edges: p.Edges(), Rate: 60, CheckoutShare: DefaultCheckoutShare, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.Run(ctx)
	}()
	// Run until the faulty datacenter has failed once and some request succeeded.
	for deadline := time.Now().Add(time.Minute); ; {
		st := d.Stats()
		if _, ok := st.FirstFailure["dc-2"]; ok && st.Slowest.TraceID != "" {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("after a minute of traffic: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	st := d.Stats()
	closePlatform(t, p)

	var sum DatacenterStats
	for dc, s := range st.Datacenters {
		if !slices.Contains(cfg.Datacenters, dc) {
			t.Errorf("stats for unknown datacenter %q", dc)
		}
		sum.Sent += s.Sent
		sum.Failed += s.Failed
	}
	if sum.Sent != st.Sent || sum.Failed != st.Failed {
		t.Errorf("per-datacenter sums %+v differ from totals sent=%d failed=%d", sum, st.Sent, st.Failed)
	}
	for dc := range st.FirstFailure {
		if dc != "dc-2" {
			t.Errorf("a request failed in %s; only dc-2 has a fault", dc)
		}
	}
	traces := col.traces()
	fail := st.FirstFailure["dc-2"]
	if !fail.Failed() || fail.Status < 500 {
		t.Errorf("first failure in dc-2 is %+v, want a 5xx", fail)
	}
	for _, ex := range []Request{fail, st.Slowest} {
		tid, err := model.ParseTraceID(ex.TraceID)
		if err != nil {
			t.Fatalf("example %+v: %v", ex, err)
		}
		spans, ok := traces[tid]
		if !ok {
			t.Errorf("example trace %s (%s %s in %s) was not exported", ex.TraceID, ex.Method, ex.Path, ex.Datacenter)
			continue
		}
		if r := root(t, spans); spanAttr(r, AttrRequestID) != ex.RequestID || resourceAttr(r, AttrDatacenter) != ex.Datacenter {
			t.Errorf("example %+v: root has request ID %q and datacenter %q", ex, spanAttr(r, AttrRequestID), resourceAttr(r, AttrDatacenter))
		}
	}
	if es := p.ExportStats(); es.Spans != uint64(col.spanCount()) || es.FailedSpans != 0 {
		t.Errorf("export stats %+v, collector holds %d spans", es, col.spanCount())
	}
}

// TestExportFailureIsCounted runs the platform against an endpoint where
// nothing listens: requests still succeed, and the lost spans are counted.
func TestExportFailureIsCounted(t *testing.T) {
	col := startCollector(t)
	col.srv.Stop() // the port is now closed
	cfg := DefaultConfig()
	cfg.Datacenters = []string{"dc-1"}
	cfg.Faults = Faults{}
	cfg.Endpoint = col.addr
	p, err := Start(context.Background(), cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := get(t, http.MethodGet, p.Edges()[0].URL+"/api/products/sku-1"); status != http.StatusOK {
		t.Errorf("product view answered %d, want 200", status)
	}
	closePlatform(t, p)
	es := p.ExportStats()
	if es.Spans != 0 || es.FailedSpans == 0 || es.LastError == "" {
		t.Errorf("export stats %+v, want only failed spans and an error", es)
	}
}
