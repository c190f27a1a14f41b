package loadgen

import (
	"context"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"

	"waymark/internal/model"
)

// recorder is an OTLP gRPC trace receiver that keeps what it is sent.
type recorder struct {
	ptraceotlp.UnimplementedGRPCServer
	mu    sync.Mutex
	spans []model.Span
}

func (r *recorder) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	r.mu.Lock()
	r.spans = model.SpansFromTraces(r.spans, req.Traces())
	r.mu.Unlock()
	return ptraceotlp.NewExportResponse(), nil
}

func startRecorder(t *testing.T) (*recorder, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	rec := &recorder{}
	ptraceotlp.RegisterGRPCServer(srv, rec)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	return rec, l.Addr().String()
}

func TestRunBackdatesSpansAcrossTheWindow(t *testing.T) {
	tests := []struct {
		name     string
		shape    Shape
		backdate time.Duration
	}{
		{name: "reference, no backdate", shape: ReferenceShape()},
		{name: "reference, one hour", shape: ReferenceShape(), backdate: time.Hour},
		{name: "platform, ten minutes", shape: PlatformShape(), backdate: 10 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, addr := startRecorder(t)
			const batches = 20
			rep, err := Run(context.Background(), Config{Endpoint: addr, Spans: batches * 120, BatchSpans: 120, Workers: 3,
				Shape: tt.shape, Backdate: tt.backdate, KeepIDs: 10})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Refused != 0 || int(rep.Accepted) != len(rec.spans) || rep.Batches != batches {
				t.Fatalf("report %s, %d spans received", rep, len(rec.spans))
			}
			lo := uint64(rep.Started.Add(-tt.backdate - time.Second).UnixNano())
			hi := uint64(rep.Started.UnixNano())
			starts := make([]uint64, len(rec.spans))
			for i, s := range rec.spans {
				if s.StartTimeUnixNano < lo || s.StartTimeUnixNano > hi {
					t.Fatalf("span starts at %s, outside [%s, %s]", time.Unix(0, int64(s.StartTimeUnixNano)),
						time.Unix(0, int64(lo)), time.Unix(0, int64(hi)))
				}
				if s.EndTimeUnixNano < s.StartTimeUnixNano {
					t.Fatal("span ends before it starts")
				}
				starts[i] = s.StartTimeUnixNano
			}
			slices.Sort(starts)
			// Spans cover the window: the first batch a full backdate
			// back, the last one 1/batches of it.
			span := time.Duration(starts[len(starts)-1] - starts[0])
			if want := tt.backdate * (batches - 1) / batches; span < want {
				t.Fatalf("span starts cover %s, want at least %s", span, want)
			}
		})
	}
}

func TestRunRefusesANegativeBackdate(t *testing.T) {
	_, addr := startRecorder(t)
	if _, err := Run(context.Background(), Config{Endpoint: addr, Spans: 10, Backdate: -time.Second}); err == nil {
		t.Fatal("negative backdate accepted")
	}
}
