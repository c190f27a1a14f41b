// Command bench measures Waymark end to end on this machine: it builds and
// starts the waymark binary on a clean data directory, drives it with the
// load generator, and prints one table of ingest spans/s, server CPU-µs per
// span (utime+stime from /proc), peak memory (VmHWM), bytes on disk per
// span, query latencies and freshness (how soon a search finds a span
// after its export was acknowledged).
//
//	go run ./bench                       # reference workload, 1,000,000 spans, 3 runs
//	go run ./bench -spans 200000 -runs 1 # quicker
//	go run ./bench -agent -rate 50000 -workers 16   # the agent in front of a server (see agent.go)
//
// At scale, one command per workload gives every figure of the storage and
// query goals: 10 million spans with start times spread over the hour
// before the run, bytes per span once compaction has merged the blocks,
// then trace by ID, searches, TraceQL and metrics queries over that hour,
// and freshness (the longer query timeout lets the metrics query over 10
// million spans finish instead of failing at the default 30 s):
//
//	go run ./bench -spans 10000000 -runs 1 -backdate 1h -compact -server-flags=--query.timeout=2m                   # reference workload
//	go run ./bench -spans 10000000 -runs 1 -backdate 1h -compact -server-flags=--query.timeout=2m -shape platform   # varied, Envoy-like platform mix
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"waymark/internal/loadgen"
)

func main() {
	spans := flag.Int("spans", 1_000_000, "spans per run")
	runs := flag.Int("runs", 3, "runs (fresh server each); the table shows the median")
	protocol := flag.String("protocol", loadgen.ProtocolOTLPGRPC, "otlp-grpc or otlp-http, or both comma-separated (one table, a row per protocol for ingest)")
	shape := flag.String("shape", "reference", "reference, or platform: 6-span traces edge → gateway → sidecar → checkout → payments → db with varied Envoy-like values and 1% errors")
	varied := flag.Bool("varied", false, "varied attribute values instead of the reference workload's constant ones")
	backdate := flag.Duration("backdate", 0, "spread span start times evenly over this long before the run (e.g. 1h), and query that range")
	compact := flag.Bool("compact", false, "short compaction windows and head age; wait until compaction has merged the blocks, measure bytes per span, then query")
	serverFlags := flag.String("server-flags", "", "extra waymark flags, separated by spaces (after bench's own, so they win)")
	rate := flag.Int("rate", 0, "offered spans/s (0 = as fast as accepted)")
	workers := flag.Int("workers", 4, "loadgen senders")
	keep := flag.Bool("keep", false, "keep the data directory")
	agent := flag.Bool("agent", false, "measure a waymark agent in front of a server instead of the server alone")
	samplePct := flag.Float64("sample", 100, "with -agent: the agent's hash_seed sampling percentage")
	flag.Parse()

	bin, err := buildBinary()
	check(err)
	if *agent {
		runAgentBench(bin, agentBenchConfig{spans: *spans, runs: *runs, rate: *rate, workers: *workers, samplePct: *samplePct, varied: *varied})
		return
	}
	w, err := workloadFor(*shape, *varied)
	check(err)
	cfg := runConfig{spans: *spans, workload: w, backdate: *backdate, compact: *compact, serverFlags: strings.Fields(*serverFlags),
		rate: *rate, workers: *workers, keep: *keep}
	protocols := strings.Split(*protocol, ",")
	byProtocol := make([][]result, len(protocols))
	for p, proto := range protocols {
		for i := 0; i < *runs; i++ {
			r, err := runOnce(bin, cfg, proto)
			check(err)
			fmt.Fprintf(os.Stderr, "%s run %d: %s\n", proto, i+1, r.line())
			byProtocol[p] = append(byProtocol[p], r)
		}
	}
	printTable(byProtocol[0], cfg, protocols[0])
	for p := 1; p < len(protocols); p++ {
		rs := byProtocol[p]
		printRow(rs, "ingest throughput, "+protocols[p], "spans/s", func(r result) float64 { return r.spansPerSec })
		printRow(rs, "server CPU per span until acknowledged, "+protocols[p], "µs", func(r result) float64 { return r.cpuUsPerSpan })
		printRow(rs, "server CPU per span including block flush, "+protocols[p], "µs", func(r result) float64 { return r.cpuUsWithFlush })
	}
	fmt.Printf("\nbench process peak memory (VmHWM, load generator included): %.0f MiB\n", peakRSS(os.Getpid()))
}

// runConfig is what one server run does.
type runConfig struct {
	spans    int
	workload workload
	backdate time.Duration
	compact  bool
	// serverFlags are extra waymark flags.
	serverFlags   []string
	rate, workers int
	keep          bool
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func buildBinary() (string, error) {
	dir, err := os.MkdirTemp("", "waymark-bench")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "waymark")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/waymark")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return bin, cmd.Run()
}

type result struct {
	spansPerSec    float64
	cpuUsPerSpan   float64
	cpuUsWithFlush float64
	peakRSSMiB     float64
	blockBytesSpan float64
	diskBytesSpan  float64
	// With -compact: once compaction has merged the blocks; blocksBefore
	// counts the blocks cut from the head.
	cpuUsCompacted            float64
	peakRSSCompactedMiB       float64
	compactedBytesSpan        float64
	blocksBefore, blocksAfter float64

	idP50, idP99 time.Duration
	search20     time.Duration
	searchRare   time.Duration
	searchScan   time.Duration
	// traceql are the workload's TraceQL searches, in order.
	traceql []time.Duration
	metrics time.Duration
	// freshness is from the probe's acknowledgement to a search finding it;
	// searchProbe then times the search for its value (one trace has it).
	freshness, searchProbe time.Duration
	accepted               int64
	// retries counts batches resent after the server refused them as overloaded.
	retries int64
}

func (r result) line() string {
	line := fmt.Sprintf("%.0f spans/s (%d batches resent), %.2f CPU-µs/span (%.2f with block flush), peak %.0f MiB, %.1f B/span in blocks (%.1f counting WAL)",
		r.spansPerSec, r.retries, r.cpuUsPerSpan, r.cpuUsWithFlush, r.peakRSSMiB, r.blockBytesSpan, r.diskBytesSpan)
	if r.blocksAfter > 0 {
		line += fmt.Sprintf(", after compaction %.1f B/span (%.0f blocks, %.0f cut from the head; %.2f CPU-µs/span in all, peak %.0f MiB)",
			r.compactedBytesSpan, r.blocksAfter, r.blocksBefore, r.cpuUsCompacted, r.peakRSSCompactedMiB)
	}
	line += fmt.Sprintf(", trace by ID p50 %s p99 %s, search limit 20 %s, rare-value scan %s, TraceQL %v, metrics %s, freshness %s, probe search %s",
		r.idP50, r.idP99, r.search20, r.searchRare, r.traceql, r.metrics, r.freshness, r.searchProbe)
	return line
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// cpuTicks returns utime+stime of pid in clock ticks.
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return ut + st, nil
}

const ticksPerSecond = 100 // USER_HZ on Linux

func peakRSS(pid int) float64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kb, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return kb / 1024
		}
	}
	return 0
}

func dirSize(dir string) int64 {
	var n int64
	_ = filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			n += info.Size()
		}
		return nil
	})
	return n
}

func runOnce(bin string, cfg runConfig, protocol string) (result, error) {
	var r result
	dataDir, err := os.MkdirTemp("", "waymark-bench-data")
	if err != nil {
		return r, err
	}
	if !cfg.keep {
		defer os.RemoveAll(dataDir)
	}
	grpcPort, httpPort, queryPort, tempoPort := freePort(), freePort(), freePort(), freePort()
	queryURL := "http://127.0.0.1:" + strconv.Itoa(queryPort)
	tempoURL := "http://127.0.0.1:" + strconv.Itoa(tempoPort)
	args := []string{"--data_dir=" + dataDir,
		"--receivers.otlp_grpc_port=" + strconv.Itoa(grpcPort), "--receivers.otlp_http_port=" + strconv.Itoa(httpPort),
		"--query.tempo_port=" + strconv.Itoa(tempoPort), "--query.jaeger_port=" + strconv.Itoa(queryPort)}
	if cfg.compact {
		args = append(args, compactFlags...)
	}
	cmd, err := startWaymark(bin, queryURL+"/ready", "all-in-one", append(args, cfg.serverFlags...)...)
	if err != nil {
		return r, err
	}
	defer stopWaymark(cmd)
	pid := cmd.Process.Pid
	grpcEndpoint := "127.0.0.1:" + strconv.Itoa(grpcPort)
	endpoint := grpcEndpoint
	if protocol == loadgen.ProtocolOTLPHTTP {
		endpoint = "127.0.0.1:" + strconv.Itoa(httpPort)
	}
	shape := cfg.workload.shape
	cpu0, _ := cpuTicks(pid)
	rep, err := loadgen.Run(context.Background(), loadgen.Config{Protocol: protocol, Endpoint: endpoint, Spans: cfg.spans, BatchSpans: 1000,
		Rate: cfg.rate, Workers: cfg.workers, Shape: shape, KeepIDs: 1000, Backdate: cfg.backdate, Retry: true})
	if err != nil {
		return r, err
	}
	if rep.Refused > 0 {
		return r, fmt.Errorf("loadgen: %s", rep)
	}
	cpu1, _ := cpuTicks(pid)
	// The span times: spread over the backdate before the run, or
	// stamped while it ran.
	data := timeRange{start: rep.Started.Add(-cfg.backdate - 2*time.Second), end: rep.Started.Add(time.Second)}
	if cfg.backdate == 0 {
		data.end = time.Now().Add(time.Second)
	}
	r.accepted, r.retries = rep.Accepted, rep.Retries
	r.spansPerSec = rep.SpansPerSecond()
	perSpan := func(ticks int64) float64 { return float64(ticks) * 1e6 / ticksPerSecond / float64(rep.Accepted) }
	r.cpuUsPerSpan = perSpan(cpu1 - cpu0)

	// Wait for the head to be cut into blocks (its max age), counting that
	// CPU too. The store updates its head gauge every second: a reading
	// taken 1.5 s after the last acknowledgement is from after it.
	metricsURL := queryURL + "/metrics"
	time.Sleep(1500 * time.Millisecond)
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		m, err := scrape(metricsURL)
		if err == nil && m["waymark_store_head_spans"] == 0 {
			r.blocksBefore = m["waymark_store_blocks_written_total"]
			break
		}
		if time.Now().After(deadline) {
			return r, fmt.Errorf("head not flushed within 3 minutes")
		}
	}
	cpu2, _ := cpuTicks(pid)
	r.cpuUsWithFlush = perSpan(cpu2 - cpu0)
	r.peakRSSMiB = peakRSS(pid)
	r.blockBytesSpan = float64(dirSize(filepath.Join(dataDir, "blocks"))) / float64(rep.Accepted)
	r.diskBytesSpan = float64(dirSize(dataDir)) / float64(rep.Accepted)
	if cfg.compact {
		fmt.Fprintf(os.Stderr, "bench: %.0f blocks cut from the head; waiting for compaction\n", r.blocksBefore)
		if r.blocksAfter, err = waitCompacted(metricsURL, data.end); err != nil {
			return r, err
		}
		cpu3, _ := cpuTicks(pid)
		r.cpuUsCompacted = perSpan(cpu3 - cpu0)
		r.peakRSSCompactedMiB = peakRSS(pid)
		r.compactedBytesSpan = float64(dirSize(filepath.Join(dataDir, "blocks"))) / float64(rep.Accepted)
	}
	if err := timeQueries(&r, cfg.workload, queryURL, tempoURL, rep, data); err != nil {
		return r, err
	}

	// Freshness last: it adds a trace.
	freshRange := timeRange{start: data.start, end: time.Now().Add(time.Minute)}
	r.freshness, r.searchProbe = failed, failed
	probe, fresh, err := freshness(context.Background(), grpcEndpoint, queryURL, cfg.workload, freshRange)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: freshness: %v\n", err)
		return r, nil
	}
	r.freshness = fresh
	d, n, err := medianOf(searchReps, func() (time.Duration, int, error) {
		return jaegerSearch(queryURL, cfg.workload.service, probeKey, probe, freshRange)
	})
	if err == nil && n != 1 {
		err = fmt.Errorf("found %d traces, want the probe's one", n)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: search for the probe: %v\n", err)
		return r, nil
	}
	r.searchProbe = d
	return r, nil
}

// idLookups is the number of random trace IDs looked up.
const idLookups = 1000

// timeQueries times trace by ID, the searches and the TraceQL and
// metrics queries over the data's time range, and checks that each found
// what it should.
func timeQueries(r *result, w workload, queryURL, tempoURL string, rep loadgen.Report, data timeRange) error {
	// Trace by ID: 1,000 random acknowledged IDs, so that the p99 is the
	// tenth slowest lookup rather than the slowest of a hundred.
	rng := rand.New(rand.NewPCG(1, 2))
	var lat []time.Duration
	for i := 0; i < idLookups && len(rep.TraceIDs) > 0; i++ {
		id := rep.TraceIDs[rng.IntN(len(rep.TraceIDs))]
		t0 := time.Now()
		n, err := fetchTrace(queryURL, fmt.Sprintf("%x", id[:]))
		lat = append(lat, time.Since(t0))
		if err != nil || n != w.shape.SpansPerTrace {
			return fmt.Errorf("trace %x: %d spans, %v", id[:], n, err)
		}
	}
	slices.Sort(lat)
	r.idP50, r.idP99 = lat[len(lat)/2], lat[len(lat)*99/100]

	// timed runs a query reps times and returns the median latency, or
	// failed (logged) when it erred or did not find what it should: one
	// slow or wrong query does not cost the other figures of a long run.
	timed := func(what string, reps int, wantMatches bool, query func() (time.Duration, int, error)) time.Duration {
		d, n, err := medianOf(reps, query)
		switch {
		case err == nil && wantMatches && n == 0:
			err = errors.New("found nothing")
		case err == nil && !wantMatches && n > 0:
			err = fmt.Errorf("found %d results, want none", n)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s: %v\n", what, err)
			return failed
		}
		return d
	}
	r.search20 = timed("search by service and attribute", searchReps, true, func() (time.Duration, int, error) {
		return jaegerSearch(queryURL, w.service, w.tagKey, w.tagValue, data)
	})
	r.searchRare = timed("search for a value no span has", searchReps, false, func() (time.Duration, int, error) {
		return jaegerSearch(queryURL, w.service, w.rareKey, w.rareValue, data)
	})
	if w.scanKey != "" {
		r.searchScan = timed("search for a request ID no span has", searchReps, false, func() (time.Duration, int, error) {
			return jaegerSearch(queryURL, w.service, w.scanKey, w.scanValue, data)
		})
	}
	r.traceql = make([]time.Duration, len(w.traceql))
	for i, q := range w.traceql {
		r.traceql[i] = timed("TraceQL "+q.q, searchReps, q.wantMatches, func() (time.Duration, int, error) {
			return tempoSearch(tempoURL, q.q, data)
		})
	}
	r.metrics = timed("TraceQL metrics "+w.metrics, metricsReps, true, func() (time.Duration, int, error) {
		return tempoMetrics(tempoURL, w.metrics, data)
	})
	return nil
}

// failed marks a latency that could not be measured; the table shows it
// as failed.
const failed time.Duration = -1

// startWaymark runs the binary with args, the Zipkin, Jaeger and Jaeger
// gRPC query ports turned off unless args set them, and waits until
// readyURL answers 200.
func startWaymark(bin, readyURL, role string, args ...string) (*exec.Cmd, error) {
	off := []string{"--receivers.zipkin_port=0", "--receivers.jaeger_thrift_http_port=0", "--receivers.jaeger_grpc_port=0",
		"--receivers.jaeger_compact_port=0", "--receivers.jaeger_binary_port=0", "--query.jaeger_grpc_port=0", "--log.level=warn"}
	cmd := exec.Command(bin, append(append([]string{role}, off...), args...)...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		if resp, err := http.Get(readyURL); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return cmd, nil
			}
		}
		if time.Now().After(deadline) {
			stopWaymark(cmd)
			return nil, fmt.Errorf("waymark %s not ready", role)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stopWaymark stops a process started by startWaymark and waits for it.
func stopWaymark(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
}

func fetchTrace(queryURL, id string) (int, error) {
	resp, err := http.Get(queryURL + "/api/traces/" + id)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var body struct {
		Data []struct {
			Spans []json.RawMessage `json:"spans"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || len(body.Data) != 1 {
		return 0, fmt.Errorf("status %d: %v", resp.StatusCode, err)
	}
	return len(body.Data[0].Spans), nil
}

// printRow prints one table row: the median of f over rs, and its range.
func printRow[R any](rs []R, name, unit string, f func(R) float64) {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	name = strings.ReplaceAll(name, "|", `\|`) // TraceQL pipes inside a Markdown table
	if slices.ContainsFunc(v, math.IsNaN) {
		fmt.Printf("| %s | failed (see the log) | |\n", name)
		return
	}
	fmt.Printf("| %s | %.2f %s | %.2f – %.2f |\n", name, v[len(v)/2], unit, v[0], v[len(v)-1])
}

// printTableHead prints the sentence above a results table.
func printTableHead(spans int, protocol, workload string, rate, runs int) {
	offered := "as fast as accepted"
	if rate > 0 {
		offered = fmt.Sprintf("%d spans/s offered", rate)
	}
	fmt.Printf("\n%d spans per run over %s, %s workload, %s, %d runs; median (min – max)\n", spans, protocol, workload, offered, runs)
}

// printColumns prints the header of a results table.
func printColumns() {
	fmt.Println()
	fmt.Println("| measure | median | min – max |")
	fmt.Println("|---|---|---|")
}

func printTable(rs []result, cfg runConfig, protocol string) {
	row := func(name, unit string, f func(result) float64) { printRow(rs, name, unit, f) }
	ms := func(f func(result) time.Duration) func(result) float64 {
		return func(r result) float64 {
			if f(r) == failed {
				return math.NaN()
			}
			return float64(f(r)) / 1e6
		}
	}
	w := cfg.workload
	printTableHead(cfg.spans, protocol, w.name, cfg.rate, len(rs))
	if cfg.backdate > 0 {
		fmt.Printf("Span start times spread over the %s before the run; queries cover that range.\n", cfg.backdate)
	}
	if cfg.compact {
		fmt.Printf("Server flags %s: compaction runs while the data is ingested.\n", strings.Join(compactFlags, " "))
	}
	if len(cfg.serverFlags) > 0 {
		fmt.Printf("Extra server flags: %s\n", strings.Join(cfg.serverFlags, " "))
	}
	printColumns()
	row("ingest throughput", "spans/s", func(r result) float64 { return r.spansPerSec })
	row("batches resent after an overloaded refusal", "", func(r result) float64 { return float64(r.retries) })
	row("server CPU per span, until acknowledged", "µs", func(r result) float64 { return r.cpuUsPerSpan })
	row("server CPU per span, including block flush", "µs", func(r result) float64 { return r.cpuUsWithFlush })
	row("peak server memory (VmHWM) until the head is flushed", "MiB", func(r result) float64 { return r.peakRSSMiB })
	row("bytes on disk per span, blocks", "B", func(r result) float64 { return r.blockBytesSpan })
	row("bytes on disk per span, everything in the data dir", "B", func(r result) float64 { return r.diskBytesSpan })
	if cfg.compact {
		row("blocks cut from the head", "", func(r result) float64 { return r.blocksBefore })
		row("blocks after compaction", "", func(r result) float64 { return r.blocksAfter })
		row("bytes on disk per span, blocks after compaction", "B", func(r result) float64 { return r.compactedBytesSpan })
		row("server CPU per span, including flush and compaction", "µs", func(r result) float64 { return r.cpuUsCompacted })
		row("peak server memory (VmHWM) including compaction", "MiB", func(r result) float64 { return r.peakRSSCompactedMiB })
	}
	row("trace by ID p50 (1,000 random IDs)", "ms", ms(func(r result) time.Duration { return r.idP50 }))
	row("trace by ID p99", "ms", ms(func(r result) time.Duration { return r.idP99 }))
	row(fmt.Sprintf("search service=%s %s=%s, limit 20", w.service, w.tagKey, w.tagValue), "ms", ms(func(r result) time.Duration { return r.search20 }))
	row(fmt.Sprintf("search for a value no span has (%s=%s; block summaries rule every block out)", w.rareKey, w.rareValue), "ms", ms(func(r result) time.Duration { return r.searchRare }))
	if w.scanKey != "" {
		row(fmt.Sprintf("search for a request ID no span has (%s; too many values for block summaries, ruled out by the blocks' value filters)", w.scanKey), "ms", ms(func(r result) time.Duration { return r.searchScan }))
	}
	for i, q := range w.traceql {
		row(fmt.Sprintf("TraceQL %s `%s`, limit 20", q.name, q.q), "ms", ms(func(r result) time.Duration { return r.traceql[i] }))
	}
	row(fmt.Sprintf("TraceQL metrics `%s`, query_range", w.metrics), "ms", ms(func(r result) time.Duration { return r.metrics }))
	row("freshness: acknowledged export → found by search", "ms", ms(func(r result) time.Duration { return r.freshness }))
	row("search for a value one trace has (the freshness probe)", "ms", ms(func(r result) time.Duration { return r.searchProbe }))
}
