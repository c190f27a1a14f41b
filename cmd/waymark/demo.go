package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"waymark/internal/app"
	"waymark/internal/demo"
	"waymark/internal/telemetry"
)

const demoUsage = `usage: waymark demo [flags] [-- waymark configuration flags]

Starts Waymark (all-in-one, data in ./waymark-data) and a simulated shop
platform that sends it traces: per datacenter an edge, an ingress gateway, a
sidecar in front of each app (checkout, inventory, payments) and orders-db.
With --endpoint, only the platform runs, against a Waymark already running.
Flags after "--" configure the in-process Waymark (see "waymark config").

flags:
`

// demoOptions are the command-line settings of waymark demo.
type demoOptions struct {
	endpoint    string
	uiURL       string
	duration    time.Duration
	rate        float64
	datacenters int
	tenant      string
	seed        uint64
	faults      demo.Faults
}

func demoCmd(args, env []string, stdout, stderr io.Writer) int {
	def := demo.DefaultConfig()
	var o demoOptions
	fs := flag.NewFlagSet("waymark demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, demoUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.endpoint, "endpoint", "", "OTLP/gRPC host:port of a running Waymark (or agent); empty starts Waymark in this process")
	fs.StringVar(&o.uiURL, "ui-url", "http://127.0.0.1:16686/", "with --endpoint: the Waymark UI and query API base URL to print")
	fs.DurationVar(&o.duration, "duration", 0, "how long to run; 0 runs until Ctrl-C")
	fs.Float64Var(&o.rate, "rate", 10, "requests per second sent to the edges")
	fs.IntVar(&o.datacenters, "datacenters", len(def.Datacenters), "number of datacenters (dc-1 … dc-N), 1 to 9")
	fs.StringVar(&o.tenant, "tenant", "", "X-Scope-OrgID sent with the spans")
	fs.Uint64Var(&o.seed, "seed", 0, "seed of the fault and request draws; 0 picks one")
	fs.StringVar(&o.faults.ErrorDatacenter, "fault-dc", def.Faults.ErrorDatacenter, `datacenter with failing requests; "" for none`)
	fs.StringVar(&o.faults.ErrorService, "fault-service", def.Faults.ErrorService, "app whose sidecar fails: checkout, inventory or payments")
	fs.Float64Var(&o.faults.ErrorRate, "fault-rate", def.Faults.ErrorRate, "share of requests that fail, 0 to 1")
	fs.StringVar(&o.faults.SlowService, "slow-service", def.Faults.SlowService, `service with added latency (an app or orders-db); "" for none`)
	fs.StringVar(&o.faults.SlowDatacenter, "slow-dc", def.Faults.SlowDatacenter, "limit the added latency to one datacenter")
	fs.DurationVar(&o.faults.SlowLatency, "slow-latency", def.Faults.SlowLatency, "added latency")
	fs.Float64Var(&o.faults.SlowRate, "slow-rate", def.Faults.SlowRate, "share of requests slowed, 0 to 1")
	fs.IntVar(&o.faults.Retries, "retries", def.Faults.Retries, "times every client retries a failed call (a retry storm), 0 to 10")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if o.datacenters < 1 || o.datacenters > 9 {
		fmt.Fprintf(stderr, "waymark demo: --datacenters %d is not between 1 and 9\n", o.datacenters)
		return 2
	}
	if o.endpoint != "" && fs.NArg() > 0 {
		fmt.Fprintf(stderr, "waymark demo: with --endpoint no Waymark runs here, so %q configures nothing\n", fs.Args())
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	if o.endpoint != "" {
		log, err := telemetry.NewLogger(stderr, "info", "text")
		if err != nil {
			fmt.Fprintf(stderr, "waymark demo: %v\n", err)
			return 2
		}
		return runDemo(ctx, o, log, stdout, nil)
	}
	cfg, log, code, ok := loadRoleConfig(fs.Args(), env, stderr)
	if !ok {
		return code
	}
	a, err := app.Start(ctx, app.RoleAllInOne, cfg, log)
	if err != nil {
		log.Error("start", "err", err)
		return 1
	}
	appCtx, stopApp := context.WithCancel(context.Background())
	appDone := make(chan error, 1)
	go func() { appDone <- a.Wait(appCtx) }()
	o.endpoint = dialAddr(a.Addrs["otlp_grpc"])
	o.uiURL = "http://" + dialAddr(a.Addrs["jaeger_query"]) + "/"
	code = runDemo(ctx, o, log.With("component", "demo"), stdout, appDone)
	stopApp()
	if err := <-appDone; err != nil {
		log.Error("shutdown", "err", err)
		return 1
	}
	return code
}

// dialAddr turns a listener address into one a client can dial: a wildcard
// bind address becomes loopback.
func dialAddr(a net.Addr) string {
	if a == nil {
		return ""
	}
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// runDemo runs the platform and the driver until ctx is done (or appDone
// reports that the in-process Waymark stopped), printing where to look.
func runDemo(ctx context.Context, o demoOptions, log *slog.Logger, stdout io.Writer, appDone <-chan error) int {
	cfg := demo.DefaultConfig()
	cfg.Endpoint = o.endpoint
	cfg.Tenant = o.tenant
	cfg.Datacenters = demo.DatacenterNames(o.datacenters)
	cfg.Seed = o.seed
	cfg.Faults = o.faults
	if cfg.Faults.ErrorDatacenter == "none" {
		cfg.Faults.ErrorDatacenter = ""
	}
	if cfg.Faults.SlowService == "none" {
		cfg.Faults.SlowService = ""
	}
	p, err := demo.Start(ctx, cfg, log)
	if err != nil {
		log.Error("start demo platform", "err", err)
		return 1
	}
	closePlatform := func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := p.Close(closeCtx); err != nil {
			log.Warn("stop demo platform", "err", err)
		}
	}
	d, err := demo.NewDriver(demo.DriverConfig{Edges: p.Edges(), Rate: o.rate, CheckoutShare: demo.DefaultCheckoutShare, Seed: o.seed})
	if err != nil {
		closePlatform()
		log.Error("start traffic", "err", err)
		return 1
	}
	ui := strings.TrimSuffix(o.uiURL, "/")
	fmt.Fprintf(stdout, "Waymark demo: %d datacenters (%s), %.4g requests/s to the edges, spans to %s over OTLP/gRPC.\n",
		len(cfg.Datacenters), strings.Join(cfg.Datacenters, ", "), o.rate, cfg.Endpoint)
	fmt.Fprintf(stdout, "Faults: %s.\n", cfg.Faults)
	fmt.Fprintf(stdout, "Open the UI: %s/\n", ui)
	fmt.Fprintf(stdout, "First steps: search service %q with tag error=true, open a failing trace, then break errors down by %q.\n\n", demo.ServiceEdge, demo.AttrDatacenter)

	driveCtx, stopDriving := context.WithCancel(ctx)
	driven := make(chan struct{})
	go func() {
		defer close(driven)
		d.Run(driveCtx)
	}()
	r := reporter{stdout: stdout, ui: ui, faultDC: cfg.Faults.ErrorDatacenter, start: time.Now()}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err := <-appDone:
			log.Error("waymark stopped", "err", err)
			appDone = nil
			break loop
		case now := <-tick.C:
			r.tick(now, d.Stats(), p.ExportStats())
		}
	}
	stopDriving()
	<-driven
	closePlatform()
	st, es := d.Stats(), p.ExportStats()
	fmt.Fprintf(stdout, "\nDone: %s\n", statsLine(st, es))
	if es.Spans == 0 && es.FailedSpans > 0 {
		fmt.Fprintf(stdout, "No span reached %s: %s\n", cfg.Endpoint, es.LastError)
		return 1
	}
	return 0
}

// exampleDelay is how long after a request the printed trace is expected to
// be searchable: the SDK batches for a second, and the receiver acknowledges
// only durable spans.
const exampleDelay = 3 * time.Second

// statsInterval is how often the progress line is printed.
const statsInterval = 10 * time.Second

// reporter prints example traces once they are searchable, and a progress line.
type reporter struct {
	stdout    io.Writer
	ui        string
	faultDC   string
	start     time.Time
	lastStats time.Time
	fail      example
	slow      example
}

// example is a request to print once exampleDelay has passed since it was
// picked.
type example struct {
	req     demo.Request
	picked  time.Time
	printed bool
}

func (r *reporter) tick(now time.Time, st demo.Stats, es demo.ExportStats) {
	// A failure in the faulty datacenter is the one worth opening; another
	// datacenter's failure stands in until there is one.
	if f, ok := pickFailure(st.FirstFailure, r.faultDC); ok && !r.fail.printed &&
		(r.fail.req.TraceID == "" || r.fail.req.Datacenter != r.faultDC && f.Datacenter == r.faultDC) {
		r.fail = example{req: f, picked: now}
	}
	// The slowest request of the first seconds: long enough for the
	// injected slowness to have hit some request.
	if r.slow.req.TraceID == "" && st.Slowest.TraceID != "" && now.Sub(r.start) >= exampleDelay {
		r.slow = example{req: st.Slowest, picked: now}
	}
	r.print(&r.fail, now, "A failing request")
	r.print(&r.slow, now, "A slow request")
	if now.Sub(r.start) >= statsInterval && now.Sub(r.lastStats) >= statsInterval {
		r.lastStats = now
		fmt.Fprintln(r.stdout, statsLine(st, es))
	}
}

// pickFailure returns the first failure of faultDC, else of the first
// datacenter by name that had one.
func pickFailure(failures map[string]demo.Request, faultDC string) (demo.Request, bool) {
	if f, ok := failures[faultDC]; ok {
		return f, true
	}
	if dcs := slices.Sorted(maps.Keys(failures)); len(dcs) > 0 {
		return failures[dcs[0]], true
	}
	return demo.Request{}, false
}

func (r *reporter) print(ex *example, now time.Time, what string) {
	if ex.printed || ex.req.TraceID == "" || now.Sub(ex.picked) < exampleDelay {
		return
	}
	ex.printed = true
	r.example(what, ex.req)
}

func (r *reporter) example(what string, req demo.Request) {
	status := fmt.Sprint(req.Status)
	if req.Status == 0 {
		status = req.Err
	}
	fmt.Fprintf(r.stdout, "%s (%s, %s %s, %s, %s):\n  trace: %s/trace/%s\n  Jaeger API: %s/api/traces/%s\n",
		what, req.Datacenter, req.Method, req.Path, status, req.Duration.Round(time.Millisecond), r.ui, req.TraceID, r.ui, req.TraceID)
}

// statsLine summarises traffic and export on one line.
func statsLine(st demo.Stats, es demo.ExportStats) string {
	var b strings.Builder
	fmt.Fprintf(&b, "requests=%d failed=%d dropped=%d", st.Sent, st.Failed, st.Dropped)
	for _, dc := range slices.Sorted(maps.Keys(st.Datacenters)) {
		s := st.Datacenters[dc]
		fmt.Fprintf(&b, " %s=%d/%d", dc, s.Failed, s.Sent)
	}
	fmt.Fprintf(&b, " spans_exported=%d spans_lost=%d", es.Spans, es.FailedSpans)
	return b.String()
}
