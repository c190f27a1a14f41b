package loadgen

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

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
		rate     int
	}{
		// Without a backdate, spans carry the time their batch is sent:
		// a run paced over about a second covers most of that second.
		{name: "reference, live, paced", shape: ReferenceShape(), rate: 20 * 120},
		{name: "reference, one hour", shape: ReferenceShape(), backdate: time.Hour},
		{name: "platform, ten minutes", shape: PlatformShape(), backdate: 10 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, addr := startRecorder(t)
			const batches = 20
			rep, err := Run(context.Background(), Config{Endpoint: addr, Spans: batches * 120, BatchSpans: 120, Workers: 3,
				Shape: tt.shape, Backdate: tt.backdate, Rate: tt.rate, KeepIDs: 10})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Refused != 0 || int(rep.Accepted) != len(rec.spans) || rep.Batches != batches {
				t.Fatalf("report %s, %d spans received", rep, len(rec.spans))
			}
			lo := uint64(rep.Started.Add(-tt.backdate - time.Second).UnixNano())
			hi := uint64(rep.Started.UnixNano())
			if tt.backdate == 0 {
				hi = uint64(rep.Started.Add(rep.Elapsed + time.Second).UnixNano())
			}
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
			want := tt.backdate * (batches - 1) / batches
			if tt.backdate == 0 {
				want = time.Second / 2 // paced batches go out over (batches-1)/batches of a second
			}
			if span < want {
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

// refuser is an OTLP gRPC receiver that refuses its first refusals
// requests as overloaded, asking for a retry after delay, and counts the
// spans it accepts.
type refuser struct {
	ptraceotlp.UnimplementedGRPCServer
	mu              sync.Mutex
	refusals, spans int
	delay           time.Duration
}

func (r *refuser) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refusals > 0 {
		r.refusals--
		st := status.New(codes.Unavailable, "overloaded")
		if r.delay > 0 {
			st, _ = st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(r.delay)})
		}
		return ptraceotlp.NewExportResponse(), st.Err()
	}
	r.spans += req.Traces().SpanCount()
	return ptraceotlp.NewExportResponse(), nil
}

func TestRunRetriesOverloadedRefusals(t *testing.T) {
	tests := []struct {
		name                  string
		retry                 bool
		delay                 time.Duration
		wantRetries           int64
		wantAccepted, refused int64
	}{
		{name: "retry with the receiver's delay", retry: true, delay: 10 * time.Millisecond, wantRetries: 3, wantAccepted: 1000},
		{name: "retry with backoff", retry: true, wantRetries: 3, wantAccepted: 1000},
		{name: "no retry", retry: false, delay: 10 * time.Millisecond, wantAccepted: 700, refused: 300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			srv := grpc.NewServer()
			rec := &refuser{refusals: 3, delay: tt.delay}
			ptraceotlp.RegisterGRPCServer(srv, rec)
			go func() { _ = srv.Serve(l) }()
			defer srv.Stop()
			rep, err := Run(context.Background(), Config{Endpoint: l.Addr().String(), Spans: 1000, BatchSpans: 100, Workers: 1, Retry: tt.retry})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Retries != tt.wantRetries || rep.Accepted != tt.wantAccepted || rep.Refused != tt.refused || int64(rec.spans) != tt.wantAccepted {
				t.Fatalf("report %s, receiver accepted %d spans", rep, rec.spans)
			}
		})
	}
}

func TestRunRetriesOverloadedHTTPRefusals(t *testing.T) {
	var mu sync.Mutex
	refusals, accepted := 2, 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if refusals > 0 {
			refusals--
			w.Header().Set("Retry-After", "0")
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return
		}
		accepted++
	}))
	defer srv.Close()
	rep, err := Run(context.Background(), Config{Protocol: ProtocolOTLPHTTP, Endpoint: strings.TrimPrefix(srv.URL, "http://"),
		Spans: 500, BatchSpans: 100, Workers: 1, Retry: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Retries != 2 || rep.Accepted != 500 || rep.Refused != 0 || accepted != 5 {
		t.Fatalf("report %s, receiver accepted %d requests", rep, accepted)
	}
}
