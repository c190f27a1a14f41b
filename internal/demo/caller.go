package demo

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
)

// callTimeout bounds one attempt of an outgoing call.
const callTimeout = 10 * time.Second

// caller makes the outgoing HTTP calls of one service instance. Every attempt
// gets its own client span (started by otelhttp, which also injects the W3C
// traceparent), and a call that fails with a 5xx or a transport error is sent
// again up to retries times; resent attempts carry http.request.resend_count.
type caller struct {
	transport *http.Transport
	client    *http.Client
	retries   int
}

// call is one outgoing request.
type call struct {
	method, url string
	header      http.Header
	body        []byte
	// spanName names the client span of each attempt.
	spanName string
	// attrs are added to the client span of each attempt.
	attrs []attribute.KeyValue
}

// attemptKey carries the attempt in flight from caller.do to annotate.
type attemptKey struct{}

type attempt struct {
	call *call
	n    int
}

func newCaller(tp trace.TracerProvider, retries int) *caller {
	tr := &http.Transport{
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
	}
	rt := otelhttp.NewTransport(annotate{next: tr},
		otelhttp.WithTracerProvider(tp),
		otelhttp.WithMeterProvider(noop.NewMeterProvider()),
		otelhttp.WithPropagators(propagator()),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			if a, ok := r.Context().Value(attemptKey{}).(attempt); ok && a.call.spanName != "" {
				return a.call.spanName
			}
			return r.Method
		}),
	)
	return &caller{transport: tr, client: &http.Client{Transport: rt, Timeout: callTimeout}, retries: retries}
}

// annotate runs inside the client span otelhttp started and adds the call's
// attributes and the attempt number to it.
type annotate struct{ next http.RoundTripper }

func (a annotate) RoundTrip(r *http.Request) (*http.Response, error) {
	if at, ok := r.Context().Value(attemptKey{}).(attempt); ok {
		span := trace.SpanFromContext(r.Context())
		span.SetAttributes(at.call.attrs...)
		if at.n > 0 {
			span.SetAttributes(attribute.Int("http.request.resend_count", at.n))
		}
	}
	return a.next.RoundTrip(r)
}

// do sends c, retrying failures. The caller closes the returned body. The
// last attempt's response or error is returned.
func (cl *caller) do(ctx context.Context, c *call) (*http.Response, error) {
	for n := 0; ; n++ {
		req, err := http.NewRequestWithContext(context.WithValue(ctx, attemptKey{}, attempt{call: c, n: n}), c.method, c.url, bytes.NewReader(c.body))
		if err != nil {
			return nil, err
		}
		for k, vs := range c.header {
			req.Header[k] = vs
		}
		resp, err := cl.client.Do(req)
		failed := err != nil || resp.StatusCode >= 500
		if !failed || n >= cl.retries || ctx.Err() != nil {
			return resp, err
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
}

// close drops idle connections, ending their goroutines.
func (cl *caller) close() { cl.transport.CloseIdleConnections() }
