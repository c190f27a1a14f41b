package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/metric/noop"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// instrumentationName is the scope name of the spans Waymark's demo code
// starts itself (the otelhttp spans carry otelhttp's scope).
const instrumentationName = "waymark/internal/demo"

// instance is one running service of one datacenter: its listener, HTTP
// server, tracer provider, outgoing caller and dice.
type instance struct {
	service string
	dc      string
	// id is the service.instance.id, unique across the platform.
	id     string
	url    string
	ln     net.Listener
	srv    *http.Server
	tp     *sdktrace.TracerProvider
	tracer trace.Tracer
	caller *caller
	dice   *dice
}

// newInstance opens a loopback listener and builds the telemetry of one
// service instance; serve starts it.
func newInstance(exp sdktrace.SpanExporter, cfg *Config, service, id, dc string, stream uint64, log *slog.Logger) (*instance, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for %s: %w", id, err)
	}
	batchTimeout := cfg.BatchTimeout
	if batchTimeout == 0 {
		batchTimeout = time.Second
	}
	tp := newTracerProvider(exp, batchTimeout, service, id, dc)
	return &instance{
		service: service,
		dc:      dc,
		id:      id,
		url:     "http://" + ln.Addr().String(),
		ln:      ln,
		srv: &http.Server{
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
		tp:     tp,
		tracer: tp.Tracer(instrumentationName),
		caller: newCaller(tp, cfg.Faults.Retries),
		dice:   newDice(cfg.Seed, stream),
	}, nil
}

// instrument wraps h in otelhttp's server instrumentation: a server span
// per request, continued from the incoming traceparent. opts add to the
// defaults.
func (in *instance) instrument(h http.Handler, opts ...otelhttp.Option) http.Handler {
	opts = append([]otelhttp.Option{
		otelhttp.WithTracerProvider(in.tp),
		otelhttp.WithMeterProvider(noop.NewMeterProvider()),
		otelhttp.WithPropagators(propagator()),
	}, opts...)
	return otelhttp.NewHandler(h, in.service, opts...)
}

// serve serves h until shutdown.
func (in *instance) serve(wg *sync.WaitGroup, log *slog.Logger, h http.Handler) {
	in.srv.Handler = h
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := in.srv.Serve(in.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("demo service stopped", "service", in.id, "err", err)
		}
	}()
}

// shutdown stops accepting requests and waits for those in flight.
func (in *instance) shutdown(ctx context.Context) error {
	err := in.srv.Shutdown(ctx)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	if in.srv.Handler == nil {
		// Never served: Shutdown does not own the listener yet.
		_ = in.ln.Close()
	}
	in.caller.close()
	return err
}
