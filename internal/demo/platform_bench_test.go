package demo

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"testing"
	"time"

	"waymark/internal/receive/receivetest"
)

// BenchmarkPlatformRequest measures what one request through the platform
// costs, with its spans exported over OTLP/gRPC to an in-process collector.
// Requests run 64 at a time, so the simulated work times (a few milliseconds
// of sleep per service) overlap. cpu-ns/op is the process's CPU time per
// request (platform, client, exporter and collector together): on a shared
// machine it is steadier than ns/op, which also counts waiting for a CPU.
func BenchmarkPlatformRequest(b *testing.B) {
	for _, bc := range []struct {
		name, method, path string
	}{
		{"checkout", http.MethodPost, "/api/checkout?sku=sku-1&qty=1"},
		{"product", http.MethodGet, "/api/products/sku-1"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			col := startCollector(b)
			cfg := DefaultConfig()
			cfg.Datacenters = []string{"dc-1"}
			cfg.Faults = Faults{}
			cfg.Endpoint = col.addr
			cfg.Seed = 1
			p, err := Start(context.Background(), cfg, slog.New(slog.DiscardHandler))
			if err != nil {
				b.Fatal(err)
			}
			url := p.Edges()[0].URL + bc.path
			tr := &http.Transport{MaxIdleConnsPerHost: 64}
			client := &http.Client{Transport: tr}
			b.ReportAllocs()
			b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
			b.ResetTimer()
			start, cpuStart := time.Now(), receivetest.ProcessCPU()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest(bc.method, url, nil)
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
			elapsed, cpu := time.Since(start), receivetest.ProcessCPU()-cpuStart
			b.StopTimer()
			if cpu > 0 {
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
			}
			tr.CloseIdleConnections()
			if err := p.Close(context.Background()); err != nil {
				b.Fatal(err)
			}
			spans := col.spanCount()
			if spans > 0 {
				b.ReportMetric(float64(elapsed.Nanoseconds())/float64(spans), "ns/span")
				b.ReportMetric(float64(spans)/float64(b.N), "spans/op")
			}
		})
	}
}
