// Command waymark runs Waymark, a distributed tracing system: with no
// arguments (or "all-in-one") it starts receivers, storage, query APIs and
// the UI in one process; "agent" runs the per-node agent that enriches,
// samples, batches and queues spans on disk before exporting them.
//
// Usage:
//
//	waymark [all-in-one|server|agent] [--config FILE] [--key=value ...]
//	waymark config [--config FILE] [--key=value ...]   print the effective configuration
//	waymark config check FILE                          validate a configuration file
//	waymark loadgen [--protocol otlp-grpc] [--spans N] [--rate N] ...   generate load
//	waymark demo [--endpoint HOST:PORT] [--duration D] [--rate N] ...   run the demo platform
//	waymark version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"waymark/internal/app"
	"waymark/internal/config"
	"waymark/internal/grpcgzip"
	"waymark/internal/telemetry"
)

func main() {
	// Process-wide gRPC setup, before any client or server exists.
	grpcgzip.Register()
	os.Exit(run(os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}

const usage = `usage: waymark [command] [--config FILE] [--key=value ...]

commands:
  all-in-one   receivers + storage + query APIs + UI in one process (default)
  server       the same roles, for a dedicated tracing backend
  agent        per-node agent: receivers, enrich, sample, batch, disk queue, export
               (configured under agent: in the file; /metrics and /ready on
               listen.admin_port, 13133 when unset)
  config       print the effective configuration; "config check FILE" validates a file
  loadgen      send generated traces to a receiver and report throughput (see --help)
  demo         start Waymark and a simulated platform that sends it traces (see --help)
  version      print the version

Every configuration key is also a flag (--storage.retention=72h) and an
environment variable (WAYMARK_STORAGE_RETENTION=72h). Run "waymark config" to
see every key and its value.
`

func run(args, env []string, stdout, stderr io.Writer) int {
	cmd := "all-in-one"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "all-in-one", "server", "agent":
		return serve(app.Role(cmd), args, env, stderr)
	case "config":
		return configCmd(args, env, stdout, stderr)
	case "loadgen":
		return loadgenCmd(args, stdout, stderr)
	case "demo":
		return demoCmd(args, env, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "waymark", version())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "waymark: unknown command %q\n\n%s", cmd, usage)
	return 2
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return "dev"
}

// loadRoleConfig loads the configuration of a process that runs a role and
// builds its logger. When ok is false the caller exits with code.
func loadRoleConfig(args, env []string, stderr io.Writer) (cfg config.Config, log *slog.Logger, code int, ok bool) {
	cfg, rest, err := config.Load(args, env, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, nil, 0, false
		}
		fmt.Fprintf(stderr, "waymark: configuration: %v\n", err)
		return cfg, nil, 2, false
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "waymark: unexpected arguments %q\n", rest)
		return cfg, nil, 2, false
	}
	log, err = telemetry.NewLogger(stderr, cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		fmt.Fprintf(stderr, "waymark: %v\n", err)
		return cfg, nil, 2, false
	}
	applyMemoryLimit(cfg, env, log)
	return cfg, log, 0, true
}

// applyMemoryLimit sets the runtime's soft memory limit from memory_limit,
// unless the environment sets GOMEMLIMIT (which the runtime has applied).
func applyMemoryLimit(cfg config.Config, env []string, log *slog.Logger) {
	for _, kv := range env {
		if strings.HasPrefix(kv, "GOMEMLIMIT=") {
			log.Info("memory limit from GOMEMLIMIT", "value", strings.TrimPrefix(kv, "GOMEMLIMIT="))
			return
		}
	}
	if cfg.MemoryLimit > 0 {
		debug.SetMemoryLimit(int64(cfg.MemoryLimit))
	}
}

func serve(role app.Role, args, env []string, stderr io.Writer) int {
	cfg, log, code, ok := loadRoleConfig(args, env, stderr)
	if !ok {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	a, err := app.Start(ctx, role, cfg, log)
	if err != nil {
		log.Error("start", "err", err)
		return 1
	}
	if err := a.Wait(ctx); err != nil {
		log.Error("shutdown", "err", err)
		return 1
	}
	return 0
}

func configCmd(args, env []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "check" {
		if len(args) != 2 {
			fmt.Fprintln(stderr, "usage: waymark config check FILE")
			return 2
		}
		if _, err := config.CheckFile(args[1]); err != nil {
			fmt.Fprintf(stderr, "waymark: %s is invalid:\n%v\n", args[1], err)
			return 1
		}
		fmt.Fprintf(stdout, "%s is valid\n", args[1])
		return 0
	}
	cfg, _, err := config.Load(args, env, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "waymark: configuration: %v\n", err)
		return 2
	}
	out, err := config.Marshal(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "waymark: %v\n", err)
		return 1
	}
	_, _ = stdout.Write(out)
	return 0
}
