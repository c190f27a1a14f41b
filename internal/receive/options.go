package receive

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"waymark/internal/model"
)

// DefaultMaxRequestBytes is the request size limit used when
// Options.MaxRequestBytes is not positive: 20 MiB, as OTLP recommends.
const DefaultMaxRequestBytes = 20 << 20

// Options configures a receiver. The zero value is usable.
type Options struct {
	// MaxRequestBytes caps an HTTP body after decompression; every
	// decompressor is bounded by it. Zero or negative means
	// DefaultMaxRequestBytes.
	MaxRequestBytes int64
	// DefaultTenant is the tenant of requests that carry no tenant header
	// or metadata, and of all UDP traffic. Empty means model.DefaultTenant.
	DefaultTenant string
	// Registerer receives the receiver's metrics. Nil means no metrics are
	// exported. Several receivers may share one Registerer.
	Registerer prometheus.Registerer
	// Logger logs rare events (never one line per span). Nil discards logs.
	Logger *slog.Logger
}

// Limit returns the effective request size limit.
func (o Options) Limit() int64 {
	if o.MaxRequestBytes <= 0 {
		return DefaultMaxRequestBytes
	}
	return o.MaxRequestBytes
}

// Tenant returns the effective default tenant.
func (o Options) Tenant() string {
	if o.DefaultTenant == "" {
		return model.DefaultTenant
	}
	return o.DefaultTenant
}

// logger returns the effective logger.
func (o Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}
