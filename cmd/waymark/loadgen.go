package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"syscall"

	"waymark/internal/loadgen"
)

func loadgenCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("waymark loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg loadgen.Config
	fs.StringVar(&cfg.Protocol, "protocol", loadgen.ProtocolOTLPGRPC, "otlp-grpc or otlp-http")
	fs.StringVar(&cfg.Endpoint, "endpoint", "", "receiver host:port (default 127.0.0.1:4317 for gRPC, :4318 for HTTP)")
	fs.IntVar(&cfg.Spans, "spans", 1_000_000, "total spans to send")
	fs.IntVar(&cfg.BatchSpans, "batch", 1000, "spans per request")
	fs.IntVar(&cfg.Rate, "rate", 0, "spans per second offered; 0 = as fast as accepted")
	fs.IntVar(&cfg.Workers, "workers", 4, "concurrent senders")
	fs.StringVar(&cfg.Tenant, "tenant", "", "X-Scope-OrgID to send")
	fs.IntVar(&cfg.Shape.SpansPerTrace, "spans-per-trace", 5, "spans in each trace")
	fs.IntVar(&cfg.Shape.Depth, "depth", 1, "depth of the span tree below the root")
	fs.IntVar(&cfg.Shape.Services, "services", 1, "distinct services")
	fs.BoolVar(&cfg.Shape.Varied, "varied", false, "varied attribute values (routes, status codes, request IDs, datacenters)")
	fs.Float64Var(&cfg.Shape.ErrorRate, "error-rate", 0, "share of spans with status error")
	fs.IntVar(&cfg.Shape.PayloadBytes, "payload-bytes", 0, "size of an extra string attribute per span")
	platform := fs.Bool("platform", false, "the platform workload: 6-span traces edge → gateway → sidecar → checkout → payments → db, varied values, 1% errors (ignores the other shape flags)")
	fs.DurationVar(&cfg.Backdate, "backdate", 0, "spread span start times evenly over this long a window ending now (e.g. 1h)")
	fs.BoolVar(&cfg.Retry, "retry", false, "resend batches the receiver refuses as overloaded, after the delay it asks for")
	verify := fs.Int("verify", 0, "afterwards, look up this many acknowledged traces through the query API")
	queryURL := fs.String("query-url", "http://127.0.0.1:16686", "Jaeger query API base URL for --verify")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = "127.0.0.1:4317"
		if cfg.Protocol == loadgen.ProtocolOTLPHTTP {
			cfg.Endpoint = "127.0.0.1:4318"
		}
	}
	if *platform {
		cfg.Shape = loadgen.PlatformShape()
	}
	cfg.KeepIDs = *verify
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	rep, err := loadgen.Run(ctx, cfg)
	fmt.Fprintln(stdout, rep.String())
	if err != nil {
		fmt.Fprintf(stderr, "waymark loadgen: %v\n", err)
		return 1
	}
	if *verify > 0 {
		found, err := loadgen.Verify(ctx, *queryURL, cfg.Tenant, rep.TraceIDs, rep.SpansPerTrace)
		fmt.Fprintf(stdout, "verified=%d/%d\n", found, len(rep.TraceIDs))
		if err != nil || found != len(rep.TraceIDs) {
			fmt.Fprintf(stderr, "waymark loadgen: verification failed: %v\n", err)
			return 1
		}
	}
	if rep.Refused > 0 {
		return 1
	}
	return 0
}
