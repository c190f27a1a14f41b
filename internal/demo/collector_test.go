package demo

import (
	"context"
	"net"
	"sort"
	"sync"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"

	"waymark/internal/model"
)

// collector is a real OTLP/gRPC trace receiver on a loopback port that keeps
// every span it receives, for tests to inspect.
type collector struct {
	ptraceotlp.UnimplementedGRPCServer
	addr string
	srv  *grpc.Server

	mu    sync.Mutex
	spans []model.Span
}

func startCollector(tb testing.TB) *collector {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	c := &collector{addr: ln.Addr().String(), srv: grpc.NewServer()}
	ptraceotlp.RegisterGRPCServer(c.srv, c)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.srv.Serve(ln)
	}()
	tb.Cleanup(func() {
		c.srv.Stop()
		<-done
	})
	return c
}

// Export keeps the request's spans.
func (c *collector) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.spans = model.SpansFromTraces(c.spans, req.Traces())
	return ptraceotlp.NewExportResponse(), nil
}

// spanCount returns the number of spans received so far.
func (c *collector) spanCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.spans)
}

// traces groups the spans received so far by trace, each sorted by start time.
func (c *collector) traces() map[model.TraceID][]model.Span {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[model.TraceID][]model.Span)
	for _, s := range c.spans {
		out[s.TraceID] = append(out[s.TraceID], s)
	}
	for _, spans := range out {
		sort.Slice(spans, func(i, j int) bool { return spans[i].StartTimeUnixNano < spans[j].StartTimeUnixNano })
	}
	return out
}
