package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"waymark/internal/config"
	"waymark/internal/export/otlp"
	"waymark/internal/model"
	"waymark/internal/testkit"
)

// backend is a test OTLP/HTTP backend that counts the spans it accepts
// and can be told to refuse them with 503 until further notice.
type backend struct {
	down atomic.Bool

	mu       sync.Mutex
	spans    map[pcommon.SpanID]int
	enriched int
	withAuth int
}

func newBackend(t *testing.T) (*backend, string) {
	b := &backend{spans: map[pcommon.SpanID]int{}}
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	return b, srv.URL
}

func (b *backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if b.down.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	body, err := testkit.ReadBody(r)
	req := ptraceotlp.NewExportRequest()
	if err == nil {
		err = req.UnmarshalProto(body)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	b.mu.Lock()
	rss := req.Traces().ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		_, dc := rss.At(i).Resource().Attributes().Get("cloud.availability_zone")
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				b.spans[spans.At(k).SpanID()]++
				if dc {
					b.enriched++
				}
				if _, ok := spans.At(k).Attributes().Get("http.request.header.authorization"); ok {
					b.withAuth++
				}
			}
		}
	}
	b.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	out, _ := ptraceotlp.NewExportResponse().MarshalProto()
	_, _ = w.Write(out)
}

// counts returns the distinct spans received, all copies, and how many
// copies were enriched or carried the authorization header.
func (b *backend) counts() (distinct, copies, enriched, withAuth int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, n := range b.spans {
		copies += n
	}
	return len(b.spans), copies, b.enriched, b.withAuth
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// agentConfig returns an agent configuration on free loopback ports with
// one OTLP/HTTP exporter per backend URL, named after its index.
func agentConfig(t *testing.T, dataDir string, urls ...string) config.Config {
	cfg := config.Default()
	cfg.DataDir = dataDir
	cfg.Log.Level = "error"
	cfg.Receivers = config.ReceiversConfig{OTLPHTTPPort: freePort(t), MaxRequestBytes: 4 << 20, MaxPendingBytes: 64 << 20}
	cfg.Listen.AdminPort = freePort(t)
	cfg.Agent.Enrich.Datacenter = "dc-test"
	cfg.Agent.Batch.Timeout = 5 * time.Millisecond
	cfg.Agent.Exporters = nil
	for i, u := range urls {
		ec := config.ListedExporterDefaults()
		ec.Protocol, ec.Endpoint = otlp.ProtocolHTTP, u
		ec.Retry.InitialInterval, ec.Retry.MaxInterval = 5*time.Millisecond, 20*time.Millisecond
		cfg.Agent.Exporters = append(cfg.Agent.Exporters, config.ExporterConfig{Name: fmt.Sprintf("backend-%d", i), Config: ec})
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// startAgent starts the agent role and returns a function that stops it
// the way SIGTERM does and returns Wait's error.
func startAgent(t *testing.T, cfg config.Config) (*App, func() error) {
	t.Helper()
	a, err := Start(context.Background(), RoleAgent, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Wait(ctx) }()
	var once sync.Once
	var waitErr error
	stop := func() error {
		once.Do(func() { cancel(); waitErr = <-done })
		return waitErr
	}
	t.Cleanup(func() { _ = stop() })
	return a, stop
}

// sendSpans posts n spans in one OTLP/HTTP request to the agent, each
// carrying an authorization header attribute the agent must delete.
func sendSpans(t *testing.T, a *App, first, n int) {
	t.Helper()
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "cart")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	for i := first; i < first+n; i++ {
		sp := spans.AppendEmpty()
		sp.SetTraceID(pcommon.TraceID{1, byte(i >> 16), byte(i >> 8), byte(i), 9: 1})
		sp.SetSpanID(pcommon.SpanID{1, byte(i >> 16), byte(i >> 8), byte(i)})
		sp.SetName("GET /cart")
		sp.SetStartTimestamp(1_700_000_000_000_000_000)
		sp.SetEndTimestamp(1_700_000_000_100_000_000)
		sp.Attributes().PutStr("http.request.header.authorization", "Bearer secret")
	}
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post("http://"+a.Addrs["otlp_http"].String()+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		t.Fatalf("agent answered %d: %s", resp.StatusCode, msg)
	}
}

func waitFor(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func getBody(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// A backend that refuses everything does not hold up another; what it
// has not acknowledged stays queued across a graceful restart and is
// delivered once it recovers.
func TestAgentFansOutIndependently(t *testing.T) {
	healthy, healthyURL := newBackend(t)
	flaky, flakyURL := newBackend(t)
	flaky.down.Store(true)
	cfg := agentConfig(t, t.TempDir(), healthyURL, flakyURL)

	a, stop := startAgent(t, cfg)
	const requests, perRequest = 10, 100
	for r := 0; r < requests; r++ {
		sendSpans(t, a, r*perRequest, perRequest)
	}
	const total = requests * perRequest
	waitFor(t, "the healthy backend to get every span", func() bool {
		d, _, _, _ := healthy.counts()
		return d == total
	})
	if d, _, _, _ := flaky.counts(); d != 0 {
		t.Fatalf("the refusing backend accepted %d spans", d)
	}
	admin := "http://" + a.Addrs["admin"].String()
	if code, body := getBody(t, admin+"/ready"); code != http.StatusOK {
		t.Fatalf("/ready = %d %q", code, body)
	}
	_, metrics := getBody(t, admin+"/metrics")
	for _, want := range []string{
		`waymark_exporter_sent_spans_total{exporter="backend-0"} 1000`,
		`waymark_exporter_sent_spans_total{exporter="backend-1"} 0`,
		`waymark_queue_pending_items{exporter="backend-0"} 0`,
		`waymark_sampler_spans_kept_total{service="cart"} 1000`,
		`waymark_exporter_retries_total{exporter="backend-1"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}

	flaky.down.Store(false)
	_, stop = startAgent(t, cfg)
	waitFor(t, "the recovered backend to get what was queued for it", func() bool {
		d, _, _, _ := flaky.counts()
		return d == total
	})
	if err := stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	for name, b := range map[string]*backend{"healthy": healthy, "recovered": flaky} {
		d, copies, enriched, withAuth := b.counts()
		if d != total || enriched != copies || withAuth != 0 {
			t.Errorf("%s backend: %d distinct spans (%d copies, %d enriched, %d with authorization), want %d, all enriched, none with authorization",
				name, d, copies, enriched, withAuth, total)
		}
	}
}

// The agent samples before it queues: at 0% nothing reaches a backend but
// spans forced by sampling.priority.
func TestAgentSamplesBeforeQueueing(t *testing.T) {
	b, u := newBackend(t)
	cfg := agentConfig(t, t.TempDir(), u)
	cfg.Agent.Sampling.SamplingPercentage = 0
	cfg.Agent.Sampling.Services = map[string]float64{"cart": 100}
	cfg.Agent.Enrich.Rules = nil
	a, stop := startAgent(t, cfg)
	sendSpans(t, a, 0, 50)
	waitFor(t, "the per-service rate to keep the cart spans", func() bool {
		d, _, _, _ := b.counts()
		return d == 50
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, _, _, withAuth := b.counts(); withAuth != 50 {
		t.Errorf("with no rules the authorization attribute should pass: %d of 50 carry it", withAuth)
	}
}

func TestAgentStartErrors(t *testing.T) {
	_, u := newBackend(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port

	cases := []struct {
		name   string
		change func(*config.Config)
		want   string
	}{
		{"receiver port taken", func(c *config.Config) { c.Receivers.OTLPHTTPPort = busyPort }, "receivers.otlp_http_port"},
		{"admin port taken", func(c *config.Config) { c.Listen.AdminPort = busyPort }, "listen.admin_port"},
		{"queue directory is a file", func(c *config.Config) { c.DataDir = "/dev/null" }, "open queue"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := agentConfig(t, t.TempDir(), u)
			tc.change(&cfg)
			a, err := Start(context.Background(), RoleAgent, cfg, slog.New(slog.DiscardHandler))
			if err == nil {
				_ = a.Wait(canceled())
				t.Fatalf("started; want an error mentioning %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// putRecorder is a Putter that records items or fails.
type putRecorder struct {
	err   error
	mu    sync.Mutex
	items [][]byte
}

func (p *putRecorder) Put(_ context.Context, item []byte) error {
	if p.err != nil {
		return p.err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.items = append(p.items, item)
	return nil
}

func TestFanout(t *testing.T) {
	overloaded := &model.OverloadedError{Reason: "full", RetryAfter: time.Second}
	cases := []struct {
		name      string
		errs      []error
		wantErr   bool
		wantOverl bool
	}{
		{"one queue", []error{nil}, false, false},
		{"three queues", []error{nil, nil, nil}, false, false},
		{"one of two full", []error{nil, overloaded}, true, true},
		{"one of two broken", []error{errors.New("disk"), nil}, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			recs := make([]*putRecorder, len(tc.errs))
			qs := make([]otlp.Putter, len(tc.errs))
			for i, e := range tc.errs {
				recs[i] = &putRecorder{err: e}
				qs[i] = recs[i]
			}
			err := fanout(qs).Put(context.Background(), []byte("item"))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if _, ok := model.IsOverloaded(err); ok != tc.wantOverl {
				t.Errorf("IsOverloaded(%v) = %v, want %v", err, ok, tc.wantOverl)
			}
			for i, r := range recs {
				if tc.errs[i] == nil && (len(r.items) != 1 || string(r.items[0]) != "item") {
					t.Errorf("queue %d got %q, want the item once", i, r.items)
				}
			}
		})
	}
}

// listen.admin_port also serves /metrics and /ready for the server roles.
func TestServerAdminPort(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Log.Level = "error"
	cfg.Receivers = config.ReceiversConfig{MaxRequestBytes: 4 << 20, MaxPendingBytes: 64 << 20}
	cfg.Query.JaegerPort, cfg.Query.TempoPort, cfg.Query.JaegerGRPCPort = freePort(t), 0, 0
	cfg.Listen.AdminPort = freePort(t)
	a, err := Start(context.Background(), RoleServer, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := a.Wait(canceled()); err != nil {
			t.Error(err)
		}
	}()
	admin := "http://" + a.Addrs["admin"].String()
	if code, body := getBody(t, admin+"/ready"); code != http.StatusOK {
		t.Errorf("/ready = %d %q", code, body)
	}
	if _, body := getBody(t, admin+"/metrics"); !strings.Contains(body, "waymark_") {
		t.Errorf("/metrics has no waymark_ metric")
	}
}
