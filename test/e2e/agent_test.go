package e2e

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"waymark/internal/export/otlp"
	"waymark/internal/model"
	"waymark/internal/process/batch"
	"waymark/internal/process/enrich"
	"waymark/internal/process/sample"
	"waymark/internal/queue"
	"waymark/internal/testkit"
)

// agentPath chains enrich → sample → batch → enqueue into q, as the agent
// does.
func agentPath(t testing.TB, q otlp.Putter, samplePct float64) model.Consumer {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	bt, err := batch.New(batch.Config{MaxSpans: 2048, Timeout: 20 * time.Millisecond}, otlp.NewEnqueuer(q), nil, log)
	if err != nil {
		t.Fatal(err)
	}
	smp, err := sample.New(sample.Config{SamplingPercentage: samplePct}, bt, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	ecfg := enrich.DefaultConfig()
	ecfg.Node = "node-1"
	enr, err := enrich.New(ecfg, smp, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	return enr
}

// input returns a batch of n spans in n/4 traces, as a receiver builds it.
func input(n, seed int) model.Batch {
	res := &model.Resource{ServiceName: "checkout", Attributes: model.Attributes{
		{Key: "service.name", Value: model.StringValue("checkout")},
		{Key: "telemetry.sdk.language", Value: model.StringValue("go")},
	}}
	scope := &model.Scope{Name: "net/http"}
	spans := make([]model.Span, n)
	for i := range spans {
		var tid model.TraceID
		rng := rand.New(rand.NewPCG(uint64(seed), uint64(i/4)))
		binary.BigEndian.PutUint64(tid[:8], rng.Uint64())
		binary.BigEndian.PutUint64(tid[8:], rng.Uint64())
		spans[i] = model.Span{
			TraceID: tid, SpanID: model.SpanID{byte(i), byte(i >> 8), 1}, Name: "GET /cart", Kind: model.KindServer,
			StartTimeUnixNano: 1_700_000_000_000_000_000, EndTimeUnixNano: 1_700_000_000_120_000_000,
			Resource: res, Scope: scope,
			Attributes: model.Attributes{
				{Key: "http.request.method", Value: model.StringValue("GET")},
				{Key: "http.route", Value: model.StringValue("/cart")},
				{Key: "http.response.status_code", Value: model.IntValue(200)},
				{Key: "url.path", Value: model.StringValue("/cart/42")},
				{Key: "server.address", Value: model.StringValue("cart.internal")},
				{Key: "http.request.header.authorization", Value: model.StringValue("Bearer secret")},
			},
		}
	}
	return model.Batch{Tenant: "acme", Spans: spans}
}

// otlpBackend accepts OTLP/HTTP and counts spans and what they carry.
type otlpBackend struct {
	mu                        sync.Mutex
	spans, enriched, withAuth int
	withTH                    int
}

func (b *otlpBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := testkit.ReadBody(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	rss := req.Traces().ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		_, node := rss.At(i).Resource().Attributes().Get("host.name")
		for j := 0; j < rss.At(i).ScopeSpans().Len(); j++ {
			spans := rss.At(i).ScopeSpans().At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				sp := spans.At(k)
				b.spans++
				if node {
					b.enriched++
				}
				if _, ok := sp.Attributes().Get("http.request.header.authorization"); ok {
					b.withAuth++
				}
				if _, ok := sample.AdjustedCount(sp.TraceState().AsRaw()); ok {
					b.withTH++
				}
			}
		}
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	out, _ := ptraceotlp.NewExportResponse().MarshalProto()
	_, _ = w.Write(out)
}

// The backend is down while the agent takes spans; when it comes back every
// kept span arrives, enriched, stripped of credentials and carrying th.
func TestAgentPathSurvivesBackendOutage(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	if err := lis.Close(); err != nil {
		t.Fatal(err)
	}

	q, err := queue.Open(t.TempDir(), queue.Options{Config: queue.Config{AckSyncInterval: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	cfg := otlp.DefaultConfig()
	cfg.Protocol, cfg.Endpoint = otlp.ProtocolHTTP, "http://"+addr
	cfg.Retry.InitialInterval, cfg.Retry.MaxInterval = 5*time.Millisecond, 50*time.Millisecond
	exp, err := otlp.New(cfg, q, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error)
	go func() { runDone <- exp.Run(ctx) }()

	pipeline := agentPath(t, q, 50)
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := pipeline.Consume(context.Background(), input(100, i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	pending := q.Stats().PendingItems
	if pending == 0 {
		t.Fatal("nothing queued while the backend was down")
	}

	backend := &otlpBackend{}
	lis, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: backend, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(lis) }()
	defer srv.Close()

	guard := time.Now().Add(time.Minute)
	for q.Stats().PendingItems > 0 {
		if time.Now().After(guard) {
			t.Fatalf("%d items still queued a minute after the backend came back", q.Stats().PendingItems)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-runDone
	if err := exp.Close(); err != nil {
		t.Fatal(err)
	}

	// The decision is per trace ID, so recompute the expected count with a
	// sampler of the same configuration.
	ref, err := sample.New(sample.Config{SamplingPercentage: 50}, model.ConsumerFunc(func(context.Context, model.Batch) error { return nil }), nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for i := 0; i < 40; i++ {
		b := input(100, i)
		for j := range b.Spans {
			if ref.Decide(&b.Spans[j]).Keep {
				want++
			}
		}
	}
	backend.mu.Lock()
	defer backend.mu.Unlock()
	if backend.spans != want || backend.enriched != want || backend.withTH != want || backend.withAuth != 0 {
		t.Fatalf("backend got %d spans (%d enriched, %d with th, %d with authorization), want %d, all enriched, all with th, none with authorization",
			backend.spans, backend.enriched, backend.withTH, backend.withAuth, want)
	}
}

// BenchmarkAgentPath measures the CPU the agent spends per span from
// enrich to a durable queue item (fsync waits excluded: they cost no CPU).
func BenchmarkAgentPath(b *testing.B) {
	for _, pct := range []float64{100, 10} {
		b.Run(fmt.Sprintf("sample=%v%%", pct), func(b *testing.B) {
			q, err := queue.Open(b.TempDir(), queue.Options{Config: queue.Config{CapacityBytes: 1 << 40, AckSyncInterval: time.Second}})
			if err != nil {
				b.Fatal(err)
			}
			defer q.Close()
			pipeline := agentPath(b, q, pct)
			const n = 256
			inputs := make([]model.Batch, 64)
			for i := range inputs {
				inputs[i] = input(n, i)
			}
			b.SetParallelism(8)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime(b)
			var next sync.Mutex
			k := 0
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					next.Lock()
					src := inputs[k%len(inputs)]
					k++
					next.Unlock()
					in := model.Batch{Tenant: src.Tenant, Spans: append([]model.Span(nil), src.Spans...)}
					for j := range in.Spans {
						in.Spans[j].Attributes = append(model.Attributes(nil), src.Spans[j].Attributes...)
					}
					if err := pipeline.Consume(context.Background(), in); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N*n), "cpu-ns/span")
		})
	}
}

func cpuTime(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
