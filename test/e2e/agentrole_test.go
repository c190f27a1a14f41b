package e2e

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"

	"waymark/internal/model"
	"waymark/internal/process/sample"
)

// agentYAML is an agent configuration exporting to a server's OTLP/gRPC
// address, with the given sampling section (indented by four spaces).
func agentYAML(serverAddr, sampling string) string {
	return `agent:
  enrich:
    datacenter: dc-east-1
    node: node-7
  sampling:
` + sampling + `
  batch:
    timeout: 50ms
  queue:
    ack_sync_interval: 1s
  exporters:
    - name: server
      endpoint: ` + serverAddr + `
      tls:
        insecure: true
      workers: 1
      retry:
        initial_interval: 100ms
        max_interval: 1s
`
}

// dialAgent returns an OTLP/gRPC client that reconnects within a second
// when the agent behind addr restarts.
func dialAgent(t *testing.T, addr string) ptraceotlp.GRPCClient {
	t.Helper()
	bo := backoff.DefaultConfig
	bo.BaseDelay, bo.MaxDelay = 50*time.Millisecond, time.Second
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: bo}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return ptraceotlp.NewGRPCClient(conn)
}

// metricSum sums every sample of the metric name (all label sets) the
// process at adminURL exports; ok is false when it cannot be read.
func metricSum(adminURL, name string) (sum float64, ok bool) {
	resp, err := http.Get(adminURL)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return 0, false
	}
	for _, line := range strings.Split(string(body), "\n") {
		rest, found := strings.CutPrefix(line, name)
		if !found || (rest != "" && rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			return 0, false
		}
		sum += v
	}
	return sum, true
}

// spanIDsByTrace lists the span IDs of every trace in td.
func spanIDsByTrace(td ptrace.Traces) map[pcommon.TraceID][]pcommon.SpanID {
	out := map[pcommon.TraceID][]pcommon.SpanID{}
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				sp := spans.At(k)
				out[sp.TraceID()] = append(out[sp.TraceID()], sp.SpanID())
			}
		}
	}
	return out
}

// fetchTraceSpans returns the spans the server returns for id (nil if none).
func fetchTraceSpans(t *testing.T, s *server, id pcommon.TraceID) *jaegerTrace {
	t.Helper()
	var r jaegerResponse
	code := getJSON(t, s.queryURL("/api/traces/"+fmt.Sprintf("%x", id[:])), &r)
	if code == http.StatusNotFound {
		return nil
	}
	if code != http.StatusOK || len(r.Data) != 1 {
		t.Fatalf("trace %x: status %d, %d traces", id[:], code, len(r.Data))
	}
	return &r.Data[0]
}

// checkExactlyOnce checks that every trace of want is in the server with
// exactly its spans, each once, and that the agent's enrichment is on them.
func checkExactlyOnce(t *testing.T, s *server, want map[pcommon.TraceID][]pcommon.SpanID) {
	t.Helper()
	ids := make([]pcommon.TraceID, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	var (
		mu       sync.Mutex
		problems []string
		found    int
		wg       sync.WaitGroup
	)
	report := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	const workers = 4
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(ids); i += workers {
				id := ids[i]
				tr := fetchTraceSpans(t, s, id)
				if tr == nil {
					report("trace %x: missing", id[:])
					continue
				}
				got := map[string]int{}
				for _, sp := range tr.Spans {
					got[sp.SpanID]++
					if dc, ok := tagOf(tr.Processes[sp.ProcessID].Tags, "cloud.availability_zone"); !ok || dc.Value != "dc-east-1" {
						report("trace %x span %s: process tags lack cloud.availability_zone=dc-east-1", id[:], sp.SpanID)
					}
				}
				for _, sid := range want[id] {
					key := fmt.Sprintf("%x", sid[:])
					if got[key] != 1 {
						report("trace %x span %s: returned %d times, want once", id[:], key, got[key])
					}
				}
				if len(tr.Spans) != len(want[id]) {
					report("trace %x: %d spans returned, want %d", id[:], len(tr.Spans), len(want[id]))
				}
				mu.Lock()
				found += len(tr.Spans)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(problems) > 0 {
		n := min(len(problems), 10)
		t.Fatalf("%d problems in %d traces; first %d:\n%s", len(problems), len(ids), n, strings.Join(problems[:n], "\n"))
	}
	t.Logf("all %d acknowledged traces (%d spans) in the server exactly once", len(ids), found)
}

// The durability test: 100,000 spans through a real agent into a
// real server, the server stopped for 60 s mid-stream, then the agent
// SIGKILLed while it exports the backlog and restarted. Every span the
// agent acknowledged is in the server exactly once after deduplication.
func TestAgentDeliversEveryAcknowledgedSpan(t *testing.T) {
	if testing.Short() {
		t.Skip("includes a 60 s backend outage")
	}
	const (
		totalSpans     = 100_000
		spansPerTrace  = 5
		tracesPerBatch = 50
		batches        = totalSpans / (spansPerTrace * tracesPerBatch)
		interval       = 200 * time.Millisecond // 400 batches over about 80 s
		outage         = 60 * time.Second
	)
	srv := startServer(t)
	ag := startAgent(t, agentYAML(srv.otlpGRPCAddr(), "    sampling_percentage: 100"))
	metrics := ag.adminURL("/metrics")
	client := dialAgent(t, ag.otlpGRPCAddr())

	var (
		mu      sync.Mutex
		acked   = map[pcommon.TraceID][]pcommon.SpanID{}
		nAcked  int // batches
		refused int // attempts the agent did not acknowledge
	)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		rng := rand.New(rand.NewPCG(11, 12))
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for b := 0; b < batches && ctx.Err() == nil; b++ {
			td, _ := makeBatch(rng, "agent-outage", tracesPerBatch, spansPerTrace, time.Now().Add(-time.Second))
			ids := spanIDsByTrace(td)
			req := ptraceotlp.NewExportRequestFromTraces(td)
			// Resend until the agent acknowledges: only then is it bound
			// to deliver, and only then is the batch checked.
			for ctx.Err() == nil {
				if _, err := client.Export(ctx, req); err == nil {
					break
				}
				mu.Lock()
				refused++
				mu.Unlock()
				time.Sleep(50 * time.Millisecond)
			}
			if ctx.Err() != nil {
				return
			}
			mu.Lock()
			for id, sids := range ids {
				acked[id] = sids
			}
			nAcked++
			mu.Unlock()
			<-tick.C
		}
	}()
	ackedBatches := func() int {
		mu.Lock()
		defer mu.Unlock()
		return nAcked
	}

	eventually(t, time.Minute, "the first 10% of the stream to be acknowledged", func() bool { return ackedBatches() >= batches/10 })
	// The server's counters restart with it: add up both lives.
	acceptedBefore, _ := metricSum(srv.queryURL("/metrics"), "waymark_receiver_accepted_spans_total")
	srv.stop()
	t.Logf("server stopped after %d of %d batches; down for %s", ackedBatches(), batches, outage)
	time.Sleep(outage)
	queued, _ := metricSum(metrics, "waymark_queue_pending_items")
	sentBefore, _ := metricSum(metrics, "waymark_exporter_sent_spans_total")
	if queued == 0 {
		t.Fatalf("agent queue empty after a %s outage with the stream running", outage)
	}
	srv.restart()
	t.Logf("server restarted; %d batches acknowledged, %.0f items queued in the agent", ackedBatches(), queued)

	// Kill the agent while it exports the backlog: the server has taken
	// some of it and some is still queued. The first ack after the outage
	// is written to disk at once and later ones at most every second, so
	// waiting for a few items makes the restarted agent send some again.
	deadline := time.Now().Add(time.Minute)
	for {
		sentNow, ok1 := metricSum(metrics, "waymark_exporter_sent_spans_total")
		pending, ok2 := metricSum(metrics, "waymark_queue_pending_items")
		if ok1 && ok2 && sentNow >= sentBefore+8*spansPerTrace*tracesPerBatch && pending > 0 {
			ag.kill()
			t.Logf("agent SIGKILLed mid-export: %.0f spans exported since the restart, %.0f items still queued", sentNow-sentBefore, pending)
			break
		}
		if ok2 && pending == 0 {
			t.Fatalf("the agent drained its backlog before it could be killed mid-export")
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent did not resume exporting within a minute of the server restart:\n%s", ag.logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	ag.restart()

	select {
	case <-sent:
	case <-ctx.Done():
	}
	if ackedBatches() != batches {
		t.Fatalf("only %d of %d batches acknowledged before the time limit", ackedBatches(), batches)
	}
	eventually(t, 2*time.Minute, "the agent's queue to drain", func() bool {
		n, ok := metricSum(metrics, "waymark_queue_pending_items")
		return ok && n == 0
	})
	mu.Lock()
	t.Logf("%d spans in %d traces acknowledged (%d attempts refused while the agent was down)", len(acked)*spansPerTrace, len(acked), refused)
	mu.Unlock()
	if len(acked)*spansPerTrace != totalSpans {
		t.Fatalf("acknowledged %d spans, want %d", len(acked)*spansPerTrace, totalSpans)
	}
	if after, ok := metricSum(srv.queryURL("/metrics"), "waymark_receiver_accepted_spans_total"); ok {
		t.Logf("the server accepted %.0f spans in all, %.0f of them copies sent again after the SIGKILL",
			acceptedBefore+after, acceptedBefore+after-totalSpans)
	}
	checkExactlyOnce(t, srv, acked)
}

// Three agents with the same hash seed, each fed one span of every one of
// the same 10,000 traces, keep the same traces: every trace in the server
// is complete, and it holds exactly the traces the hash_seed rule keeps.
func TestAgentsSampleTheSameTraces(t *testing.T) {
	const (
		traces   = 10_000
		agents   = 3
		pct      = 10
		seed     = 4242
		perBatch = 1000
	)
	srv := startServer(t)
	sampling := fmt.Sprintf("    mode: hash_seed\n    hash_seed: %d\n    sampling_percentage: %d", seed, pct)
	var ags [agents]*server
	for i := range ags {
		ags[i] = startAgent(t, agentYAML(srv.otlpGRPCAddr(), sampling))
	}
	services := [agents]string{"edge-proxy", "checkout", "payments"}

	rng := rand.New(rand.NewPCG(21, 22))
	ids := make([]pcommon.TraceID, traces)
	for i := range ids {
		binary.BigEndian.PutUint64(ids[i][:8], rng.Uint64())
		binary.BigEndian.PutUint64(ids[i][8:], rng.Uint64())
	}
	start := time.Now().Add(-time.Minute)
	var wg sync.WaitGroup
	for a := 0; a < agents; a++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := dialAgent(t, ags[a].otlpGRPCAddr())
			for off := 0; off < traces; off += perBatch {
				td := ptrace.NewTraces()
				rs := td.ResourceSpans().AppendEmpty()
				rs.Resource().Attributes().PutStr("service.name", services[a])
				spans := rs.ScopeSpans().AppendEmpty().Spans()
				for i := off; i < off+perBatch; i++ {
					sp := spans.AppendEmpty()
					sp.SetTraceID(ids[i])
					sp.SetSpanID(pcommon.SpanID{byte(a + 1), byte(i >> 16), byte(i >> 8), byte(i), 1})
					if a > 0 {
						sp.SetParentSpanID(pcommon.SpanID{1, byte(i >> 16), byte(i >> 8), byte(i), 1})
					}
					sp.SetName("hop")
					sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(a) * time.Millisecond)))
					sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(10 * time.Millisecond)))
				}
				if _, err := client.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(td)); err != nil {
					t.Errorf("agent %d: export: %v", a, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	// What the rule keeps, decided here with the same configuration.
	ref, err := sample.New(sample.Config{Mode: sample.ModeHashSeed, HashSeed: seed, SamplingPercentage: pct},
		model.ConsumerFunc(func(context.Context, model.Batch) error { return nil }), nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, id := range ids {
		if ref.Decide(&model.Span{TraceID: model.TraceID(id)}).Keep {
			want[fmt.Sprintf("%x", id[:])] = true
		}
	}
	if f := float64(len(want)) / traces; f < 0.09 || f > 0.11 {
		t.Fatalf("the rule keeps %.3f of the traces, want about %v%%", f, pct)
	}
	for i, ag := range ags {
		m := ag.adminURL("/metrics")
		eventually(t, time.Minute, fmt.Sprintf("agent %d to export everything it kept", i), func() bool {
			kept, ok1 := metricSum(m, "waymark_sampler_spans_kept_total")
			sent, ok2 := metricSum(m, "waymark_exporter_sent_spans_total")
			return ok1 && ok2 && sent == kept
		})
		kept, _ := metricSum(m, "waymark_sampler_spans_kept_total")
		if int(kept) != len(want) {
			t.Errorf("agent %d kept %.0f spans, want %d (one per kept trace)", i, kept, len(want))
		}
	}

	q := url.Values{"service": {services[1]}, "limit": {strconv.Itoa(traces)},
		"start": {strconv.FormatInt(start.Add(-time.Minute).UnixMicro(), 10)}, "end": {strconv.FormatInt(time.Now().UnixMicro(), 10)}}
	var found jaegerResponse
	if code := getJSON(t, srv.queryURL("/api/traces?"+q.Encode()), &found); code != http.StatusOK {
		t.Fatalf("search: status %d", code)
	}
	got := map[string]bool{}
	for _, tr := range found.Data {
		got[tr.TraceID] = true
		seen := map[string]bool{}
		for _, sp := range tr.Spans {
			seen[tr.Processes[sp.ProcessID].ServiceName] = true
			if sp.TraceID != tr.TraceID {
				t.Fatalf("trace %s holds a span of trace %s", tr.TraceID, sp.TraceID)
			}
		}
		if len(tr.Spans) != agents || len(seen) != agents {
			t.Errorf("trace %s incomplete: %d spans from %d services, want one from each of %d agents", tr.TraceID, len(tr.Spans), len(seen), agents)
		}
	}
	for id := range want {
		if !got[id] {
			t.Errorf("trace %s should have been kept but is not in the server", id)
		}
	}
	for id := range got {
		if !want[id] {
			t.Errorf("trace %s is in the server but the rule drops it", id)
		}
	}
	t.Logf("%d of %d traces kept by all %d agents, each complete", len(got), traces, agents)
}
