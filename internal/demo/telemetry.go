package demo

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// ExportStats counts what the platform's exporter did.
type ExportStats struct {
	// Spans is the number of spans the endpoint accepted.
	Spans uint64
	// FailedSpans is the number of spans in exports that failed.
	FailedSpans uint64
	// LastError is the most recent export error, empty if none.
	LastError string
}

// sharedExporter is the one exporter every service's tracer provider sends
// through. It counts outcomes and logs failures itself (at most once per
// failureLogInterval), so a Waymark that is down or restarting does not fill
// the terminal, and it ignores Shutdown: the platform shuts the real exporter
// down once, after every provider has flushed.
type sharedExporter struct {
	next sdktrace.SpanExporter
	log  *slog.Logger

	spans, failedSpans atomic.Uint64

	mu        sync.Mutex
	lastError string
	lastLog   time.Time
}

const failureLogInterval = 10 * time.Second

var _ sdktrace.SpanExporter = (*sharedExporter)(nil)

func newOTLPExporter(ctx context.Context, endpoint, tenant string) (sdktrace.SpanExporter, error) {
	opts := []otlptracegrpc.Option{
		otlptracegrpc.WithEndpoint(endpoint),
		otlptracegrpc.WithInsecure(),
		otlptracegrpc.WithTimeout(10 * time.Second),
		// A refused or failed export is dropped and counted, not retried:
		// the demo shows backpressure instead of hiding it.
		otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false}),
	}
	if tenant != "" {
		opts = append(opts, otlptracegrpc.WithHeaders(map[string]string{"X-Scope-OrgID": tenant}))
	}
	exp, err := otlptracegrpc.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("otlp exporter for %s: %w", endpoint, err)
	}
	return exp, nil
}

// ExportSpans forwards spans and records the outcome. It always returns nil:
// the failure is counted and logged here, and the SDK would only hand the
// error to its process-wide error handler.
func (e *sharedExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.next.ExportSpans(ctx, spans)
	if err == nil {
		e.spans.Add(uint64(len(spans)))
		return nil
	}
	e.failedSpans.Add(uint64(len(spans)))
	e.mu.Lock()
	e.lastError = err.Error()
	logNow := time.Since(e.lastLog) >= failureLogInterval
	if logNow {
		e.lastLog = time.Now()
	}
	e.mu.Unlock()
	if logNow {
		e.log.Warn("span export failed; spans are dropped", "spans", len(spans), "err", err)
	}
	return nil
}

// Shutdown does nothing; see sharedExporter.
func (e *sharedExporter) Shutdown(context.Context) error { return nil }

func (e *sharedExporter) stats() ExportStats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return ExportStats{Spans: e.spans.Load(), FailedSpans: e.failedSpans.Load(), LastError: e.lastError}
}

// propagator is W3C trace context plus baggage, as the OTel SDKs default to.
func propagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
}

// newTracerProvider builds the tracer provider of one service instance: its
// own resource (service.name, service.instance.id, datacenter), parent-based
// always-on sampling, and a batcher into the shared exporter.
func newTracerProvider(exp sdktrace.SpanExporter, batchTimeout time.Duration, service, instance, dc string) *sdktrace.TracerProvider {
	res := resource.NewSchemaless(
		attribute.String("service.name", service),
		attribute.String("service.instance.id", instance),
		attribute.String("service.version", "1.4.2"),
		attribute.String("deployment.environment.name", "demo"),
		attribute.String(AttrDatacenter, dc),
	)
	return sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())),
		sdktrace.WithSpanProcessor(sdktrace.NewBatchSpanProcessor(exp, sdktrace.WithBatchTimeout(batchTimeout))),
	)
}
