package e2e

import (
	"context"
	binenc "encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// makeBatch builds a batch of traces*spansPerTrace spans with fresh random IDs.
func makeBatch(rng *rand.Rand, service string, traces, spansPerTrace int, start time.Time) (ptrace.Traces, []pcommon.TraceID) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", service)
	rs.Resource().Attributes().PutStr("host.name", "bench-host-1")
	ss := rs.ScopeSpans().AppendEmpty()
	ids := make([]pcommon.TraceID, 0, traces)
	for i := 0; i < traces; i++ {
		var tid pcommon.TraceID
		binenc.BigEndian.PutUint64(tid[:8], rng.Uint64())
		binenc.BigEndian.PutUint64(tid[8:], rng.Uint64())
		ids = append(ids, tid)
		var root pcommon.SpanID
		for j := 0; j < spansPerTrace; j++ {
			sp := ss.Spans().AppendEmpty()
			sp.SetTraceID(tid)
			var sid pcommon.SpanID
			binenc.BigEndian.PutUint64(sid[:], rng.Uint64()|1)
			sp.SetSpanID(sid)
			if j == 0 {
				root = sid
				sp.SetKind(ptrace.SpanKindServer)
			} else {
				sp.SetParentSpanID(root)
				sp.SetKind(ptrace.SpanKindClient)
			}
			sp.SetName(fmt.Sprintf("op-%d", j))
			sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(j) * time.Millisecond)))
			sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(j+5) * time.Millisecond)))
			sp.Attributes().PutStr("http.request.method", "GET")
			sp.Attributes().PutInt("http.response.status_code", 200)
		}
	}
	return td, ids
}

func dialOTLP(t *testing.T, addr string) ptraceotlp.GRPCClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return ptraceotlp.NewGRPCClient(conn)
}

// countSpans returns how many spans the server returns for trace id.
func countSpans(t *testing.T, s *server, id pcommon.TraceID) int {
	t.Helper()
	var r jaegerResponse
	code := getJSON(t, s.queryURL("/api/traces/"+fmt.Sprintf("%x", id[:])), &r)
	if code == 404 {
		return 0
	}
	if code != 200 || len(r.Data) != 1 {
		t.Fatalf("trace %x: status %d", id[:], code)
	}
	return len(r.Data[0].Spans)
}

// TestAcknowledgedSpansSurviveSIGKILL streams batches from several senders,
// kills the server with SIGKILL mid-stream, restarts it on the same data
// directory, and checks that every acknowledged span is there.
func TestAcknowledgedSpansSurviveSIGKILL(t *testing.T) {
	// A short head age makes block cuts (and WAL truncation) happen during the stream too.
	s := startServer(t, "--storage.head.max_age=1s")
	client := dialOTLP(t, s.otlpGRPCAddr())
	const spansPerTrace = 5
	var (
		mu    sync.Mutex
		acked []pcommon.TraceID
		wg    sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(context.Background())
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, seed*7+1))
			for ctx.Err() == nil {
				td, ids := makeBatch(rng, "kill-test", 200, spansPerTrace, time.Now().Add(-time.Second))
				if _, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(td)); err != nil {
					continue // not acknowledged: no promise made
				}
				mu.Lock()
				acked = append(acked, ids...)
				mu.Unlock()
			}
		}(uint64(w + 1))
	}
	time.Sleep(2500 * time.Millisecond)
	s.kill()
	cancel()
	wg.Wait()
	if len(acked) == 0 {
		t.Fatalf("no batch was acknowledged before the kill:\n%s", s.logs.String())
	}
	t.Logf("%d traces (%d spans) acknowledged before SIGKILL", len(acked), len(acked)*spansPerTrace)
	s.restart()
	missing := 0
	for _, id := range acked {
		if n := countSpans(t, s, id); n != spansPerTrace {
			missing++
			if missing < 5 {
				t.Errorf("trace %x: %d spans after restart, want %d", id[:], n, spansPerTrace)
			}
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged traces incomplete after SIGKILL and restart", missing, len(acked))
	}
}

// TestBlocksServeAfterCutAndRestart checks that spans cut from the head into
// a block are still found, and after a clean restart with the WAL truncated.
func TestBlocksServeAfterCutAndRestart(t *testing.T) {
	s := startServer(t, "--storage.head.max_age=1s")
	client := dialOTLP(t, s.otlpGRPCAddr())
	rng := rand.New(rand.NewPCG(42, 43))
	td, ids := makeBatch(rng, "block-test", 100, 5, time.Now().Add(-time.Minute))
	if _, err := client.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(td)); err != nil {
		t.Fatal(err)
	}
	blocks := filepath.Join(s.dataDir, "blocks", "single-tenant")
	eventually(t, 30*time.Second, "a block to be written", func() bool {
		entries, _ := os.ReadDir(blocks)
		return len(entries) > 0
	})
	for _, id := range ids[:10] {
		if n := countSpans(t, s, id); n != 5 {
			t.Errorf("trace %x: %d spans from block, want 5", id[:], n)
		}
	}
	s.stop()
	s.restart()
	for _, id := range ids {
		if n := countSpans(t, s, id); n != 5 {
			t.Fatalf("trace %x: %d spans after restart, want 5", id[:], n)
		}
	}
	var found jaegerResponse
	getJSON(t, s.queryURL("/api/traces?service=block-test&limit=1000&tags=%7B%22http.response.status_code%22%3A%22200%22%7D"), &found)
	if len(found.Data) != len(ids) {
		t.Errorf("search over blocks found %d traces, want %d", len(found.Data), len(ids))
	}
}
