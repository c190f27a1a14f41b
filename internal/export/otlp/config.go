package otlp

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Protocols.
const (
	ProtocolGRPC = "grpc"
	ProtocolHTTP = "http"
)

// Config configures an Exporter.
type Config struct {
	// Protocol is "grpc" or "http" (OTLP/HTTP protobuf); empty means grpc.
	Protocol string `yaml:"protocol"`
	// Endpoint is host:port for grpc, and a URL for http. An http URL with
	// no path gets /v1/traces appended, as OTel SDKs do. Required.
	Endpoint string `yaml:"endpoint"`
	// Compression is "gzip" or "none"; empty means gzip.
	Compression string `yaml:"compression"`
	// Headers are sent with every request, e.g. authorization. Nil means none.
	Headers map[string]string `yaml:"headers"`
	// TenantHeader carries each item's tenant; empty means X-Scope-OrgID,
	// "-" sends no tenant header.
	TenantHeader string `yaml:"tenant_header"`
	// TLS configures transport security.
	TLS TLSConfig `yaml:"tls"`
	// Timeout bounds one request; zero means 10s.
	Timeout time.Duration `yaml:"timeout"`
	// Workers is the number of requests in flight at once; zero means 2.
	Workers int `yaml:"workers"`
	// Retry configures retries of retryable failures.
	Retry RetryConfig `yaml:"retry"`
}

// TLSConfig configures TLS to the backend.
type TLSConfig struct {
	// Insecure sends plaintext (h2c for grpc). False means TLS; for http
	// the URL scheme decides instead.
	Insecure bool `yaml:"insecure"`
	// CAFile is a PEM bundle of roots to trust; empty means the system roots.
	CAFile string `yaml:"ca_file"`
	// CertFile is a PEM client certificate for mutual TLS; empty means
	// none. It needs KeyFile.
	CertFile string `yaml:"cert_file"`
	// KeyFile is the PEM key of CertFile.
	KeyFile string `yaml:"key_file"`
	// ServerName overrides the name checked in the server's certificate;
	// empty means the endpoint's host.
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify accepts any server certificate. For tests only.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// RetryConfig is exponential backoff with jitter. A delay the backend asks
// for (Retry-After, RetryInfo) replaces the computed one.
type RetryConfig struct {
	// InitialInterval is the first delay; zero means 1s.
	InitialInterval time.Duration `yaml:"initial_interval"`
	// MaxInterval caps the delay; zero means 30s.
	MaxInterval time.Duration `yaml:"max_interval"`
	// Multiplier grows the delay after each failure; zero means 1.5.
	Multiplier float64 `yaml:"multiplier"`
	// RandomizationFactor spreads each delay over [d·(1-f), d·(1+f)];
	// zero means no jitter (DefaultConfig uses 0.5).
	RandomizationFactor float64 `yaml:"randomization_factor"`
	// MaxElapsedTime drops an item still failing after this long; zero
	// means retry until it is sent, which is what a durable queue is for.
	MaxElapsedTime time.Duration `yaml:"max_elapsed_time"`
}

// DefaultConfig sends gzip-compressed OTLP/gRPC in plaintext to a local
// Waymark server and retries for as long as it takes.
func DefaultConfig() Config {
	return Config{
		Protocol:     ProtocolGRPC,
		Endpoint:     "localhost:4317",
		Compression:  "gzip",
		TenantHeader: "X-Scope-OrgID",
		TLS:          TLSConfig{Insecure: true},
		Timeout:      10 * time.Second,
		Workers:      2,
		Retry: RetryConfig{
			InitialInterval:     time.Second,
			MaxInterval:         30 * time.Second,
			Multiplier:          1.5,
			RandomizationFactor: 0.5,
		},
	}
}

// Validate reports every invalid field by its YAML key. It changes nothing.
func (c Config) Validate() error {
	var errs []error
	switch c.Protocol {
	case "", ProtocolGRPC:
		if c.Endpoint == "" {
			errs = append(errs, errors.New("endpoint: empty"))
		} else if strings.Contains(c.Endpoint, "://") {
			errs = append(errs, fmt.Errorf("endpoint: %q is a URL; grpc wants host:port", c.Endpoint))
		}
	case ProtocolHTTP:
		if u, err := url.Parse(c.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("endpoint: %q is not an http or https URL", c.Endpoint))
		}
	default:
		errs = append(errs, fmt.Errorf("protocol: %q is not grpc or http", c.Protocol))
	}
	switch c.Compression {
	case "", "gzip", "none":
	default:
		errs = append(errs, fmt.Errorf("compression: %q is not gzip or none", c.Compression))
	}
	keys := make([]string, 0, len(c.Headers))
	for k := range c.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "" || strings.ContainsAny(k, " \t\r\n:") || strings.ContainsAny(c.Headers[k], "\r\n") {
			errs = append(errs, fmt.Errorf("headers.%s: not a valid header", k))
		}
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs = append(errs, errors.New("tls.cert_file, tls.key_file: set both or neither"))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout: %s is negative", c.Timeout))
	}
	if c.Workers < 0 {
		errs = append(errs, fmt.Errorf("workers: %d is negative", c.Workers))
	}
	r := c.Retry
	if r.InitialInterval < 0 {
		errs = append(errs, fmt.Errorf("retry.initial_interval: %s is negative", r.InitialInterval))
	}
	if r.MaxInterval < 0 {
		errs = append(errs, fmt.Errorf("retry.max_interval: %s is negative", r.MaxInterval))
	}
	if r.Multiplier != 0 && (r.Multiplier < 1 || math.IsNaN(r.Multiplier) || math.IsInf(r.Multiplier, 0)) {
		errs = append(errs, fmt.Errorf("retry.multiplier: %v is below 1", r.Multiplier))
	}
	if r.RandomizationFactor < 0 || r.RandomizationFactor >= 1 || math.IsNaN(r.RandomizationFactor) {
		errs = append(errs, fmt.Errorf("retry.randomization_factor: %v is not in [0, 1)", r.RandomizationFactor))
	}
	if r.MaxElapsedTime < 0 {
		errs = append(errs, fmt.Errorf("retry.max_elapsed_time: %s is negative", r.MaxElapsedTime))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.Protocol == "" {
		c.Protocol = ProtocolGRPC
	}
	if c.Compression == "" {
		c.Compression = "gzip"
	}
	if c.TenantHeader == "" {
		c.TenantHeader = "X-Scope-OrgID"
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Workers == 0 {
		c.Workers = 2
	}
	if c.Retry.InitialInterval == 0 {
		c.Retry.InitialInterval = time.Second
	}
	if c.Retry.MaxInterval == 0 {
		c.Retry.MaxInterval = 30 * time.Second
	}
	if c.Retry.Multiplier == 0 {
		c.Retry.Multiplier = 1.5
	}
	return c
}
