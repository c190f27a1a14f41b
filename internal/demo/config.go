package demo

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Service names of the simulated platform, as they appear in service.name.
const (
	ServiceEdge      = "edge"
	ServiceGateway   = "ingress-gateway"
	ServiceSidecar   = "sidecar"
	ServiceCheckout  = "checkout"
	ServiceInventory = "inventory"
	ServicePayments  = "payments"
	ServiceOrdersDB  = "orders-db"
)

// AttrDatacenter is the resource attribute naming the datacenter of a service.
const AttrDatacenter = "datacenter"

// appNames lists the application services; each runs behind its own sidecar.
func appNames() []string {
	return []string{ServiceCheckout, ServiceInventory, ServicePayments}
}

// Config configures the platform.
type Config struct {
	// Endpoint is the host:port of the OTLP/gRPC receiver the spans go to (a
	// Waymark all-in-one, server or agent). Required.
	Endpoint string
	// Tenant is sent as X-Scope-OrgID with every export; empty sends none.
	Tenant string
	// Datacenters names the datacenters; each runs a full copy of the
	// platform. Default dc-1, dc-2, dc-3.
	Datacenters []string
	// BatchTimeout is how long a span waits in the SDK batcher before export;
	// zero means one second, so new traces are searchable quickly.
	BatchTimeout time.Duration
	// Faults are the injected failures.
	Faults Faults
	// Seed makes the fault and work-time draws repeatable; zero draws a
	// random seed.
	Seed uint64
}

// Faults are the failures the platform injects. The zero value injects none.
type Faults struct {
	// ErrorDatacenter is the datacenter whose sidecar in front of
	// ErrorService answers 503 for a share ErrorRate of requests, as an Envoy
	// whose upstream connection fails does. Empty disables the fault.
	ErrorDatacenter string
	// ErrorService is the app whose sidecar fails: checkout, inventory or payments.
	ErrorService string
	// ErrorRate is the share of requests that fail, from 0 to 1.
	ErrorRate float64
	// SlowService is the service (an app or orders-db) that adds SlowLatency
	// to a share SlowRate of its requests. Empty disables the fault.
	SlowService string
	// SlowDatacenter limits the slowness to one datacenter; empty means all.
	SlowDatacenter string
	// SlowLatency is the added latency.
	SlowLatency time.Duration
	// SlowRate is the share of requests that are slowed, from 0 to 1.
	SlowRate float64
	// Retries is how many times every client (edge, gateway, sidecar and app
	// calls) retries a call that failed with a 5xx or a transport error. With
	// a datacenter fault, retries at every hop multiply the load: a retry
	// storm. Zero disables retries.
	Retries int
}

// DefaultConfig returns the platform a new user sees: three datacenters,
// payments failing for 20% of requests in dc-2, inventory 300ms slower for
// 10% of requests, no retries. Endpoint is left empty.
func DefaultConfig() Config {
	return Config{
		Datacenters:  DatacenterNames(3),
		BatchTimeout: time.Second,
		Faults: Faults{
			ErrorDatacenter: "dc-2",
			ErrorService:    ServicePayments,
			ErrorRate:       0.2,
			SlowService:     ServiceInventory,
			SlowLatency:     300 * time.Millisecond,
			SlowRate:        0.1,
		},
	}
}

// DatacenterNames returns dc-1 … dc-n.
func DatacenterNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = "dc-" + strconv.Itoa(i+1)
	}
	return names
}

// maxRetries bounds Faults.Retries: five hops retrying ten times each is
// already a million attempts per request.
const maxRetries = 10

// Validate reports every invalid field. It changes nothing.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if c.Endpoint == "" {
		bad("endpoint", "is required (host:port of an OTLP/gRPC receiver)")
	} else if _, port, err := net.SplitHostPort(c.Endpoint); err != nil || port == "" {
		bad("endpoint", "%q is not host:port", c.Endpoint)
	}
	if len(c.Datacenters) == 0 {
		bad("datacenters", "at least one datacenter is required")
	}
	for i, dc := range c.Datacenters {
		switch {
		case dc == "":
			bad("datacenters", "name %d is empty", i)
		case slices.Index(c.Datacenters, dc) != i:
			bad("datacenters", "%q is listed twice", dc)
		}
	}
	if c.BatchTimeout < 0 {
		bad("batch_timeout", "%s is negative", c.BatchTimeout)
	}
	f := &c.Faults
	if f.ErrorDatacenter != "" {
		if !slices.Contains(c.Datacenters, f.ErrorDatacenter) {
			bad("faults.error_datacenter", "%q is not one of the datacenters %v", f.ErrorDatacenter, c.Datacenters)
		}
		if !slices.Contains(appNames(), f.ErrorService) {
			bad("faults.error_service", "%q is not an app (one of %v)", f.ErrorService, appNames())
		}
	}
	if !(f.ErrorRate >= 0 && f.ErrorRate <= 1) {
		bad("faults.error_rate", "%v is not between 0 and 1", f.ErrorRate)
	}
	if f.SlowService != "" && f.SlowService != ServiceOrdersDB && !slices.Contains(appNames(), f.SlowService) {
		bad("faults.slow_service", "%q is not an app or %s", f.SlowService, ServiceOrdersDB)
	}
	if f.SlowDatacenter != "" && !slices.Contains(c.Datacenters, f.SlowDatacenter) {
		bad("faults.slow_datacenter", "%q is not one of the datacenters %v", f.SlowDatacenter, c.Datacenters)
	}
	if f.SlowLatency < 0 {
		bad("faults.slow_latency", "%s is negative", f.SlowLatency)
	}
	if !(f.SlowRate >= 0 && f.SlowRate <= 1) {
		bad("faults.slow_rate", "%v is not between 0 and 1", f.SlowRate)
	}
	if f.Retries < 0 || f.Retries > maxRetries {
		bad("faults.retries", "%d is not between 0 and %d", f.Retries, maxRetries)
	}
	return errors.Join(errs...)
}

// errorRateIn returns the share of requests the sidecar of app fails in dc.
func (f *Faults) errorRateIn(dc, app string) float64 {
	if f.ErrorDatacenter == dc && f.ErrorService == app {
		return f.ErrorRate
	}
	return 0
}

// slowIn returns the added latency and its share for service in dc.
func (f *Faults) slowIn(dc, service string) (time.Duration, float64) {
	if f.SlowService == service && (f.SlowDatacenter == "" || f.SlowDatacenter == dc) {
		return f.SlowLatency, f.SlowRate
	}
	return 0, 0
}

// String describes the faults in one line, for people.
func (f Faults) String() string {
	var parts []string
	if f.ErrorDatacenter != "" && f.ErrorRate > 0 {
		parts = append(parts, fmt.Sprintf("in %s the sidecar in front of %s answers 503 to %s of requests", f.ErrorDatacenter, f.ErrorService, percent(f.ErrorRate)))
	}
	if f.SlowService != "" && f.SlowRate > 0 && f.SlowLatency > 0 {
		where := "every datacenter"
		if f.SlowDatacenter != "" {
			where = f.SlowDatacenter
		}
		parts = append(parts, fmt.Sprintf("%s is %s slower for %s of requests in %s", f.SlowService, f.SlowLatency, percent(f.SlowRate), where))
	}
	if f.Retries > 0 {
		parts = append(parts, fmt.Sprintf("every client retries failed calls %d times", f.Retries))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}

func percent(share float64) string {
	return strconv.FormatFloat(share*100, 'f', -1, 64) + "%"
}
