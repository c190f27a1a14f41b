package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"waymark/internal/loadgen"
)

// agentBenchConfig is what -agent mode runs.
type agentBenchConfig struct {
	spans, runs, rate, workers int
	samplePct                  float64
	varied                     bool
}

// agentResult is one -agent run, measured on the agent process alone.
type agentResult struct {
	spansPerSec     float64
	cpuUsAcked      float64 // agent CPU until the last request was acknowledged
	cpuUsExported   float64 // agent CPU until its queue was drained into the server
	peakRSSMiB      float64
	ackP50, ackP99  time.Duration
	exportedPerSpan float64 // spans exported per span received (the sampling rate)
}

func (r agentResult) line() string {
	return fmt.Sprintf("%.0f spans/s, agent %.2f CPU-µs/span acknowledged, %.2f exported, peak %.0f MiB, ack p50 %s p99 %s, exported %.2f%%",
		r.spansPerSec, r.cpuUsAcked, r.cpuUsExported, r.peakRSSMiB, r.ackP50, r.ackP99, 100*r.exportedPerSpan)
}

// runAgentBench starts a server and an agent exporting to it for each run,
// offers the load to the agent and measures the agent process: CPU per
// span from receipt to export (receive, enrich, sample, batch, queue with
// fsync, export) and its peak memory.
func runAgentBench(bin string, cfg agentBenchConfig) {
	var rs []agentResult
	for i := 0; i < cfg.runs; i++ {
		r, err := runAgentOnce(bin, cfg)
		check(err)
		fmt.Fprintf(os.Stderr, "run %d: %s\n", i+1, r.line())
		rs = append(rs, r)
	}
	workload := "reference (constant attribute values)"
	if cfg.varied {
		workload = "varied attribute values"
	}
	printTableHead(cfg.spans, loadgen.ProtocolOTLPGRPC+fmt.Sprintf(" to an agent (hash_seed %v%%, enrichment, one exporter to a server)", cfg.samplePct), workload, cfg.rate, len(rs))
	printColumns()
	printRow(rs, "agent throughput", "spans/s", func(r agentResult) float64 { return r.spansPerSec })
	printRow(rs, "agent CPU per span, until acknowledged (durable in the queue)", "µs", func(r agentResult) float64 { return r.cpuUsAcked })
	printRow(rs, "agent CPU per span, receive → sample → batch → queue → export", "µs", func(r agentResult) float64 { return r.cpuUsExported })
	printRow(rs, "peak agent memory (VmHWM)", "MiB", func(r agentResult) float64 { return r.peakRSSMiB })
	printRow(rs, "acknowledgement latency p50", "ms", func(r agentResult) float64 { return float64(r.ackP50) / 1e6 })
	printRow(rs, "acknowledgement latency p99", "ms", func(r agentResult) float64 { return float64(r.ackP99) / 1e6 })
	printRow(rs, "spans exported per span received", "%", func(r agentResult) float64 { return 100 * r.exportedPerSpan })
}

func runAgentOnce(bin string, cfg agentBenchConfig) (agentResult, error) {
	var r agentResult
	dir, err := os.MkdirTemp("", "waymark-bench-agent")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	serverGRPC, queryPort := freePort(), freePort()
	server, err := startWaymark(bin, "http://127.0.0.1:"+strconv.Itoa(queryPort)+"/ready", "all-in-one",
		"--data_dir="+filepath.Join(dir, "server"), "--receivers.otlp_grpc_port="+strconv.Itoa(serverGRPC),
		"--receivers.otlp_http_port=0", "--query.tempo_port=0", "--query.jaeger_port="+strconv.Itoa(queryPort))
	if err != nil {
		return r, err
	}
	defer stopWaymark(server)

	agentGRPC, adminPort := freePort(), freePort()
	cfgFile := filepath.Join(dir, "agent.yaml")
	yaml := fmt.Sprintf(`agent:
  enrich:
    datacenter: dc-bench-1
    node: bench-node
  sampling:
    mode: hash_seed
    hash_seed: 22
    sampling_percentage: %v
  exporters:
    - name: server
      endpoint: 127.0.0.1:%d
      tls: {insecure: true}
`, cfg.samplePct, serverGRPC)
	if err := os.WriteFile(cfgFile, []byte(yaml), 0o600); err != nil {
		return r, err
	}
	adminURL := "http://127.0.0.1:" + strconv.Itoa(adminPort)
	agent, err := startWaymark(bin, adminURL+"/ready", "agent", "--config", cfgFile,
		"--data_dir="+filepath.Join(dir, "agent"), "--receivers.otlp_grpc_port="+strconv.Itoa(agentGRPC),
		"--receivers.otlp_http_port=0", "--listen.admin_port="+strconv.Itoa(adminPort))
	if err != nil {
		return r, err
	}
	defer stopWaymark(agent)
	pid := agent.Process.Pid

	shape := loadgen.ReferenceShape()
	shape.Varied = cfg.varied
	cpu0, err := cpuTicks(pid)
	if err != nil {
		return r, err
	}
	rep, err := loadgen.Run(context.Background(), loadgen.Config{Protocol: loadgen.ProtocolOTLPGRPC,
		Endpoint: "127.0.0.1:" + strconv.Itoa(agentGRPC), Spans: cfg.spans, BatchSpans: 1000,
		Rate: cfg.rate, Workers: cfg.workers, Shape: shape})
	if err != nil {
		return r, err
	}
	if rep.Refused > 0 {
		return r, fmt.Errorf("loadgen: %s", rep)
	}
	cpu1, _ := cpuTicks(pid)
	// The server may take a while to absorb the backlog on a busy machine;
	// the agent spends next to no CPU waiting.
	for deadline := time.Now().Add(10 * time.Minute); ; {
		pending, ok := agentMetric(adminURL, "waymark_queue_pending_items")
		if ok && pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			return r, fmt.Errorf("agent queue not drained within 10 minutes")
		}
		time.Sleep(250 * time.Millisecond)
	}
	cpu2, _ := cpuTicks(pid)
	exported, _ := agentMetric(adminURL, "waymark_exporter_sent_spans_total")
	perSpan := func(ticks int64) float64 { return float64(ticks) * 1e6 / ticksPerSecond / float64(rep.Accepted) }
	r.spansPerSec = rep.SpansPerSecond()
	r.cpuUsAcked = perSpan(cpu1 - cpu0)
	r.cpuUsExported = perSpan(cpu2 - cpu0)
	r.peakRSSMiB = peakRSS(pid)
	r.ackP50, r.ackP99 = rep.LatencyP50, rep.LatencyP99
	r.exportedPerSpan = exported / float64(rep.Accepted)
	return r, nil
}

// agentMetric sums every sample of the metric name the agent exports.
func agentMetric(adminURL, name string) (float64, bool) {
	m, err := scrape(adminURL + "/metrics")
	if err != nil {
		return 0, false
	}
	return sumSeries(m, name)
}
