package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// DriverConfig configures the traffic driver.
type DriverConfig struct {
	// Edges are the entry points; requests go to them in turn.
	Edges []Edge
	// Rate is the total requests per second offered across all edges.
	Rate float64
	// CheckoutShare is the share of requests that are checkouts (the rest
	// are product views); from 0 to 1.
	CheckoutShare float64
	// MaxInFlight bounds concurrent requests; a request due while the bound
	// is reached is not sent and counted as dropped. Zero means 512.
	MaxInFlight int
	// Timeout bounds each request; zero means 30s.
	Timeout time.Duration
	// Seed makes the request mix repeatable; zero draws a random seed.
	Seed uint64
}

// DefaultCheckoutShare is the share of checkouts in the default request mix.
const DefaultCheckoutShare = 0.8

// Request is one request the driver sent, as the client saw it.
type Request struct {
	Datacenter string
	Method     string
	Path       string
	// Status is the HTTP status, 0 when the request got no answer.
	Status   int
	Duration time.Duration
	// TraceID is the hex trace ID from the edge's traceresponse header;
	// empty when the request got no (valid) answer.
	TraceID string
	// RequestID is the x-request-id the edge assigned.
	RequestID string
	// Err describes a transport error.
	Err string
}

// Failed reports whether the request failed: no answer or a status of 400 or more.
func (r Request) Failed() bool { return r.Status == 0 || r.Status >= 400 }

// DatacenterStats counts one datacenter's requests.
type DatacenterStats struct {
	Sent, Failed uint64
}

// Stats is a snapshot of what the driver did.
type Stats struct {
	// Sent counts requests that completed (with an answer or an error).
	Sent uint64
	// Failed counts completed requests that failed.
	Failed uint64
	// Dropped counts requests not sent because MaxInFlight was reached.
	Dropped uint64
	// Datacenters holds per-datacenter counts.
	Datacenters map[string]DatacenterStats
	// FirstFailure holds the first failed request of each datacenter that had one.
	FirstFailure map[string]Request
	// Slowest is the slowest successful request (zero if none yet).
	Slowest Request
}

// Driver sends a steady request rate to the edges and keeps statistics and
// example requests worth opening in a trace view.
type Driver struct {
	cfg    DriverConfig
	client *http.Client
	tr     *http.Transport
	dice   *dice

	inFlight atomic.Int64
	dropped  atomic.Uint64

	mu           sync.Mutex
	sent, failed uint64
	perDC        map[string]DatacenterStats
	firstFailure map[string]Request
	slowest      Request
}

// NewDriver checks cfg and builds a driver.
func NewDriver(cfg DriverConfig) (*Driver, error) {
	var errs []error
	if len(cfg.Edges) == 0 {
		errs = append(errs, errors.New("edges: at least one is required"))
	}
	if !(cfg.Rate > 0 && cfg.Rate <= 100_000) {
		errs = append(errs, fmt.Errorf("rate: %v is not in (0, 100000] requests/s", cfg.Rate))
	}
	if !(cfg.CheckoutShare >= 0 && cfg.CheckoutShare <= 1) {
		errs = append(errs, fmt.Errorf("checkout_share: %v is not between 0 and 1", cfg.CheckoutShare))
	}
	if cfg.MaxInFlight < 0 {
		errs = append(errs, fmt.Errorf("max_in_flight: %d is negative", cfg.MaxInFlight))
	}
	if cfg.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout: %s is negative", cfg.Timeout))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("demo driver: %w", err)
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = 512
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Seed == 0 {
		cfg.Seed = randomSeed()
	}
	tr := &http.Transport{MaxIdleConns: cfg.MaxInFlight, MaxIdleConnsPerHost: cfg.MaxInFlight, IdleConnTimeout: 30 * time.Second}
	return &Driver{
		cfg:          cfg,
		tr:           tr,
		client:       &http.Client{Transport: tr, Timeout: cfg.Timeout},
		dice:         newDice(cfg.Seed, 0),
		perDC:        make(map[string]DatacenterStats),
		firstFailure: make(map[string]Request),
	}, nil
}

// maxCatchUp bounds how far behind schedule the driver may fall before it
// stops trying to catch up (and so never bursts after a stall).
const maxCatchUp = time.Second

// Run sends requests until ctx is done, then waits for those in flight.
// Requests in flight are not cancelled by ctx (a cancelled
// request would show up as a spurious error in its trace); each is bounded by
// the driver's Timeout.
func (d *Driver) Run(ctx context.Context) {
	defer d.tr.CloseIdleConnections()
	var wg sync.WaitGroup
	defer wg.Wait()
	reqCtx := context.WithoutCancel(ctx)
	interval := time.Duration(float64(time.Second) / d.cfg.Rate)
	next := time.Now()
	for i := 0; ; i++ {
		if sleep(ctx, time.Until(next)) != nil {
			return
		}
		next = next.Add(interval)
		if behind := time.Since(next); behind > maxCatchUp {
			next = time.Now()
		}
		if d.inFlight.Load() >= int64(d.cfg.MaxInFlight) {
			d.dropped.Add(1)
			continue
		}
		edge := d.cfg.Edges[i%len(d.cfg.Edges)]
		method, path := http.MethodGet, "/api/products/sku-"+strconv.Itoa(1+d.dice.intN(50))
		if d.dice.chance(d.cfg.CheckoutShare) {
			method = http.MethodPost
			path = "/api/checkout?sku=sku-" + strconv.Itoa(1+d.dice.intN(50)) + "&qty=" + strconv.Itoa(1+d.dice.intN(3))
		}
		d.inFlight.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer d.inFlight.Add(-1)
			d.record(d.send(reqCtx, edge, method, path))
		}()
	}
}

// send makes one request to edge and describes the outcome.
func (d *Driver) send(ctx context.Context, edge Edge, method, path string) Request {
	r := Request{Datacenter: edge.Datacenter, Method: method, Path: path}
	req, err := http.NewRequestWithContext(ctx, method, edge.URL+path, nil)
	if err != nil {
		r.Err = err.Error()
		return r
	}
	start := time.Now()
	resp, err := d.client.Do(req)
	if err != nil {
		r.Duration, r.Err = time.Since(start), err.Error()
		return r
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	r.Duration, r.Status = time.Since(start), resp.StatusCode
	r.RequestID = resp.Header.Get(headerRequestID)
	if tid, _, err := parseTraceResponse(resp.Header.Get(headerTraceResponse)); err == nil {
		r.TraceID = tid.String()
	}
	return r
}

func (d *Driver) record(r Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sent++
	dc := d.perDC[r.Datacenter]
	dc.Sent++
	if r.Failed() {
		d.failed++
		dc.Failed++
		if _, ok := d.firstFailure[r.Datacenter]; !ok && r.TraceID != "" {
			d.firstFailure[r.Datacenter] = r
		}
	} else if r.Duration > d.slowest.Duration && r.TraceID != "" {
		d.slowest = r
	}
	d.perDC[r.Datacenter] = dc
}

// Stats returns a snapshot of the counts and examples so far.
func (d *Driver) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return Stats{
		Sent:         d.sent,
		Failed:       d.failed,
		Dropped:      d.dropped.Load(),
		Datacenters:  maps.Clone(d.perDC),
		FirstFailure: maps.Clone(d.firstFailure),
		Slowest:      d.slowest,
	}
}
