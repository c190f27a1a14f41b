// Command bench measures Waymark end to end on this machine: it builds and
// starts the waymark binary on a clean data directory, drives it with the
// load generator, and prints one table of ingest spans/s, server CPU-µs per
// span (utime+stime from /proc), peak memory (VmHWM), bytes on disk per span,
// and query latencies.
//
//	go run ./bench                       # reference workload, 1,000,000 spans, 3 runs
//	go run ./bench -spans 200000 -runs 1 # quicker
//	go run ./bench -agent -rate 50000 -workers 16   # the agent in front of a server (see agent.go)
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
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
	varied := flag.Bool("varied", false, "varied attribute values instead of the reference workload's constant ones")
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
	protocols := strings.Split(*protocol, ",")
	byProtocol := make([][]result, len(protocols))
	for p, proto := range protocols {
		for i := 0; i < *runs; i++ {
			r, err := runOnce(bin, *spans, proto, *varied, *rate, *workers, *keep)
			check(err)
			fmt.Fprintf(os.Stderr, "%s run %d: %s\n", proto, i+1, r.line())
			byProtocol[p] = append(byProtocol[p], r)
		}
	}
	printTable(byProtocol[0], *spans, protocols[0], *varied, *rate)
	for p := 1; p < len(protocols); p++ {
		rs := byProtocol[p]
		printRow(rs, "ingest throughput, "+protocols[p], "spans/s", func(r result) float64 { return r.spansPerSec })
		printRow(rs, "server CPU per span until acknowledged, "+protocols[p], "µs", func(r result) float64 { return r.cpuUsPerSpan })
		printRow(rs, "server CPU per span including block flush, "+protocols[p], "µs", func(r result) float64 { return r.cpuUsWithFlush })
	}
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
	idP50, idP99   time.Duration
	search20       time.Duration
	searchRare     time.Duration
	// traceqlFilter and traceqlStructural time TraceQL searches through the Tempo API.
	traceqlFilter, traceqlStructural time.Duration
	accepted                         int64
}

func (r result) line() string {
	return fmt.Sprintf("%.0f spans/s, %.2f CPU-µs/span (%.2f with block flush), peak %.0f MiB, %.1f B/span in blocks (%.1f counting WAL), trace by ID p50 %s p99 %s, search limit 20 %s, rare-value scan %s",
		r.spansPerSec, r.cpuUsPerSpan, r.cpuUsWithFlush, r.peakRSSMiB, r.blockBytesSpan, r.diskBytesSpan, r.idP50, r.idP99, r.search20, r.searchRare)
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

func metric(queryURL, name string) float64 {
	resp, err := http.Get(queryURL + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, name+" ") {
			v, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return v
		}
	}
	return -1
}

func runOnce(bin string, spans int, protocol string, varied bool, rate, workers int, keep bool) (result, error) {
	var r result
	dataDir, err := os.MkdirTemp("", "waymark-bench-data")
	if err != nil {
		return r, err
	}
	if !keep {
		defer os.RemoveAll(dataDir)
	}
	grpcPort, httpPort, queryPort, tempoPort := freePort(), freePort(), freePort(), freePort()
	queryURL := "http://127.0.0.1:" + strconv.Itoa(queryPort)
	tempoURL := "http://127.0.0.1:" + strconv.Itoa(tempoPort)
	cmd, err := startWaymark(bin, queryURL+"/ready", "all-in-one", "--data_dir="+dataDir,
		"--receivers.otlp_grpc_port="+strconv.Itoa(grpcPort), "--receivers.otlp_http_port="+strconv.Itoa(httpPort),
		"--query.tempo_port="+strconv.Itoa(tempoPort), "--query.jaeger_port="+strconv.Itoa(queryPort))
	if err != nil {
		return r, err
	}
	defer stopWaymark(cmd)
	pid := cmd.Process.Pid
	endpoint := "127.0.0.1:" + strconv.Itoa(grpcPort)
	if protocol == loadgen.ProtocolOTLPHTTP {
		endpoint = "127.0.0.1:" + strconv.Itoa(httpPort)
	}
	shape := loadgen.ReferenceShape()
	shape.Varied = varied
	cpu0, _ := cpuTicks(pid)
	rep, err := loadgen.Run(context.Background(), loadgen.Config{Protocol: protocol, Endpoint: endpoint, Spans: spans, BatchSpans: 1000,
		Rate: rate, Workers: workers, Shape: shape, KeepIDs: 1000})
	if err != nil {
		return r, err
	}
	if rep.Refused > 0 {
		return r, fmt.Errorf("loadgen: %s", rep)
	}
	cpu1, _ := cpuTicks(pid)
	r.accepted = rep.Accepted
	r.spansPerSec = rep.SpansPerSecond()
	r.cpuUsPerSpan = float64(cpu1-cpu0) * 1e6 / ticksPerSecond / float64(rep.Accepted)

	// Wait for the head to be cut into blocks (default max age), counting that CPU too.
	for deadline := time.Now().Add(3 * time.Minute); metric(queryURL, "waymark_store_head_spans") != 0; {
		if time.Now().After(deadline) {
			return r, fmt.Errorf("head not flushed within 3 minutes")
		}
		time.Sleep(200 * time.Millisecond)
	}
	cpu2, _ := cpuTicks(pid)
	r.cpuUsWithFlush = float64(cpu2-cpu0) * 1e6 / ticksPerSecond / float64(rep.Accepted)
	r.peakRSSMiB = peakRSS(pid)
	r.blockBytesSpan = float64(dirSize(filepath.Join(dataDir, "blocks"))) / float64(rep.Accepted)
	r.diskBytesSpan = float64(dirSize(dataDir)) / float64(rep.Accepted)

	// Trace by ID: 100 random acknowledged IDs.
	rng := rand.New(rand.NewPCG(1, 2))
	var lat []time.Duration
	for i := 0; i < 100 && len(rep.TraceIDs) > 0; i++ {
		id := rep.TraceIDs[rng.IntN(len(rep.TraceIDs))]
		t0 := time.Now()
		n, err := fetchTrace(queryURL, fmt.Sprintf("%x", id[:]))
		lat = append(lat, time.Since(t0))
		if err != nil || n != shape.SpansPerTrace {
			return r, fmt.Errorf("trace %x: %d spans, %v", id[:], n, err)
		}
	}
	slices.Sort(lat)
	r.idP50, r.idP99 = lat[len(lat)/2], lat[len(lat)*99/100]
	r.search20 = timeSearch(queryURL, url.Values{"service": {"bench-service"}, "limit": {"20"}})
	r.searchRare = timeSearch(queryURL, url.Values{"tags": {`{"user.tier":"platinum"}`}, "limit": {"20"}})
	r.traceqlFilter = timeTraceQL(tempoURL, `{ resource.service.name = "bench-service" && span.http.response.status_code = 200 }`)
	r.traceqlStructural = timeTraceQL(tempoURL, `{ kind = server } >> { span.db.system.name = "postgresql" }`)
	return r, nil
}

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

// timeTraceQL returns the median latency of 5 identical TraceQL searches
// (limit 20, last hour) through the Tempo API.
func timeTraceQL(tempoURL, traceql string) time.Duration {
	q := url.Values{"q": {traceql}, "limit": {"20"},
		"start": {strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)}, "end": {strconv.FormatInt(time.Now().Add(time.Minute).Unix(), 10)}}
	var lat []time.Duration
	for i := 0; i < 5; i++ {
		t0 := time.Now()
		resp, err := http.Get(tempoURL + "/api/search?" + q.Encode())
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	return lat[len(lat)/2]
}

// timeSearch returns the median latency of 5 identical searches.
func timeSearch(queryURL string, q url.Values) time.Duration {
	q.Set("start", strconv.FormatInt(time.Now().Add(-time.Hour).UnixMicro(), 10))
	q.Set("end", strconv.FormatInt(time.Now().Add(time.Minute).UnixMicro(), 10))
	var lat []time.Duration
	for i := 0; i < 5; i++ {
		t0 := time.Now()
		resp, err := http.Get(queryURL + "/api/traces?" + q.Encode())
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	return lat[len(lat)/2]
}

// printRow prints one table row: the median of f over rs, and its range.
func printRow[R any](rs []R, name, unit string, f func(R) float64) {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	fmt.Printf("| %s | %.2f %s | %.2f – %.2f |\n", name, v[len(v)/2], unit, v[0], v[len(v)-1])
}

// printTableHead prints the sentence and header above a results table.
func printTableHead(spans int, protocol string, varied bool, rate, runs int) {
	workload := "reference (constant attribute values)"
	if varied {
		workload = "varied attribute values"
	}
	offered := "as fast as accepted"
	if rate > 0 {
		offered = fmt.Sprintf("%d spans/s offered", rate)
	}
	fmt.Printf("\n%d spans per run over %s, %s workload, %s, %d runs; median (min – max)\n\n", spans, protocol, workload, offered, runs)
	fmt.Println("| measure | median | min – max |")
	fmt.Println("|---|---|---|")
}

func printTable(rs []result, spans int, protocol string, varied bool, rate int) {
	row := func(name, unit string, f func(result) float64) { printRow(rs, name, unit, f) }
	printTableHead(spans, protocol, varied, rate, len(rs))
	row("ingest throughput", "spans/s", func(r result) float64 { return r.spansPerSec })
	row("server CPU per span, until acknowledged", "µs", func(r result) float64 { return r.cpuUsPerSpan })
	row("server CPU per span, including block flush", "µs", func(r result) float64 { return r.cpuUsWithFlush })
	row("peak server memory (VmHWM)", "MiB", func(r result) float64 { return r.peakRSSMiB })
	row("bytes on disk per span, blocks", "B", func(r result) float64 { return r.blockBytesSpan })
	row("bytes on disk per span, everything in the data dir", "B", func(r result) float64 { return r.diskBytesSpan })
	row("trace by ID p50", "ms", func(r result) float64 { return float64(r.idP50) / 1e6 })
	row("trace by ID p99", "ms", func(r result) float64 { return float64(r.idP99) / 1e6 })
	row("search by service, limit 20", "ms", func(r result) float64 { return float64(r.search20) / 1e6 })
	row("search for a value no span has (full scan)", "ms", func(r result) float64 { return float64(r.searchRare) / 1e6 })
	row("TraceQL spanset filter, limit 20 (Tempo API)", "ms", func(r result) float64 { return float64(r.traceqlFilter) / 1e6 })
	row("TraceQL structural query, limit 20 (Tempo API)", "ms", func(r result) float64 { return float64(r.traceqlStructural) / 1e6 })
}
