package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Edge is the entry point of one datacenter.
type Edge struct {
	// Datacenter is the edge's datacenter.
	Datacenter string
	// URL is the edge's base URL (http://127.0.0.1:port).
	URL string
}

// Edge routes the Driver calls.
const (
	// RouteCheckout buys: POST /api/checkout?sku=…&qty=….
	RouteCheckout = "POST /api/checkout"
	// RouteProduct shows a product: GET /api/products/{sku}.
	RouteProduct = "GET /api/products/{sku}"
)

// Platform is a running demo platform.
type Platform struct {
	log       *slog.Logger
	otlp      sdktrace.SpanExporter
	exp       *sharedExporter
	instances []*instance
	edges     []Edge
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// Start validates cfg and starts every service of every datacenter on its
// own loopback listener. The services serve until Close. log receives the
// platform's own logs (export failures, server errors); nil discards them.
func Start(ctx context.Context, cfg Config, log *slog.Logger) (*Platform, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("demo config: %w", err)
	}
	if cfg.Seed == 0 {
		cfg.Seed = randomSeed()
	}
	otlp, err := newOTLPExporter(ctx, cfg.Endpoint, cfg.Tenant)
	if err != nil {
		return nil, err
	}
	p := &Platform{log: log, otlp: otlp, exp: &sharedExporter{next: otlp, log: log}}
	for _, dc := range cfg.Datacenters {
		edge, err := p.startDatacenter(&cfg, dc)
		if err != nil {
			_ = p.Close(ctx)
			return nil, fmt.Errorf("start %s: %w", dc, err)
		}
		p.edges = append(p.edges, edge)
	}
	log.Info("demo platform started", "datacenters", len(cfg.Datacenters), "services", len(p.instances), "otlp_endpoint", cfg.Endpoint)
	return p, nil
}

// startDatacenter starts one datacenter's services: listeners first, so
// every URL is known, then the handlers.
func (p *Platform) startDatacenter(cfg *Config, dc string) (Edge, error) {
	newIn := func(service, id string) (*instance, error) {
		in, err := newInstance(p.exp, cfg, service, id, dc, uint64(len(p.instances)), p.log)
		if err != nil {
			return nil, err
		}
		p.instances = append(p.instances, in)
		return in, nil
	}
	edge, err := newIn(ServiceEdge, ServiceEdge+"-"+dc)
	if err != nil {
		return Edge{}, err
	}
	gateway, err := newIn(ServiceGateway, ServiceGateway+"-"+dc)
	if err != nil {
		return Edge{}, err
	}
	db, err := newIn(ServiceOrdersDB, ServiceOrdersDB+"-"+dc)
	if err != nil {
		return Edge{}, err
	}
	appIns := make(map[string]*instance)
	sidecarIns := make(map[string]*instance)
	sidecarURLs := make(map[string]string)
	for _, name := range appNames() {
		if appIns[name], err = newIn(name, name+"-"+dc); err != nil {
			return Edge{}, err
		}
		if sidecarIns[name], err = newIn(ServiceSidecar, ServiceSidecar+"-"+name+"-"+dc); err != nil {
			return Edge{}, err
		}
		sidecarURLs[name] = sidecarIns[name].url
	}

	f := &cfg.Faults
	db.serve(&p.wg, p.log, newOrdersDB(db, f))
	for _, name := range appNames() {
		a := newApp(appIns[name], &dbClient{in: appIns[name], url: db.url}, sidecarURLs, f)
		a.in.serve(&p.wg, p.log, a.handler())

		var routes []route
		for _, ar := range appRoutes(name) {
			routes = append(routes, route{pattern: ar.pattern, cluster: "inbound|8080||" + name, upstream: appIns[name].url})
		}
		sc := &proxy{in: sidecarIns[name], failRate: f.errorRateIn(dc, name)}
		sc.in.serve(&p.wg, p.log, sc.in.instrument(sc.mux(routes)))
	}
	gw := &proxy{in: gateway}
	gateway.serve(&p.wg, p.log, gateway.instrument(gw.mux([]route{
		{pattern: "POST /checkout", cluster: "outbound|8080||checkout.shop.svc", upstream: sidecarURLs[ServiceCheckout]},
		{pattern: "GET /products/{sku}", cluster: "outbound|8080||inventory.shop.svc", upstream: sidecarURLs[ServiceInventory], path: "/stock/{sku}"},
	})))
	ed := &proxy{in: edge, edge: true}
	edge.serve(&p.wg, p.log, edge.instrument(ed.mux([]route{
		{pattern: RouteCheckout, cluster: ServiceGateway, upstream: gateway.url, path: "/checkout"},
		{pattern: RouteProduct, cluster: ServiceGateway, upstream: gateway.url, path: "/products/{sku}"},
	}),
		// The edge starts every trace: an incoming traceparent becomes a link.
		otelhttp.WithPublicEndpointFn(func(*http.Request) bool { return true }),
	))
	return Edge{Datacenter: dc, URL: edge.url}, nil
}

// Edges returns the entry point of every datacenter, in configuration order.
func (p *Platform) Edges() []Edge { return append([]Edge(nil), p.edges...) }

// ExportStats returns what the exporter has done so far.
func (p *Platform) ExportStats() ExportStats { return p.exp.stats() }

// Close stops the services (waiting for requests in flight), flushes every
// tracer provider and shuts the exporter down. ctx bounds the whole.
func (p *Platform) Close(ctx context.Context) error {
	p.closeOnce.Do(func() {
		var errs []error
		// Front to back, so no request is cut off by a service behind it.
		for _, in := range p.instances {
			if err := in.shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("stop %s: %w", in.id, err))
			}
		}
		p.wg.Wait()
		for _, in := range p.instances {
			if err := in.tp.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("flush spans of %s: %w", in.id, err))
			}
		}
		if err := p.otlp.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop exporter: %w", err))
		}
		p.closeErr = errors.Join(errs...)
	})
	return p.closeErr
}
