package demo

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	valid := func() Config {
		c := DefaultConfig()
		c.Endpoint = "127.0.0.1:4317"
		return c
	}
	tests := []struct {
		name   string
		change func(*Config)
		// want lists substrings of the error; none means valid.
		want []string
	}{
		{"default with endpoint", func(*Config) {}, nil},
		{"no faults", func(c *Config) { c.Faults = Faults{} }, nil},
		{"slow database in one datacenter", func(c *Config) {
			c.Faults.SlowService, c.Faults.SlowDatacenter = ServiceOrdersDB, "dc-3"
		}, nil},
		{"missing endpoint", func(c *Config) { c.Endpoint = "" }, []string{"endpoint: is required"}},
		{"endpoint without port", func(c *Config) { c.Endpoint = "localhost" }, []string{`endpoint: "localhost" is not host:port`}},
		{"no datacenters", func(c *Config) { c.Datacenters = nil }, []string{"at least one datacenter", "faults.error_datacenter"}},
		{"duplicate datacenter", func(c *Config) { c.Datacenters = []string{"dc-1", "dc-2", "dc-1"} }, []string{`"dc-1" is listed twice`}},
		{"empty datacenter name", func(c *Config) { c.Datacenters = []string{"dc-1", "", "dc-2"} }, []string{"name 1 is empty"}},
		{"fault in unknown datacenter", func(c *Config) { c.Faults.ErrorDatacenter = "dc-9" }, []string{`faults.error_datacenter: "dc-9"`}},
		{"fault in a non-app", func(c *Config) { c.Faults.ErrorService = ServiceEdge }, []string{`faults.error_service: "edge" is not an app`}},
		{"error rate over one", func(c *Config) { c.Faults.ErrorRate = 1.5 }, []string{"faults.error_rate: 1.5"}},
		{"negative slow rate", func(c *Config) { c.Faults.SlowRate = -0.1 }, []string{"faults.slow_rate: -0.1"}},
		{"slow unknown service", func(c *Config) { c.Faults.SlowService = "cache" }, []string{`faults.slow_service: "cache"`}},
		{"slow unknown datacenter", func(c *Config) { c.Faults.SlowDatacenter = "dc-4" }, []string{`faults.slow_datacenter: "dc-4"`}},
		{"negative latency", func(c *Config) { c.Faults.SlowLatency = -time.Second }, []string{"faults.slow_latency: -1s is negative"}},
		{"too many retries", func(c *Config) { c.Faults.Retries = 11 }, []string{"faults.retries: 11"}},
		{"negative batch timeout", func(c *Config) { c.BatchTimeout = -1 }, []string{"batch_timeout"}},
		{"every error at once", func(c *Config) {
			c.Endpoint = ""
			c.Faults.ErrorRate = 2
			c.Faults.Retries = -1
		}, []string{"endpoint", "faults.error_rate", "faults.retries"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.change(&c)
			before := strings.Join(c.Datacenters, ",")
			err := c.Validate()
			if strings.Join(c.Datacenters, ",") != before {
				t.Error("Validate changed the config")
			}
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestFaultsApplyWhereConfigured(t *testing.T) {
	f := Faults{ErrorDatacenter: "dc-2", ErrorService: ServicePayments, ErrorRate: 0.2,
		SlowService: ServiceInventory, SlowDatacenter: "dc-1", SlowLatency: time.Second, SlowRate: 0.5}
	tests := []struct {
		name          string
		dc, service   string
		wantErrorRate float64
		wantSlow      time.Duration
		wantSlowRate  float64
	}{
		{"faulty sidecar", "dc-2", ServicePayments, 0.2, 0, 0},
		{"same app, other datacenter", "dc-1", ServicePayments, 0, 0, 0},
		{"slow service in its datacenter", "dc-1", ServiceInventory, 0, time.Second, 0.5},
		{"slow service elsewhere", "dc-2", ServiceInventory, 0, 0, 0},
		{"untouched service", "dc-1", ServiceCheckout, 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := f.errorRateIn(tc.dc, tc.service); got != tc.wantErrorRate {
				t.Errorf("errorRateIn = %v, want %v", got, tc.wantErrorRate)
			}
			slow, rate := f.slowIn(tc.dc, tc.service)
			if slow != tc.wantSlow || rate != tc.wantSlowRate {
				t.Errorf("slowIn = %s, %v; want %s, %v", slow, rate, tc.wantSlow, tc.wantSlowRate)
			}
		})
	}
}

func TestNewDriverRejectsBadConfig(t *testing.T) {
	edges := []Edge{{Datacenter: "dc-1", URL: "http://127.0.0.1:1"}}
	tests := []struct {
		name string
		cfg  DriverConfig
		want string
	}{
		{"no edges", DriverConfig{Rate: 1}, "edges"},
		{"zero rate", DriverConfig{Edges: edges}, "rate: 0"},
		{"checkout share over one", DriverConfig{Edges: edges, Rate: 1, CheckoutShare: 2}, "checkout_share"},
		{"negative in-flight bound", DriverConfig{Edges: edges, Rate: 1, MaxInFlight: -1}, "max_in_flight"},
		{"negative timeout", DriverConfig{Edges: edges, Rate: 1, Timeout: -time.Second}, "timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewDriver(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestFaultsString(t *testing.T) {
	tests := []struct {
		name string
		f    Faults
		want string
	}{
		{"none", Faults{}, "none"},
		{"rate zero is no fault", Faults{ErrorDatacenter: "dc-2", ErrorService: ServicePayments}, "none"},
		{"default", DefaultConfig().Faults,
			"in dc-2 the sidecar in front of payments answers 503 to 20% of requests; inventory is 300ms slower for 10% of requests in every datacenter"},
		{"slow in one datacenter with retries", Faults{SlowService: ServiceOrdersDB, SlowDatacenter: "dc-1", SlowLatency: time.Second, SlowRate: 0.05, Retries: 3},
			"orders-db is 1s slower for 5% of requests in dc-1; every client retries failed calls 3 times"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.f.String(); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}
