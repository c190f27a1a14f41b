package batch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"waymark/internal/model"
)

// Config configures a Batcher.
type Config struct {
	// MaxSpans sends a tenant's batch once it holds at least this many
	// spans; an incoming batch is never split. Zero means 8192.
	MaxSpans int `yaml:"max_spans"`
	// Timeout sends a batch this long after its first spans arrived, full
	// or not. Zero means 200ms.
	Timeout time.Duration `yaml:"timeout"`
	// MemoryLimitBytes bounds the estimated size of the spans waiting in or
	// being sent from batches, all tenants together; one batch larger than
	// the limit is still taken when nothing else is held. Zero means 64 MiB.
	MemoryLimitBytes int64 `yaml:"memory_limit_bytes"`
	// RetryAfter is the delay suggested to senders refused at the memory
	// limit. Zero means 1s.
	RetryAfter time.Duration `yaml:"retry_after"`
}

// DefaultConfig returns the defaults every zero field stands for.
func DefaultConfig() Config {
	return Config{MaxSpans: 8192, Timeout: 200 * time.Millisecond, MemoryLimitBytes: 64 << 20, RetryAfter: time.Second}
}

// Validate reports every invalid field by its YAML key. It changes nothing.
func (c Config) Validate() error {
	var errs []error
	if c.MaxSpans < 0 {
		errs = append(errs, fmt.Errorf("max_spans: %d is negative", c.MaxSpans))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout: %s is negative", c.Timeout))
	}
	if c.MemoryLimitBytes < 0 {
		errs = append(errs, fmt.Errorf("memory_limit_bytes: %d is negative", c.MemoryLimitBytes))
	}
	if c.RetryAfter < 0 {
		errs = append(errs, fmt.Errorf("retry_after: %s is negative", c.RetryAfter))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.MaxSpans == 0 {
		c.MaxSpans = d.MaxSpans
	}
	if c.Timeout == 0 {
		c.Timeout = d.Timeout
	}
	if c.MemoryLimitBytes == 0 {
		c.MemoryLimitBytes = d.MemoryLimitBytes
	}
	if c.RetryAfter == 0 {
		c.RetryAfter = d.RetryAfter
	}
	return c
}

// pending is one batch being filled, then sent.
type pending struct {
	tenant string
	inputs [][]model.Span // concatenated once, when the batch is sent
	count  int            // spans in inputs
	otlp   []byte         // the only input's OTLP bytes, while there is one input
	bytes  int64
	full   chan struct{} // closed when the batch is full
	done   chan struct{} // closed when the batch was passed on
	err    error         // what the next stage returned; read after done
}

// Batcher is a model.Consumer that merges batches per tenant. It is safe
// for concurrent use; batching only happens between concurrent callers.
type Batcher struct {
	cfg  Config
	next model.Consumer
	log  *slog.Logger
	m    *metrics

	mu       sync.Mutex
	open     map[string]*pending // the batch each tenant is filling
	buffered int64
}

var _ model.Consumer = (*Batcher)(nil)

// New builds a Batcher from a valid cfg. reg may be nil; log must not be nil.
func New(cfg Config, next model.Consumer, reg prometheus.Registerer, log *slog.Logger) (*Batcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("batch config: %w", err)
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	m.limit.Set(float64(cfg.MemoryLimitBytes))
	return &Batcher{cfg: cfg, next: next, log: log, m: m, open: map[string]*pending{}}, nil
}

// Consume adds b's spans to its tenant's batch and returns once that batch
// was passed on, with the next stage's result. When the memory limit would
// be exceeded it returns *model.OverloadedError at once. If ctx ends first,
// Consume returns ctx.Err() but the spans are still sent.
func (bt *Batcher) Consume(ctx context.Context, b model.Batch) error {
	if len(b.Spans) == 0 {
		return nil
	}
	size := estimateBytes(b.Spans)
	bt.mu.Lock()
	if bt.buffered+size > bt.cfg.MemoryLimitBytes && bt.buffered > 0 {
		bt.mu.Unlock()
		bt.m.refused.Add(float64(len(b.Spans)))
		return &model.OverloadedError{Reason: "agent batcher memory limit", RetryAfter: bt.cfg.RetryAfter}
	}
	bt.buffered += size
	bt.m.buffered.Set(float64(bt.buffered))
	p, ok := bt.open[b.Tenant]
	leader := !ok
	if leader {
		p = &pending{tenant: b.Tenant, full: make(chan struct{}), done: make(chan struct{})}
		bt.open[b.Tenant] = p
	}
	p.otlp = b.OTLP
	if len(p.inputs) > 0 {
		p.otlp = nil
	}
	p.inputs = append(p.inputs, b.Spans)
	p.count += len(b.Spans)
	p.bytes += size
	if p.count >= bt.cfg.MaxSpans {
		delete(bt.open, b.Tenant)
		close(p.full)
	}
	bt.mu.Unlock()

	if leader {
		bt.lead(ctx, p)
		return p.err
	}
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// lead waits for p to fill, time out, or its leader's ctx to end, and then
// passes it on. The send does not inherit ctx's cancellation: other
// callers' spans are in the batch too.
func (bt *Batcher) lead(ctx context.Context, p *pending) {
	timer := time.NewTimer(bt.cfg.Timeout)
	trigger := "size"
	select {
	case <-p.full:
	case <-timer.C:
		trigger = "timeout"
	case <-ctx.Done():
		trigger = "cancel"
	}
	timer.Stop()
	bt.mu.Lock()
	if bt.open[p.tenant] == p {
		delete(bt.open, p.tenant)
	}
	bt.mu.Unlock()

	spans := p.inputs[0]
	if len(p.inputs) > 1 {
		spans = make([]model.Span, 0, p.count)
		for _, in := range p.inputs {
			spans = append(spans, in...)
		}
	}
	bt.m.flushes.WithLabelValues(trigger).Inc()
	bt.m.batchSpans.Observe(float64(p.count))
	p.err = bt.next.Consume(context.WithoutCancel(ctx), model.Batch{Tenant: p.tenant, Spans: spans, OTLP: p.otlp})
	if p.err != nil {
		bt.log.Debug("batch not passed on", "tenant", p.tenant, "spans", p.count, "err", p.err)
	}
	bt.mu.Lock()
	bt.buffered -= p.bytes
	bt.m.buffered.Set(float64(bt.buffered))
	bt.mu.Unlock()
	close(p.done)
}

// estimateBytes approximates the memory spans hold: the struct plus their
// strings and attributes. Shared resources and scopes are not counted.
func estimateBytes(spans []model.Span) int64 {
	const spanOverhead, attrOverhead, eventOverhead = 256, 48, 64
	n := int64(0)
	for i := range spans {
		s := &spans[i]
		n += spanOverhead + int64(len(s.Name)+len(s.TraceState)+len(s.StatusMessage))
		n += attributesBytes(s.Attributes, attrOverhead)
		for j := range s.Events {
			n += eventOverhead + int64(len(s.Events[j].Name)) + attributesBytes(s.Events[j].Attributes, attrOverhead)
		}
		for j := range s.Links {
			n += eventOverhead + attributesBytes(s.Links[j].Attributes, attrOverhead)
		}
	}
	return n
}

func attributesBytes(attrs model.Attributes, overhead int64) int64 {
	n := int64(0)
	for i := range attrs {
		n += overhead + int64(len(attrs[i].Key)+len(attrs[i].Value.Str))
	}
	return n
}
