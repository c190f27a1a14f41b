package config

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
