package config

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"waymark/internal/store/compact"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "waymark.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadPrecedence(t *testing.T) {
	file := writeFile(t, "storage:\n  head:\n    max_age: 2m\n    max_bytes: 64MiB\nquery:\n  jaeger_port: 17000\n")
	cfg, rest, err := Load(
		[]string{"--config", file, "--storage.head.max_age=3m", "extra"},
		[]string{"WAYMARK_STORAGE_HEAD_MAX_AGE=90s", "WAYMARK_QUERY_JAEGER_PORT=18000", "WAYMARK_LISTEN_ADDRESS=0.0.0.0", "PATH=/x"},
		io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Storage.Head.MaxAge.D(); got != 3*time.Minute {
		t.Errorf("flag should win over env and file: max_age = %v", got)
	}
	if cfg.Query.JaegerPort != 18000 {
		t.Errorf("env should win over file: jaeger_port = %d", cfg.Query.JaegerPort)
	}
	if cfg.Storage.Head.MaxBytes != 64<<20 {
		t.Errorf("file value lost: max_bytes = %d", cfg.Storage.Head.MaxBytes)
	}
	if cfg.Listen.Address != "0.0.0.0" {
		t.Errorf("listen.address = %q", cfg.Listen.Address)
	}
	if cfg.Receivers.OTLPGRPCPort != 4317 {
		t.Errorf("default lost: otlp_grpc_port = %d", cfg.Receivers.OTLPGRPCPort)
	}
	if cfg.Query.JaegerGRPCPort != 16685 {
		t.Errorf("default lost: query.jaeger_grpc_port = %d", cfg.Query.JaegerGRPCPort)
	}
	if len(rest) != 1 || rest[0] != "extra" {
		t.Errorf("remaining args = %v", rest)
	}
}

func TestLoadRefusesBadInput(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  []string
		file string
		want string
	}{
		{name: "unknown file key", file: "storage:\n  head:\n    max_agee: 1m\n", want: "max_agee"},
		{name: "bad duration in file", file: "storage:\n  retention: forever\n", want: "not a duration"},
		{name: "bad flag value", args: []string{"--query.jaeger_port=abc"}, want: "query.jaeger_port"},
		{name: "unknown env var", env: []string{"WAYMARK_NO_SUCH_KEY=1"}, want: "WAYMARK_NO_SUCH_KEY"},
		{name: "port out of range", env: []string{"WAYMARK_RECEIVERS_ZIPKIN_PORT=70000"}, want: "receivers.zipkin_port"},
		{name: "query grpc port out of range", args: []string{"--query.jaeger_grpc_port=-1"}, want: "query.jaeger_grpc_port"},
		{name: "bad tenant", args: []string{"--tenancy.default_tenant=a/b"}, want: "tenancy.default_tenant"},
		{name: "bad address", args: []string{"--listen.address=somewhere"}, want: "listen.address"},
		{name: "retention too short", args: []string{"--storage.retention=1m"}, want: "storage.retention"},
		{name: "unknown flag", args: []string{"--nope=1"}, want: "nope"},
		{name: "tenant retention too short", args: []string{"--storage.tenant_retention=acme=30m"}, want: "storage.tenant_retention.acme"},
		{name: "tenant retention of a bad tenant", file: "storage:\n  tenant_retention:\n    a/b: 24h\n", want: "storage.tenant_retention.a/b"},
		{name: "tenant retention not a pair", env: []string{"WAYMARK_STORAGE_TENANT_RETENTION=acme"}, want: "tenant=duration"},
		{name: "tenant retention not a duration", args: []string{"--storage.tenant_retention=acme=soon"}, want: "not a duration"},
		{name: "negative compaction interval", args: []string{"--storage.compaction.interval=-1s"}, want: "storage.compaction.interval"},
		{name: "compaction window too short", args: []string{"--storage.compaction.window=10s"}, want: "storage.compaction.window"},
		{name: "compacted blocks too small", args: []string{"--storage.compaction.max_block_spans=10"}, want: "storage.compaction.max_block_spans"},
		{name: "no trace spans", args: []string{"--query.max_trace_spans=0"}, want: "query.max_trace_spans"},
		{name: "memory limit too small", args: []string{"--memory_limit=1MiB"}, want: "memory_limit"},
		{name: "query budget below a trace", env: []string{"WAYMARK_QUERY_MAX_SPANS_PER_QUERY=99999"}, want: "query.max_spans_per_query"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.file != "" {
				args = append([]string{"--config", writeFile(t, tc.file)}, args...)
			}
			_, _, err := Load(args, tc.env, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	data, err := Marshal(Default())
	if err != nil {
		t.Fatal(err)
	}
	p := writeFile(t, string(data))
	got, err := CheckFile(p)
	if err != nil {
		t.Fatalf("printed default config does not validate: %v\n%s", err, data)
	}
	if got.Storage.Retention != Default().Storage.Retention || got.Receivers.MaxRequestBytes != Default().Receivers.MaxRequestBytes {
		t.Errorf("round trip changed values:\n%s", data)
	}
}

func TestEveryKeyHasEnvAndFlag(t *testing.T) {
	cfg := Default()
	for _, k := range Keys(&cfg) {
		if !strings.HasPrefix(k.Env(), "WAYMARK_") || strings.ContainsAny(k.Env(), ".-") {
			t.Errorf("bad env name %q for %s", k.Env(), k.Path)
		}
	}
	if len(Keys(&cfg)) < 20 {
		t.Errorf("only %d keys found", len(Keys(&cfg)))
	}
}

func TestStorageOperationsKeys(t *testing.T) {
	file := writeFile(t, "storage:\n  tenant_retention:\n    acme: 720h\n    beta: 48h\n  max_disk_bytes: 10GiB\n  compaction:\n    window: 2h\n")
	cfg, _, err := Load([]string{"--config", file, "--storage.compaction.interval=0"}, []string{"WAYMARK_STORAGE_COMPACTION_MAX_BLOCK_SPANS=100000"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	st := cfg.Storage
	if st.TenantRetention["acme"].D() != 720*time.Hour || st.TenantRetention["beta"].D() != 48*time.Hour || len(st.TenantRetention) != 2 {
		t.Errorf("tenant_retention = %v", st.TenantRetention)
	}
	if st.MaxDiskBytes != 10<<30 || st.Compaction.Window.D() != 2*time.Hour || st.Compaction.Interval != 0 || st.Compaction.MaxBlockSpans != 100000 {
		t.Errorf("storage = %+v", st)
	}
	cfg, _, err = Load([]string{"--storage.tenant_retention= acme=24h , beta=36h"}, nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Storage.Compaction.MaxBlockSpans; got != compact.DefaultMaxBlockSpans {
		t.Errorf("default storage.compaction.max_block_spans = %d, want the compactor's default %d", got, compact.DefaultMaxBlockSpans)
	}
	if got := cfg.Storage.TenantRetention.String(); got != "acme=24h0m0s,beta=36h0m0s" {
		t.Errorf("tenant_retention from a flag = %s", got)
	}
	// The printed form loads back.
	data, err := Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	back, err := CheckFile(writeFile(t, string(data)))
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if back.Storage.TenantRetention.String() != cfg.Storage.TenantRetention.String() {
		t.Errorf("round trip: %s, want %s", back.Storage.TenantRetention, cfg.Storage.TenantRetention)
	}
	cfg.Storage.MaxDiskBytes = -1
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "storage.max_disk_bytes") {
		t.Errorf("negative max_disk_bytes: Validate() = %v", err)
	}
}

func TestTenantDurationsSet(t *testing.T) {
	tests := []struct {
		name, in, want, err string
	}{
		{"empty", "", "", ""},
		{"one", "acme=1h", "acme=1h0m0s", ""},
		{"spaces and a trailing comma", " b=90m , a=2h,", "a=2h0m0s,b=1h30m0s", ""},
		{"seconds as a bare number", "a=3600", "a=1h0m0s", ""},
		{"no duration", "a", "", "tenant=duration"},
		{"no tenant", "=1h", "", "tenant=duration"},
		{"twice", "a=1h,a=2h", "", "twice"},
		{"bad duration", "a=later", "", "not a duration"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m TenantDurations
			err := m.Set(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Set(%q) = %v, want an error mentioning %q", tc.in, err, tc.err)
				}
				return
			}
			if err != nil || m.String() != tc.want {
				t.Fatalf("Set(%q) = %q, %v; want %q", tc.in, m.String(), err, tc.want)
			}
		})
	}
}

func TestLoadQueryLimits(t *testing.T) {
	cases := []struct {
		name               string
		args               []string
		wantTrace, wantAll int
	}{
		{name: "defaults", wantTrace: 100_000, wantAll: 1_000_000},
		{name: "small trace limit", args: []string{"--query.max_trace_spans=50"}, wantTrace: 50, wantAll: 1_000_000},
		{name: "both", args: []string{"--query.max_trace_spans=50", "--query.max_spans_per_query=50"}, wantTrace: 50, wantAll: 50},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _, err := Load(tc.args, nil, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Query.MaxTraceSpans != tc.wantTrace || cfg.Query.MaxSpansPerQuery != tc.wantAll {
				t.Errorf("max_trace_spans, max_spans_per_query = %d, %d; want %d, %d",
					cfg.Query.MaxTraceSpans, cfg.Query.MaxSpansPerQuery, tc.wantTrace, tc.wantAll)
			}
		})
	}
}
