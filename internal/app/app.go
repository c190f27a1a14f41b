package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	_ "google.golang.org/grpc/encoding/gzip" // OTLP and Jaeger gRPC senders may gzip

	"waymark/internal/api/apihttp"
	"waymark/internal/api/jaegerapi"
	"waymark/internal/api/jaegergrpc"
	"waymark/internal/api/tempoapi"
	"waymark/internal/api/uiapi"
	"waymark/internal/api/zipkinapi"
	"waymark/internal/config"
	"waymark/internal/model"
	"waymark/internal/query"
	"waymark/internal/receive"
	"waymark/internal/receive/jaeger"
	"waymark/internal/receive/otlp"
	"waymark/internal/receive/zipkin"
	"waymark/internal/store"
	"waymark/internal/store/block"
	"waymark/internal/store/bucket"
	"waymark/internal/store/compact"
	"waymark/internal/telemetry"
	"waymark/internal/ui"
)

// Role selects what a process runs.
type Role string

// Roles.
const (
	RoleAllInOne Role = "all-in-one"
	RoleServer   Role = "server"
	// RoleAgent runs the receivers and the agent pipeline and exports to
	// backends; it has no store and no query APIs.
	RoleAgent Role = "agent"
)

// App is a running Waymark process.
type App struct {
	cfg   config.Config
	log   *slog.Logger
	reg   *prometheus.Registry
	ready *telemetry.Readiness
	store *store.Store
	// exporters are the agent's queues and exporters, stopped after the
	// receivers.
	exporters []*exporterRun

	httpServers []*http.Server
	grpcServers []*grpc.Server
	udpStops    []func()
	serveErrs   chan error
	wg          sync.WaitGroup
	// Addrs maps a listener name ("otlp_grpc", "jaeger_query", ...) to its bound address.
	Addrs map[string]net.Addr
}

// Start starts role: for the server roles it opens the store and every
// listener; for the agent, the exporters' queues, the pipeline and the
// receivers. It serves until Wait returns.
func Start(ctx context.Context, role Role, cfg config.Config, log *slog.Logger) (*App, error) {
	a := &App{
		cfg:       cfg,
		log:       log,
		reg:       telemetry.NewRegistry(),
		ready:     telemetry.NewReadiness("starting"),
		serveErrs: make(chan error, 16),
		Addrs:     make(map[string]net.Addr),
	}
	if role == RoleAgent {
		if err := a.startAgent(); err != nil {
			a.shutdown(context.Background())
			return nil, err
		}
		a.ready.SetReady()
		log.Info("waymark started", "role", role, "data_dir", cfg.DataDir, "listen_address", cfg.Listen.Address,
			"exporters", len(a.exporters))
		return a, nil
	}
	bkt, err := bucket.Open(cfg.Storage.Backend, cfg.DataDir, log.With("component", "objstore"))
	if err != nil {
		return nil, fmt.Errorf("open block store: %w", err)
	}
	st, err := store.Open(ctx, store.Options{
		Dir:             cfg.DataDir,
		Bucket:          bkt,
		WALSegmentSize:  int64(cfg.Storage.WAL.SegmentSize),
		HeadMaxBytes:    int64(cfg.Storage.Head.MaxBytes),
		HeadMaxAge:      cfg.Storage.Head.MaxAge.D(),
		MaxPendingBytes: int64(cfg.Receivers.MaxPendingBytes),
		Retention:       cfg.Storage.Retention.D(),
		TenantRetention: tenantRetention(cfg.Storage.TenantRetention),
		MaxDiskBytes:    int64(cfg.Storage.MaxDiskBytes),
		Compaction: compact.Options{Window: cfg.Storage.Compaction.Window.D(), MaxBlockSpans: int64(cfg.Storage.Compaction.MaxBlockSpans),
			Grace: max(time.Minute, 2*cfg.Storage.Head.MaxAge.D())},
		CompactionInterval: compactionInterval(cfg.Storage.Compaction.Interval),
		ReplacedBlockDelay: 2 * cfg.Query.Timeout.D(),
		Block:              block.WriteOptions{RowGroupSpans: cfg.Storage.Block.RowGroupSpans, DedicatedAttributes: cfg.Storage.Block.DedicatedAttributes},
		Registerer:         a.reg,
		Logger:             log.With("component", "store"),
	})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	a.store = st
	if err := a.startListeners(); err != nil {
		a.shutdown(context.Background())
		return nil, err
	}
	a.ready.SetReady()
	log.Info("waymark started", "role", role, "data_dir", cfg.DataDir, "listen_address", cfg.Listen.Address)
	return a, nil
}

func (a *App) listen(name, key string, port int) (net.Listener, error) {
	addr := net.JoinHostPort(a.cfg.Listen.Address, strconv.Itoa(port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: listen on %s (set %s): %w", name, addr, key, err)
	}
	a.Addrs[name] = l.Addr()
	a.log.Info("listening", "listener", name, "address", l.Addr().String())
	return l, nil
}

func (a *App) serveHTTP(name, key string, port int, h http.Handler) error {
	if port == 0 {
		return nil
	}
	l, err := a.listen(name, key, port)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelWarn)}
	a.httpServers = append(a.httpServers, srv)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.serveErrs <- fmt.Errorf("%s: %w", name, err)
		}
	}()
	return nil
}

func (a *App) serveGRPC(name, key string, port int, register func(*grpc.Server)) error {
	if port == 0 {
		return nil
	}
	l, err := a.listen(name, key, port)
	if err != nil {
		return err
	}
	max := int(a.cfg.Receivers.MaxRequestBytes)
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(max))
	register(srv)
	a.grpcServers = append(a.grpcServers, srv)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := srv.Serve(l); err != nil {
			a.serveErrs <- fmt.Errorf("%s: %w", name, err)
		}
	}()
	return nil
}

// serveUDP starts a Jaeger agent UDP listener (compact or binary Thrift).
func (a *App) serveUDP(name, key string, port int, compact bool, next model.Consumer, ropts receive.Options) error {
	if port == 0 {
		return nil
	}
	addr := net.JoinHostPort(a.cfg.Listen.Address, strconv.Itoa(port))
	conn, err := net.ListenPacket("udp", addr)
	if err != nil {
		return fmt.Errorf("%s: listen on udp %s (set %s): %w", name, addr, key, err)
	}
	a.Addrs[name] = conn.LocalAddr()
	a.log.Info("listening", "listener", name, "address", "udp "+conn.LocalAddr().String())
	srv := jaeger.NewUDPServer(conn, compact, next, ropts)
	ctx, cancel := context.WithCancel(context.Background())
	a.udpStops = append(a.udpStops, func() { cancel(); _ = conn.Close() })
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := srv.Serve(ctx); err != nil && ctx.Err() == nil {
			a.serveErrs <- fmt.Errorf("%s: %w", name, err)
		}
	}()
	return nil
}

// startReceivers serves every ingest protocol on its configured port,
// feeding next. zipkinMux is the Zipkin port's mux, to which the caller may
// have added other routes.
func (a *App) startReceivers(next model.Consumer, zipkinMux *http.ServeMux) error {
	cfg := a.cfg
	ropts := receive.Options{
		MaxRequestBytes: int64(cfg.Receivers.MaxRequestBytes),
		DefaultTenant:   cfg.Tenancy.DefaultTenant,
		Registerer:      a.reg,
		Logger:          a.log.With("component", "receiver"),
	}
	if err := a.serveGRPC("otlp_grpc", "receivers.otlp_grpc_port", cfg.Receivers.OTLPGRPCPort, func(s *grpc.Server) {
		otlp.RegisterGRPC(s, next, ropts)
	}); err != nil {
		return err
	}
	if err := a.serveHTTP("otlp_http", "receivers.otlp_http_port", cfg.Receivers.OTLPHTTPPort, otlp.NewHTTPHandler(next, ropts)); err != nil {
		return err
	}
	zipkinMux.Handle("/api/", zipkin.NewHTTPHandler(next, ropts))
	if err := a.serveHTTP("zipkin", "receivers.zipkin_port", cfg.Receivers.ZipkinPort, zipkinMux); err != nil {
		return err
	}
	if err := a.serveHTTP("jaeger_thrift_http", "receivers.jaeger_thrift_http_port", cfg.Receivers.JaegerThriftHTTPPort, jaeger.NewThriftHTTPHandler(next, ropts)); err != nil {
		return err
	}
	if err := a.serveGRPC("jaeger_grpc", "receivers.jaeger_grpc_port", cfg.Receivers.JaegerGRPCPort, func(s *grpc.Server) {
		jaeger.RegisterGRPC(s, next, ropts)
	}); err != nil {
		return err
	}
	if err := a.serveUDP("jaeger_compact", "receivers.jaeger_compact_port", cfg.Receivers.JaegerCompactPort, true, next, ropts); err != nil {
		return err
	}
	return a.serveUDP("jaeger_binary", "receivers.jaeger_binary_port", cfg.Receivers.JaegerBinaryPort, false, next, ropts)
}

// serveAdmin serves /metrics and /ready on port (0: not at all).
func (a *App) serveAdmin(port int) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", telemetry.MetricsHandler(a.reg))
	mux.Handle("/ready", a.ready)
	return a.serveHTTP("admin", "listen.admin_port", port, mux)
}

func (a *App) startListeners() error {
	cfg := a.cfg
	q := query.New(a.store, query.Options{
		DefaultLookback: cfg.Query.DefaultLookback.D(),
		MaxTraceSpans:   cfg.Query.MaxTraceSpans, MaxSpansPerQuery: cfg.Query.MaxSpansPerQuery,
		Logger: a.log.With("component", "query"), Registerer: a.reg,
	})

	// The Zipkin port serves the receiver (POST /api/v1/spans, /api/v2/spans)
	// and the query API's GET routes under /api/v2/.
	zipkinMux := http.NewServeMux()
	zipkinMux.Handle("GET /api/v2/", zipkinapi.NewHandler(q, zipkinapi.Options{DefaultTenant: cfg.Tenancy.DefaultTenant, Timeout: cfg.Query.Timeout.D(), Registerer: a.reg, Logger: a.log.With("component", "zipkin_api")}))
	if err := a.startReceivers(a.store, zipkinMux); err != nil {
		return err
	}
	if err := a.serveAdmin(cfg.Listen.AdminPort); err != nil {
		return err
	}

	mux := http.NewServeMux()
	// The query APIs answer gzip-compressed to clients that accept it: a
	// large trace's JSON is megabytes.
	mux.Handle("/api/", apihttp.Gzip(jaegerapi.NewHandler(q, jaegerapi.Options{DefaultTenant: cfg.Tenancy.DefaultTenant, Registerer: a.reg, Logger: a.log.With("component", "jaeger_api")})))
	mux.Handle("/metrics", telemetry.MetricsHandler(a.reg))
	mux.Handle("/ready", a.ready)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.Handle("/api/waymark/", apihttp.Gzip(uiapi.NewHandler(q, uiapi.Options{DefaultTenant: cfg.Tenancy.DefaultTenant, Registerer: a.reg, Logger: a.log.With("component", "ui_api")})))
	mux.Handle("/", ui.Handler(ui.Options{DefaultTenant: cfg.Tenancy.DefaultTenant, Logger: a.log.With("component", "ui")}))
	if err := a.serveHTTP("jaeger_query", "query.jaeger_port", cfg.Query.JaegerPort, mux); err != nil {
		return err
	}

	tempo := http.NewServeMux()
	tempo.Handle("/api/", tempoapi.NewHandler(q, tempoapi.Options{DefaultTenant: cfg.Tenancy.DefaultTenant, Timeout: cfg.Query.Timeout.D(), Logger: a.log.With("component", "tempo_api")}))
	tempo.Handle("/metrics", telemetry.MetricsHandler(a.reg))
	tempo.Handle("/ready", a.ready)
	if err := a.serveHTTP("tempo_query", "query.tempo_port", cfg.Query.TempoPort, tempo); err != nil {
		return err
	}

	return a.serveGRPC("jaeger_grpc_query", "query.jaeger_grpc_port", cfg.Query.JaegerGRPCPort, func(s *grpc.Server) {
		jaegergrpc.Register(s, q, jaegergrpc.Options{DefaultTenant: cfg.Tenancy.DefaultTenant, Timeout: cfg.Query.Timeout.D(), Registerer: a.reg, Logger: a.log.With("component", "jaeger_grpc_query")})
	})
}

// Wait blocks until ctx is done or a listener fails, then shuts down.
func (a *App) Wait(ctx context.Context) error {
	var err error
	select {
	case <-ctx.Done():
	case err = <-a.serveErrs:
		a.log.Error("listener failed", "err", err)
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return errors.Join(err, a.shutdown(shutCtx))
}

// shutdown stops listeners first (in-flight requests finish and are made
// durable), then the agent's exporters and queues, then closes the store.
func (a *App) shutdown(ctx context.Context) error {
	a.ready.SetNotReady("shutting down")
	a.log.Info("shutting down")
	var errs []error
	for _, s := range a.grpcServers {
		done := make(chan struct{})
		go func() { s.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			s.Stop()
		}
	}
	for _, stop := range a.udpStops {
		stop()
	}
	for _, s := range a.httpServers {
		if err := s.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	a.wg.Wait()
	// The receivers are stopped, so every batch they took is in the
	// queues; exporters stop now and leave unacked items there.
	errs = append(errs, a.stopExporters())
	if a.store != nil {
		errs = append(errs, a.store.Close())
	}
	a.log.Info("stopped")
	return errors.Join(errs...)
}

// tenantRetention converts the configured per-tenant retention.
func tenantRetention(m config.TenantDurations) map[string]time.Duration {
	out := make(map[string]time.Duration, len(m))
	for tenant, d := range m {
		out[tenant] = d.D()
	}
	return out
}

// compactionInterval maps the configured interval, where 0 disables
// compaction, to the store's option, where a negative value does.
func compactionInterval(d config.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d.D()
}
