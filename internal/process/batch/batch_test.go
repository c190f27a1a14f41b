package batch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"waymark/internal/model"
	"waymark/internal/testkit"
)

func spans(n int, name string) []model.Span {
	out := make([]model.Span, n)
	for i := range out {
		out[i] = model.Span{Name: fmt.Sprintf("%s-%d", name, i), TraceID: model.TraceID{1}}
	}
	return out
}

func newBatcher(t testing.TB, cfg Config, next model.Consumer, reg prometheus.Registerer) *Batcher {
	t.Helper()
	b, err := New(cfg, next, reg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// consumeAll runs one Consume per batch concurrently and returns their errors.
func consumeAll(ctx context.Context, bt *Batcher, batches []model.Batch) []error {
	errs := make([]error, len(batches))
	var wg sync.WaitGroup
	for i, b := range batches {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = bt.Consume(ctx, b)
		}()
	}
	wg.Wait()
	return errs
}

func TestBatching(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		inputs  []model.Batch
		batches []string // "tenant:spans", sorted
	}{
		{"size", Config{MaxSpans: 6, Timeout: time.Hour},
			[]model.Batch{{Tenant: "a", Spans: spans(3, "x")}, {Tenant: "a", Spans: spans(3, "y")}}, []string{"a:6"}},
		{"timeout", Config{MaxSpans: 100, Timeout: time.Millisecond},
			[]model.Batch{{Tenant: "a", Spans: spans(2, "x")}}, []string{"a:2"}},
		{"one input larger than max", Config{MaxSpans: 2, Timeout: time.Hour},
			[]model.Batch{{Tenant: "a", Spans: spans(5, "x")}}, []string{"a:5"}},
		{"per tenant", Config{MaxSpans: 4, Timeout: time.Hour},
			[]model.Batch{{Tenant: "a", Spans: spans(2, "x")}, {Tenant: "b", Spans: spans(2, "x")},
				{Tenant: "a", Spans: spans(2, "y")}, {Tenant: "b", Spans: spans(2, "y")}}, []string{"a:4", "b:4"}},
		{"empty input", Config{}, []model.Batch{{Tenant: "a"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &testkit.Sink{}
			bt := newBatcher(t, tt.cfg, sink, nil)
			for i, err := range consumeAll(context.Background(), bt, tt.inputs) {
				if err != nil {
					t.Errorf("Consume %d: %v", i, err)
				}
			}
			var got []string
			for _, b := range sink.Batches() {
				got = append(got, fmt.Sprintf("%s:%d", b.Tenant, len(b.Spans)))
			}
			sort.Strings(got)
			if fmt.Sprint(got) != fmt.Sprint(tt.batches) {
				t.Errorf("batches %v, want %v", got, tt.batches)
			}
		})
	}
}

func TestOTLPKeptOnlyForSingleInput(t *testing.T) {
	sink := &testkit.Sink{}
	bt := newBatcher(t, Config{MaxSpans: 4, Timeout: time.Millisecond}, sink, nil)
	if err := bt.Consume(context.Background(), model.Batch{Tenant: "a", Spans: spans(1, "x"), OTLP: []byte{1}}); err != nil {
		t.Fatal(err)
	}
	consumeAll(context.Background(), newBatcher(t, Config{MaxSpans: 2, Timeout: time.Hour}, sink, nil), []model.Batch{
		{Tenant: "b", Spans: spans(1, "x"), OTLP: []byte{1}}, {Tenant: "b", Spans: spans(1, "y"), OTLP: []byte{2}}})
	got := sink.Batches()
	if len(got) != 2 || got[0].OTLP == nil || got[1].OTLP != nil {
		t.Fatalf("OTLP of a single-input batch must be kept and of a merged one cleared: %+v", got)
	}
}

func TestNextErrorReachesEveryCaller(t *testing.T) {
	boom := errors.New("queue broken")
	bt := newBatcher(t, Config{MaxSpans: 4, Timeout: time.Hour},
		model.ConsumerFunc(func(context.Context, model.Batch) error { return boom }), nil)
	errs := consumeAll(context.Background(), bt, []model.Batch{{Spans: spans(2, "x")}, {Spans: spans(2, "y")}})
	for i, err := range errs {
		if !errors.Is(err, boom) {
			t.Errorf("caller %d got %v, want the next stage's error", i, err)
		}
	}
}

func TestMemoryLimit(t *testing.T) {
	reg := prometheus.NewRegistry()
	entered, release := make(chan struct{}), make(chan struct{})
	next := model.ConsumerFunc(func(context.Context, model.Batch) error {
		close(entered)
		<-release
		return nil
	})
	one := spans(1, "x")
	bt := newBatcher(t, Config{MaxSpans: 1, Timeout: time.Hour, MemoryLimitBytes: estimateBytes(one) * 3 / 2}, next, reg)
	first := make(chan error)
	go func() { first <- bt.Consume(context.Background(), model.Batch{Spans: one}) }()
	<-entered // the first batch is being sent and still holds memory
	err := bt.Consume(context.Background(), model.Batch{Spans: spans(1, "y")})
	if oe, ok := model.IsOverloaded(err); !ok || oe.RetryAfter <= 0 {
		t.Fatalf("Consume over the memory limit = %v, want *model.OverloadedError", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if got := testkit.MetricValue(t, reg, "waymark_batch_refused_spans_total", ""); got != 1 {
		t.Errorf("refused spans = %v, want 1", got)
	}
	if got := testkit.MetricValue(t, reg, "waymark_batch_buffered_bytes", ""); got != 0 {
		t.Errorf("buffered bytes after sending = %v, want 0", got)
	}
}

func TestLeaderCancelSendsAtOnce(t *testing.T) {
	sink := &testkit.Sink{}
	bt := newBatcher(t, Config{MaxSpans: 100, Timeout: time.Hour}, sink, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := bt.Consume(ctx, model.Batch{Spans: spans(3, "x")}); err != nil {
		t.Fatalf("Consume = %v, want the send's result", err)
	}
	if got := len(sink.Spans()); got != 3 {
		t.Errorf("sent %d spans, want 3", got)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"default", DefaultConfig(), nil},
		{"zero", Config{}, nil},
		{"every bad field", Config{MaxSpans: -1, Timeout: -1, MemoryLimitBytes: -1, RetryAfter: -1},
			[]string{"max_spans:", "timeout:", "memory_limit_bytes:", "retry_after:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { testkit.WantErrors(t, tt.cfg.Validate(), tt.want...) })
	}
}
