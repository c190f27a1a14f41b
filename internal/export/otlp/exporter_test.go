package otlp

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"waymark/internal/model"
	"waymark/internal/queue"
	"waymark/internal/testkit"
)

// testSpans returns n spans of one trace.
func testSpans(n int) []model.Span {
	res := &model.Resource{ServiceName: "checkout", Attributes: model.Attributes{{Key: "service.name", Value: model.StringValue("checkout")}}}
	scope := &model.Scope{Name: "waymark-test"}
	spans := make([]model.Span, n)
	for i := range spans {
		spans[i] = model.Span{
			TraceID: model.TraceID{1, 2, 3}, SpanID: model.SpanID{byte(i + 1)}, Name: fmt.Sprintf("op-%d", i),
			StartTimeUnixNano: 1, EndTimeUnixNano: 2, Resource: res, Scope: scope,
			Attributes: model.Attributes{{Key: "http.route", Value: model.StringValue("/cart")}},
		}
	}
	return spans
}

// harness runs an Exporter over a real queue until the queue is empty.
type harness struct {
	reg    *prometheus.Registry
	q      *queue.Queue
	mu     sync.Mutex
	waits  []time.Duration
	onWait func(n int) // called before each recorded wait returns
}

func newHarness(t *testing.T, items, spansPerItem int) *harness {
	t.Helper()
	q, err := queue.Open(t.TempDir(), queue.Options{Config: queue.Config{AckSyncInterval: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })
	enq := NewEnqueuer(q)
	for i := 0; i < items; i++ {
		if err := enq.Consume(context.Background(), model.Batch{Tenant: "acme", Spans: testSpans(spansPerItem)}); err != nil {
			t.Fatal(err)
		}
	}
	return &harness{reg: prometheus.NewRegistry(), q: q}
}

// run exports until the queue is empty (or stop says so) and returns.
func (h *harness) run(t *testing.T, cfg Config, stop func() bool) {
	t.Helper()
	e, err := New(cfg, h.q, h.reg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	e.sleep = func(ctx context.Context, d time.Duration) error {
		h.mu.Lock()
		h.waits = append(h.waits, d)
		n := len(h.waits)
		h.mu.Unlock()
		if h.onWait != nil {
			h.onWait(n)
		}
		return ctx.Err()
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	if stop == nil {
		stop = func() bool { return h.q.Stats().PendingItems == 0 }
	}
	guard := time.Now().Add(time.Minute)
	for !stop() {
		if time.Now().After(guard) {
			t.Fatal("exporter did not finish within a minute")
		}
		time.Sleep(2 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
}

func (h *harness) recordedWaits() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Duration(nil), h.waits...)
}

func testConfig(protocol, endpoint string) Config {
	cfg := DefaultConfig()
	cfg.Protocol = protocol
	cfg.Endpoint = endpoint
	cfg.Headers = map[string]string{"authorization": "Bearer secret"}
	cfg.Workers = 1
	cfg.Retry.InitialInterval = 100 * time.Millisecond
	cfg.Retry.MaxInterval = time.Second
	cfg.Retry.Multiplier = 2
	cfg.Retry.RandomizationFactor = 0.5
	return cfg
}

func retryInfo(code codes.Code, delay time.Duration) error {
	st, err := status.New(code, "slow down").WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(delay)})
	if err != nil {
		panic(err)
	}
	return st.Err()
}

func TestExportRetries(t *testing.T) {
	const spans = 5
	grpcErr := func(c codes.Code) failure { return failure{grpcErr: status.Error(c, "failing on purpose")} }
	httpErr := func(code int, retryAfter string) failure { return failure{httpStatus: code, retryAfter: retryAfter} }
	tests := []struct {
		name      string
		protocol  string
		failures  []failure
		rejected  int64
		calls     int             // requests the backend sees
		received  int             // spans it accepts
		dropped   map[string]int  // dropped spans by reason
		waits     []time.Duration // exact waits; nil means backoff waits, one per retry
		retries   int
		maxElapse time.Duration
	}{
		{name: "grpc unavailable then ok", protocol: ProtocolGRPC, failures: []failure{grpcErr(codes.Unavailable), grpcErr(codes.Unavailable)},
			calls: 3, received: spans, retries: 2},
		{name: "grpc every retryable code", protocol: ProtocolGRPC, failures: []failure{grpcErr(codes.Canceled), grpcErr(codes.DeadlineExceeded),
			grpcErr(codes.Aborted), grpcErr(codes.OutOfRange), grpcErr(codes.DataLoss)}, calls: 6, received: spans, retries: 5},
		{name: "grpc resource exhausted with retry info", protocol: ProtocolGRPC, failures: []failure{{grpcErr: retryInfo(codes.ResourceExhausted, 3*time.Second)}},
			calls: 2, received: spans, retries: 1, waits: []time.Duration{3 * time.Second}},
		{name: "grpc unavailable with retry info", protocol: ProtocolGRPC, failures: []failure{{grpcErr: retryInfo(codes.Unavailable, 7*time.Second)}},
			calls: 2, received: spans, retries: 1, waits: []time.Duration{7 * time.Second}},
		{name: "grpc resource exhausted without retry info", protocol: ProtocolGRPC, failures: []failure{grpcErr(codes.ResourceExhausted)},
			calls: 1, dropped: map[string]int{"rejected": spans}},
		{name: "grpc invalid argument", protocol: ProtocolGRPC, failures: []failure{grpcErr(codes.InvalidArgument)},
			calls: 1, dropped: map[string]int{"rejected": spans}},
		{name: "grpc unauthenticated", protocol: ProtocolGRPC, failures: []failure{grpcErr(codes.Unauthenticated)},
			calls: 1, dropped: map[string]int{"rejected": spans}},
		{name: "grpc partial success", protocol: ProtocolGRPC, rejected: 2,
			calls: 1, received: spans, dropped: map[string]int{"partial_success": 2}},
		{name: "http 503 with retry-after", protocol: ProtocolHTTP, failures: []failure{httpErr(503, "7")},
			calls: 2, received: spans, retries: 1, waits: []time.Duration{7 * time.Second}},
		{name: "http 429 502 504 with backoff", protocol: ProtocolHTTP, failures: []failure{httpErr(429, ""), httpErr(502, ""), httpErr(504, "")},
			calls: 4, received: spans, retries: 3},
		{name: "http 400", protocol: ProtocolHTTP, failures: []failure{httpErr(400, "")}, calls: 1, dropped: map[string]int{"rejected": spans}},
		{name: "http 413", protocol: ProtocolHTTP, failures: []failure{httpErr(413, "")}, calls: 1, dropped: map[string]int{"rejected": spans}},
		{name: "http 500 is not retried", protocol: ProtocolHTTP, failures: []failure{httpErr(500, "1")}, calls: 1, dropped: map[string]int{"rejected": spans}},
		{name: "http partial success", protocol: ProtocolHTTP, rejected: 1, calls: 1, received: spans, dropped: map[string]int{"partial_success": 1}},
		{name: "http retry time exhausted", protocol: ProtocolHTTP, failures: []failure{httpErr(503, "100")}, maxElapse: time.Minute,
			calls: 1, dropped: map[string]int{"retry_exhausted": spans}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBackend(tt.failures, tt.rejected)
			var endpoint string
			if tt.protocol == ProtocolGRPC {
				endpoint = startGRPC(t, b, nil)
			} else {
				endpoint = startHTTP(t, b, "127.0.0.1:0", nil)
			}
			cfg := testConfig(tt.protocol, endpoint)
			cfg.Retry.MaxElapsedTime = tt.maxElapse
			h := newHarness(t, 1, spans)
			h.run(t, cfg, nil)

			calls, received := b.snapshot()
			if calls != tt.calls || received != tt.received {
				t.Errorf("backend saw %d calls and accepted %d spans, want %d and %d", calls, received, tt.calls, tt.received)
			}
			if !b.tenants["acme"] || len(b.tenants) != 1 || !b.auth["Bearer secret"] {
				t.Errorf("backend saw tenants %v and authorization %v", b.tenants, b.auth)
			}
			if tt.protocol == ProtocolHTTP && !b.gzipped {
				t.Error("http request was not gzipped")
			}
			for _, reason := range []string{"rejected", "partial_success", "retry_exhausted"} {
				if got := testkit.MetricValue(t, h.reg, "waymark_exporter_dropped_spans_total", reason); got != float64(tt.dropped[reason]) {
					t.Errorf("dropped{%s} = %v, want %d", reason, got, tt.dropped[reason])
				}
			}
			if got := testkit.MetricValue(t, h.reg, "waymark_exporter_retries_total", ""); got != float64(tt.retries) {
				t.Errorf("retries = %v, want %d", got, tt.retries)
			}
			if got := testkit.MetricValue(t, h.reg, "waymark_exporter_sent_spans_total", ""); got != float64(tt.received-tt.dropped["partial_success"]) {
				t.Errorf("sent spans = %v, want %d", got, tt.received-tt.dropped["partial_success"])
			}
			waits := h.recordedWaits()
			if tt.waits != nil {
				if fmt.Sprint(waits) != fmt.Sprint(tt.waits) {
					t.Errorf("waits = %v, want %v", waits, tt.waits)
				}
				return
			}
			if len(waits) != tt.retries {
				t.Fatalf("waits = %v, want %d", waits, tt.retries)
			}
			for i, w := range waits {
				// Backoff: 100ms·2^i capped at 1s, ±50 %.
				base := min(100*time.Millisecond<<i, time.Second)
				if w < base/2 || w > base*3/2 {
					t.Errorf("wait %d = %v, want within 50%% of %v", i, w, base)
				}
			}
		})
	}
}

// The backend is down (connection refused) for a while, then comes up on
// the same address: every span gets there and nothing is dropped.
func TestExportBackendDownThenUp(t *testing.T) {
	for _, protocol := range []string{ProtocolHTTP, ProtocolGRPC} {
		t.Run(protocol, func(t *testing.T) {
			addr := freeAddr(t)
			b := newBackend(nil, 0)
			endpoint := addr
			if protocol == ProtocolHTTP {
				endpoint = "http://" + addr
			}
			h := newHarness(t, 3, 4)
			h.onWait = func(n int) {
				if n == 3 {
					if protocol == ProtocolHTTP {
						startHTTP(t, b, addr, nil)
					} else {
						startGRPCAt(t, b, addr)
					}
				}
			}
			h.run(t, testConfig(protocol, endpoint), nil)
			if _, received := b.snapshot(); received != 12 {
				t.Errorf("backend accepted %d spans, want 12", received)
			}
			if got := testkit.MetricValue(t, h.reg, "waymark_exporter_dropped_spans_total", "rejected"); got != 0 {
				t.Errorf("dropped %v spans", got)
			}
		})
	}
}

// Stopping while the backend keeps failing leaves the item in the queue.
func TestExportStopLeavesItemQueued(t *testing.T) {
	always503 := make([]failure, 1_000_000) // more than the test can send
	for i := range always503 {
		always503[i] = failure{httpStatus: 503}
	}
	b := newBackend(always503, 0)
	endpoint := startHTTP(t, b, "127.0.0.1:0", nil)
	h := newHarness(t, 1, 2)
	h.run(t, testConfig(ProtocolHTTP, endpoint), func() bool { calls, _ := b.snapshot(); return calls >= 2 })
	if n := h.q.Stats().PendingItems; n != 1 {
		t.Fatalf("pending items after stopping = %d, want 1", n)
	}
}

func TestExportTLS(t *testing.T) {
	cert, caFile := selfSignedCert(t)
	for _, protocol := range []string{ProtocolHTTP, ProtocolGRPC} {
		t.Run(protocol, func(t *testing.T) {
			b := newBackend(nil, 0)
			var cfg Config
			if protocol == ProtocolHTTP {
				cfg = testConfig(protocol, startHTTP(t, b, "127.0.0.1:0", &cert))
			} else {
				cfg = testConfig(protocol, startGRPC(t, b, &cert))
			}
			cfg.TLS = TLSConfig{CAFile: caFile}
			h := newHarness(t, 2, 3)
			h.run(t, cfg, nil)
			if _, received := b.snapshot(); received != 6 {
				t.Errorf("backend accepted %d spans over TLS, want 6", received)
			}
		})
	}
}

func TestExportUndecodableItem(t *testing.T) {
	b := newBackend(nil, 0)
	h := newHarness(t, 0, 0)
	if err := h.q.Put(context.Background(), []byte{9, 9, 9}); err != nil {
		t.Fatal(err)
	}
	h.run(t, testConfig(ProtocolGRPC, startGRPC(t, b, nil)), nil)
	if got := testkit.MetricValue(t, h.reg, "waymark_exporter_undecodable_items_total", ""); got != 1 {
		t.Errorf("undecodable items = %v, want 1", got)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"default", DefaultConfig(), nil},
		{"http", Config{Protocol: ProtocolHTTP, Endpoint: "https://tempo:4318"}, nil},
		{"zero", Config{}, []string{"endpoint: empty"}},
		{"grpc url", Config{Endpoint: "http://x:4317"}, []string{"endpoint: \"http://x:4317\" is a URL"}},
		{"every bad field", Config{Protocol: ProtocolHTTP, Endpoint: "tempo:4318", Compression: "zstd",
			Headers: map[string]string{"bad key": "v"}, TLS: TLSConfig{CertFile: "c.pem"}, Timeout: -1, Workers: -1,
			Retry: RetryConfig{InitialInterval: -1, MaxInterval: -1, Multiplier: 0.5, RandomizationFactor: 1, MaxElapsedTime: -1}},
			[]string{"endpoint:", "compression:", "headers.bad key:", "tls.cert_file, tls.key_file:", "timeout:", "workers:",
				"retry.initial_interval:", "retry.max_interval:", "retry.multiplier:", "retry.randomization_factor:", "retry.max_elapsed_time:"}},
		{"bad protocol", Config{Protocol: "thrift", Endpoint: "x:1"}, []string{"protocol:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { testkit.WantErrors(t, tt.cfg.Validate(), tt.want...) })
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"5", 5 * time.Second},
		{" 12 ", 12 * time.Second},
		{"-3", 0},
		{"99999999999", maxRetryAfter},
		{"Fri, 02 Jan 2026 03:04:35 GMT", 30 * time.Second},
		{"Fri, 02 Jan 2026 03:00:00 GMT", 0},
		{"soon", 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
