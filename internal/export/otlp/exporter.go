package otlp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"waymark/internal/queue"
)

// maxRetryAfter caps a delay a backend asks for.
const maxRetryAfter = 10 * time.Minute

// Source is the reading side of the durable queue.
type Source interface {
	// Get blocks until an item is available.
	Get(ctx context.Context) (queue.Item, error)
	// Ack removes a delivered item for good.
	Ack(it queue.Item) error
}

// sender sends one export request.
type sender interface {
	send(ctx context.Context, tenant string, req []byte) outcome
	close() error
}

// outcome is the result of one request.
type outcome struct {
	err        error         // nil when the backend accepted the request
	code       string        // HTTP status or gRPC code, for metrics
	retryable  bool          // the OTLP rules allow a retry
	retryAfter time.Duration // delay the backend asked for, 0 if none
	rejected   int64         // spans refused in a partial success
	message    string        // partial success message
}

// Exporter sends queued items to an OTLP backend.
type Exporter struct {
	cfg Config
	src Source
	s   sender
	log *slog.Logger
	m   *metrics

	// sleep waits between retries; tests replace it to see the delays.
	sleep func(ctx context.Context, d time.Duration) error
}

// New builds an Exporter reading from src. reg may be nil (no metrics);
// log must not be nil. Close releases its connections.
func New(cfg Config, src Source, reg prometheus.Registerer, log *slog.Logger) (*Exporter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("exporter config: %w", err)
	}
	cfg = cfg.withDefaults()
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	var tlsCfg *tls.Config
	if !cfg.TLS.Insecure || cfg.Protocol == ProtocolHTTP {
		if tlsCfg, err = cfg.TLS.tlsConfig(); err != nil {
			return nil, err
		}
	}
	var s sender
	if cfg.Protocol == ProtocolHTTP {
		s, err = newHTTPSender(cfg, tlsCfg)
	} else {
		s, err = newGRPCSender(cfg, tlsCfg)
	}
	if err != nil {
		return nil, err
	}
	return &Exporter{cfg: cfg, src: src, s: s, log: log, m: m, sleep: sleepCtx}, nil
}

// Run sends items with cfg.Workers concurrent workers until ctx is done or
// the queue is closed, then returns nil. Items in flight when ctx ends are
// not acked, so the queue delivers them again.
func (e *Exporter) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for i := 0; i < e.cfg.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.work(ctx)
		}()
	}
	wg.Wait()
	return nil
}

// Close releases the exporter's connections. Call it after Run returned.
func (e *Exporter) Close() error { return e.s.close() }

func (e *Exporter) work(ctx context.Context) {
	for {
		it, err := e.src.Get(ctx)
		switch {
		case ctx.Err() != nil || errors.Is(err, queue.ErrClosed):
			return
		case err != nil:
			e.log.Error("read export queue", "err", err)
			if e.sleep(ctx, e.cfg.Retry.MaxInterval) != nil {
				return
			}
			continue
		}
		e.export(ctx, it)
	}
}

// export sends one item until it is accepted, refused for good, or out of
// retry time, and then acks it. It returns without acking when ctx ends.
func (e *Exporter) export(ctx context.Context, it queue.Item) {
	qi, err := DecodeQueueItem(it.Data)
	if err != nil {
		e.m.undecodable.Inc()
		e.log.Error("undecodable export queue item dropped", "bytes", len(it.Data), "err", err)
		e.ack(it)
		return
	}
	start := time.Now()
	for attempt := 0; ; attempt++ {
		rctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
		out := e.s.send(rctx, qi.Tenant, qi.Request)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if out.err == nil {
			e.accepted(qi, out)
			e.ack(it)
			return
		}
		if !out.retryable {
			e.m.requests.WithLabelValues("permanent", out.code).Inc()
			e.m.dropped.WithLabelValues("rejected").Add(float64(qi.Spans))
			e.log.Warn("backend refused spans; dropped", "tenant", qi.Tenant, "spans", qi.Spans, "code", out.code, "err", out.err)
			e.ack(it)
			return
		}
		e.m.requests.WithLabelValues("retryable", out.code).Inc()
		wait := e.backoff(attempt)
		if out.retryAfter > 0 {
			wait = out.retryAfter
		}
		if limit := e.cfg.Retry.MaxElapsedTime; limit > 0 && time.Since(start)+wait > limit {
			e.m.dropped.WithLabelValues("retry_exhausted").Add(float64(qi.Spans))
			e.log.Error("export kept failing; spans dropped", "tenant", qi.Tenant, "spans", qi.Spans,
				"attempts", attempt+1, "code", out.code, "err", out.err)
			e.ack(it)
			return
		}
		e.m.retries.Inc()
		e.log.Warn("export failed; will retry", "tenant", qi.Tenant, "attempt", attempt+1, "code", out.code,
			"retry_in", wait, "err", out.err)
		if e.sleep(ctx, wait) != nil {
			return
		}
	}
}

func (e *Exporter) accepted(qi QueueItem, out outcome) {
	e.m.requests.WithLabelValues("success", out.code).Inc()
	rejected := min(out.rejected, int64(qi.Spans))
	e.m.sent.Add(float64(int64(qi.Spans) - rejected))
	if out.rejected > 0 || out.message != "" {
		e.m.dropped.WithLabelValues("partial_success").Add(float64(rejected))
		e.log.Warn("backend accepted part of a batch", "tenant", qi.Tenant, "spans", qi.Spans,
			"rejected", out.rejected, "message", out.message)
	}
}

func (e *Exporter) ack(it queue.Item) {
	if err := e.src.Ack(it); err != nil && !errors.Is(err, queue.ErrClosed) {
		e.log.Error("ack export queue item", "err", err)
	}
}

// backoff returns the delay before retry attempt+1: exponential, capped,
// with jitter.
func (e *Exporter) backoff(attempt int) time.Duration {
	r := e.cfg.Retry
	d := float64(r.InitialInterval) * math.Pow(r.Multiplier, float64(attempt))
	d = min(d, float64(r.MaxInterval))
	if f := r.RandomizationFactor; f > 0 {
		d *= 1 + f*(2*rand.Float64()-1)
	}
	return time.Duration(d)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
