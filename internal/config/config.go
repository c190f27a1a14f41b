package config

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"waymark/internal/model"
	"waymark/internal/store/bucket"
)

// Config is the whole configuration of every role.
type Config struct {
	// Listen is where network listeners bind.
	Listen ListenConfig `yaml:"listen"`
	// DataDir holds the write-ahead log, local blocks and caches.
	DataDir string `yaml:"data_dir"`
	// MemoryLimit is the Go runtime's soft memory limit for the process
	// (what GOMEMLIMIT sets; the variable, when present, wins): near it the
	// garbage collector works harder instead of letting the heap grow to
	// twice what is live. 0 leaves the runtime's default (no limit).
	MemoryLimit ByteSize `yaml:"memory_limit"`
	// Log configures the program's own logs.
	Log LogConfig `yaml:"log"`
	// Tenancy configures X-Scope-OrgID handling.
	Tenancy TenancyConfig `yaml:"tenancy"`
	// Receivers configures the ingest protocols.
	Receivers ReceiversConfig `yaml:"receivers"`
	// Query configures the query APIs and UI.
	Query QueryConfig `yaml:"query"`
	// Storage configures the write-ahead log, head, blocks and retention.
	Storage StorageConfig `yaml:"storage"`
	// Agent configures the agent role's pipeline and exporters; other
	// roles ignore it.
	Agent AgentConfig `yaml:"agent"`
}

// ListenConfig sets the bind address of every listener.
type ListenConfig struct {
	// Address is the host every listener binds; default 127.0.0.1 (loopback
	// only). Set 0.0.0.0 (or "::") to open every port to all interfaces.
	Address string `yaml:"address"`
	// AdminPort serves /metrics and /ready in addition to the query port.
	// 0 disables the separate admin listener, except in the agent, which
	// has no query port and then uses DefaultAgentAdminPort.
	AdminPort int `yaml:"admin_port"`
}

// LogConfig configures logging.
type LogConfig struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level"`
	// Format is text or json.
	Format string `yaml:"format"`
}

// TenancyConfig configures multi-tenancy.
type TenancyConfig struct {
	// DefaultTenant receives data and answers queries that carry no
	// X-Scope-OrgID header (and all UDP/Thrift traffic).
	DefaultTenant string `yaml:"default_tenant"`
}

// ReceiversConfig configures ingest listeners. A port of 0 disables a receiver.
type ReceiversConfig struct {
	OTLPGRPCPort         int `yaml:"otlp_grpc_port"`
	OTLPHTTPPort         int `yaml:"otlp_http_port"`
	ZipkinPort           int `yaml:"zipkin_port"`
	JaegerThriftHTTPPort int `yaml:"jaeger_thrift_http_port"`
	JaegerGRPCPort       int `yaml:"jaeger_grpc_port"`
	JaegerCompactPort    int `yaml:"jaeger_compact_port"`
	JaegerBinaryPort     int `yaml:"jaeger_binary_port"`
	// MaxRequestBytes caps a request body after decompression and a gRPC message.
	MaxRequestBytes ByteSize `yaml:"max_request_bytes"`
	// MaxPendingBytes bounds the spans accepted but not yet durable; beyond it
	// senders get a retryable "overloaded" answer (HTTP 503, gRPC UNAVAILABLE).
	MaxPendingBytes ByteSize `yaml:"max_pending_bytes"`
}

// QueryConfig configures the query APIs.
type QueryConfig struct {
	// JaegerPort serves the Jaeger query API, the UI, /metrics and /ready.
	JaegerPort int `yaml:"jaeger_port"`
	// TempoPort serves the Tempo API (0 disables it).
	TempoPort int `yaml:"tempo_port"`
	// JaegerGRPCPort serves Jaeger's gRPC query services, api_v2 and
	// api_v3 (0 disables it).
	JaegerGRPCPort int `yaml:"jaeger_grpc_port"`
	// DefaultLookback is the search window when a request gives no time range.
	DefaultLookback Duration `yaml:"default_lookback"`
	// Timeout bounds every query.
	Timeout Duration `yaml:"timeout"`
	// MaxTraceSpans caps the spans of one trace a query returns; a larger
	// trace is truncated with a warning.
	MaxTraceSpans int `yaml:"max_trace_spans"`
	// MaxSpansPerQuery is the span budget of one search; a search that
	// reaches it answers with what it has and a warning.
	MaxSpansPerQuery int `yaml:"max_spans_per_query"`
}

// StorageConfig configures the store.
type StorageConfig struct {
	WAL WALConfig `yaml:"wal"`
	// Head sets when recent spans are cut into a block.
	Head HeadConfig `yaml:"head"`
	// Block configures the block format.
	Block BlockConfig `yaml:"block"`
	// Retention is how long blocks are kept.
	Retention Duration `yaml:"retention"`
	// TenantRetention overrides Retention for the tenants it names (each at
	// least 1h). In YAML a map (acme: 720h); in a flag or environment
	// variable tenant=duration pairs: acme=720h,beta=24h.
	TenantRetention TenantDurations `yaml:"tenant_retention"`
	// MaxDiskBytes bounds the bytes of all blocks (their data and index
	// objects, every tenant, in whichever backend holds them; the WAL is
	// not counted). Beyond it the blocks with the oldest data are deleted
	// first, counted in waymark_store_blocks_deleted_total{reason="disk_limit"}
	// and logged. 0 means no limit.
	MaxDiskBytes ByteSize `yaml:"max_disk_bytes"`
	// Compaction merges small blocks into larger ones.
	Compaction CompactionConfig `yaml:"compaction"`
	// Backend is where blocks are stored: local disk (default) or object storage.
	Backend bucket.Config `yaml:"backend"`
}

// CompactionConfig configures block compaction.
type CompactionConfig struct {
	// Interval is how often compaction runs; 0 disables it.
	Interval Duration `yaml:"interval"`
	// Window: a block is merged only with blocks whose newest span falls in
	// the same window (aligned to the Unix epoch), so retention still
	// deletes whole windows. While a window is open, blocks of one level
	// are merged four at a time; once it has been over for twice
	// storage.head.max_age (at least 1m), all its blocks are merged. At
	// least 1m.
	Window Duration `yaml:"window"`
	// MaxBlockSpans bounds the spans of a compacted block. A compaction
	// streams its blocks, so memory does not grow with it; a block of
	// 2,000,000 spans takes 35-120 MB on disk, by span size. At least 1000.
	MaxBlockSpans int `yaml:"max_block_spans"`
}

// WALConfig configures the write-ahead log.
type WALConfig struct {
	// SegmentSize is the size at which a WAL segment file is closed.
	SegmentSize ByteSize `yaml:"segment_size"`
}

// HeadConfig sets when the head is cut into a block.
type HeadConfig struct {
	// MaxBytes cuts a block when the head's spans take about this much memory.
	MaxBytes ByteSize `yaml:"max_bytes"`
	// MaxAge cuts a block when the head's oldest span was added this long ago.
	MaxAge Duration `yaml:"max_age"`
}

// BlockConfig configures blocks.
type BlockConfig struct {
	// RowGroupSpans is the number of spans per Parquet row group.
	RowGroupSpans int `yaml:"row_group_spans"`
	// DedicatedAttributes are span attribute keys stored in columns of their own.
	DedicatedAttributes []string `yaml:"dedicated_attributes"`
}

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{
		Listen:      ListenConfig{Address: "127.0.0.1"},
		DataDir:     "./waymark-data",
		MemoryLimit: 400 << 20,
		Log:         LogConfig{Level: "info", Format: "text"},
		Tenancy:     TenancyConfig{DefaultTenant: model.DefaultTenant},
		Receivers: ReceiversConfig{
			OTLPGRPCPort: 4317, OTLPHTTPPort: 4318, ZipkinPort: 9411,
			JaegerThriftHTTPPort: 14268, JaegerGRPCPort: 14250, JaegerCompactPort: 6831, JaegerBinaryPort: 6832,
			MaxRequestBytes: 20 << 20,
			MaxPendingBytes: 256 << 20,
		},
		Query: QueryConfig{JaegerPort: 16686, TempoPort: 3200, JaegerGRPCPort: 16685, DefaultLookback: Duration(48 * 3600e9), Timeout: Duration(30e9),
			MaxTraceSpans: 100_000, MaxSpansPerQuery: 1_000_000},
		Storage: StorageConfig{
			WAL:        WALConfig{SegmentSize: 128 << 20},
			Head:       HeadConfig{MaxBytes: 48 << 20, MaxAge: Duration(60e9)},
			Block:      BlockConfig{RowGroupSpans: 50_000},
			Retention:  Duration(14 * 24 * 3600e9),
			Compaction: CompactionConfig{Interval: Duration(30e9), Window: Duration(3600e9), MaxBlockSpans: 2_000_000},
			Backend:    bucket.Config{Type: bucket.TypeFilesystem},
		},
		Agent: DefaultAgent(),
	}
}

// Validate reports every invalid setting, each with its YAML key. It changes nothing.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.Listen.Address != "" && net.ParseIP(c.Listen.Address) == nil && c.Listen.Address != "localhost" {
		bad("listen.address", "%q is not an IP address (use 127.0.0.1 for loopback or 0.0.0.0 for all interfaces)", c.Listen.Address)
	}
	ports := map[string]int{
		"listen.admin_port":                 c.Listen.AdminPort,
		"receivers.otlp_grpc_port":          c.Receivers.OTLPGRPCPort,
		"receivers.otlp_http_port":          c.Receivers.OTLPHTTPPort,
		"receivers.zipkin_port":             c.Receivers.ZipkinPort,
		"receivers.jaeger_thrift_http_port": c.Receivers.JaegerThriftHTTPPort,
		"receivers.jaeger_grpc_port":        c.Receivers.JaegerGRPCPort,
		"receivers.jaeger_compact_port":     c.Receivers.JaegerCompactPort,
		"receivers.jaeger_binary_port":      c.Receivers.JaegerBinaryPort,
		"query.jaeger_port":                 c.Query.JaegerPort,
		"query.tempo_port":                  c.Query.TempoPort,
		"query.jaeger_grpc_port":            c.Query.JaegerGRPCPort,
	}
	for _, key := range sortedKeys(ports) {
		if p := ports[key]; p < 0 || p > 65535 {
			bad(key, "port %d is out of range 0-65535", p)
		}
	}
	if c.Query.JaegerPort == 0 {
		bad("query.jaeger_port", "must be set: it serves the UI, /metrics and /ready")
	}
	if c.MemoryLimit != 0 && c.MemoryLimit < 64<<20 {
		bad("memory_limit", "%s is below the minimum of 64MiB (0 turns the limit off)", c.MemoryLimit)
	}
	if strings.TrimSpace(c.DataDir) == "" {
		bad("data_dir", "must not be empty")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", "%q is not one of text, json", c.Log.Format)
	}
	if err := model.ValidateTenant(c.Tenancy.DefaultTenant); err != nil {
		bad("tenancy.default_tenant", "%v", err)
	}
	if c.Receivers.MaxRequestBytes < 1024 {
		bad("receivers.max_request_bytes", "%s is below the minimum of 1KiB", c.Receivers.MaxRequestBytes)
	}
	if c.Receivers.MaxPendingBytes < c.Receivers.MaxRequestBytes {
		bad("receivers.max_pending_bytes", "%s must be at least receivers.max_request_bytes (%s)", c.Receivers.MaxPendingBytes, c.Receivers.MaxRequestBytes)
	}
	if c.Query.DefaultLookback <= 0 {
		bad("query.default_lookback", "must be positive")
	}
	if c.Query.Timeout <= 0 {
		bad("query.timeout", "must be positive")
	}
	if c.Query.MaxTraceSpans < 1 {
		bad("query.max_trace_spans", "%d is below the minimum of 1", c.Query.MaxTraceSpans)
	}
	if c.Query.MaxSpansPerQuery < c.Query.MaxTraceSpans {
		bad("query.max_spans_per_query", "%d must be at least query.max_trace_spans (%d), so that one whole trace fits", c.Query.MaxSpansPerQuery, c.Query.MaxTraceSpans)
	}
	if c.Storage.WAL.SegmentSize < 1<<20 {
		bad("storage.wal.segment_size", "%s is below the minimum of 1MiB", c.Storage.WAL.SegmentSize)
	}
	if c.Storage.Head.MaxBytes < 1<<20 {
		bad("storage.head.max_bytes", "%s is below the minimum of 1MiB", c.Storage.Head.MaxBytes)
	}
	if c.Storage.Head.MaxAge.D() < 1e9 {
		bad("storage.head.max_age", "%s is below the minimum of 1s", c.Storage.Head.MaxAge)
	}
	if c.Storage.Block.RowGroupSpans < 100 {
		bad("storage.block.row_group_spans", "%d is below the minimum of 100", c.Storage.Block.RowGroupSpans)
	}
	for i, k := range c.Storage.Block.DedicatedAttributes {
		if strings.TrimSpace(k) == "" {
			bad(fmt.Sprintf("storage.block.dedicated_attributes[%d]", i), "must not be empty")
		}
	}
	if c.Storage.Retention.D() < 3600e9 {
		bad("storage.retention", "%s is below the minimum of 1h", c.Storage.Retention)
	}
	for _, tenant := range sortedKeys(c.Storage.TenantRetention) {
		key := "storage.tenant_retention." + tenant
		if err := model.ValidateTenant(tenant); err != nil {
			bad(key, "%v", err)
		}
		if d := c.Storage.TenantRetention[tenant]; d.D() < 3600e9 {
			bad(key, "%s is below the minimum of 1h", d)
		}
	}
	if c.Storage.MaxDiskBytes < 0 {
		bad("storage.max_disk_bytes", "must not be negative")
	}
	if c.Storage.Compaction.Interval < 0 {
		bad("storage.compaction.interval", "must not be negative (0 disables compaction)")
	}
	if c.Storage.Compaction.Window.D() < 60e9 {
		bad("storage.compaction.window", "%s is below the minimum of 1m", c.Storage.Compaction.Window)
	}
	if c.Storage.Compaction.MaxBlockSpans < 1000 {
		bad("storage.compaction.max_block_spans", "%d is below the minimum of 1000", c.Storage.Compaction.MaxBlockSpans)
	}
	if err := c.Storage.Backend.Validate(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.Agent.validate()...)
	return errors.Join(errs...)
}
