package config

import (
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"waymark/internal/export/otlp"
	"waymark/internal/process/sample"
	"waymark/internal/queue"
)

const agentFile = `
agent:
  enrich:
    datacenter: dc-east-1
    node: ${NODE_NAME}
    rules:
      - action: delete
        key: http.request.header.authorization
  sampling:
    mode: hash_seed
    hash_seed: 22
    sampling_percentage: 1
    services:
      checkout: 10
  batch:
    max_spans: 4096
    timeout: 1s
  queue:
    capacity_bytes: 536870912
    full_policy: refuse
  exporters:
    - name: waymark
      endpoint: waymark-server:4317
      tls:
        insecure: true
    - name: vendor
      protocol: http
      endpoint: https://otlp.example.com
      headers:
        authorization: Bearer token
      retry:
        max_interval: 10s
`

func TestAgentConfigFromFile(t *testing.T) {
	cfg, _, err := Load([]string{"--config", writeFile(t, agentFile)}, nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.Agent
	if a.Enrich.Datacenter != "dc-east-1" || a.Enrich.Node != "${NODE_NAME}" || len(a.Enrich.Rules) != 1 {
		t.Errorf("enrich = %+v", a.Enrich)
	}
	if a.Sampling.Mode != sample.ModeHashSeed || a.Sampling.HashSeed != 22 || a.Sampling.SamplingPercentage != 1 || a.Sampling.Services["checkout"] != 10 {
		t.Errorf("sampling = %+v", a.Sampling)
	}
	if a.Sampling.SamplingPrecision != 4 {
		t.Errorf("default lost: sampling_precision = %d", a.Sampling.SamplingPrecision)
	}
	if a.Batch.MaxSpans != 4096 || a.Batch.Timeout != time.Second || a.Batch.MemoryLimitBytes != 64<<20 {
		t.Errorf("batch = %+v", a.Batch)
	}
	if a.Queue.CapacityBytes != 512<<20 || a.Queue.FullPolicy != queue.Refuse || a.Queue.AckSyncInterval != time.Second {
		t.Errorf("queue = %+v", a.Queue)
	}
	if len(a.Exporters) != 2 {
		t.Fatalf("exporters = %+v", a.Exporters)
	}
	w, v := a.Exporters[0], a.Exporters[1]
	if w.Name != "waymark" || w.Endpoint != "waymark-server:4317" || !w.TLS.Insecure || w.Protocol != otlp.ProtocolGRPC || w.Compression != "gzip" || w.Workers != 2 {
		t.Errorf("exporter 0 = %+v", w)
	}
	if v.Protocol != otlp.ProtocolHTTP || v.Headers["authorization"] != "Bearer token" || v.TLS.Insecure ||
		v.Retry.MaxInterval != 10*time.Second || v.Retry.InitialInterval != time.Second || v.Retry.RandomizationFactor != 0.5 {
		t.Errorf("exporter 1 = %+v", v)
	}
	if got := cfg.QueueDir("vendor"); !strings.HasSuffix(got, "queues/vendor") || !strings.HasPrefix(got, "waymark-data") {
		t.Errorf("QueueDir = %q", got)
	}
	if cfg.AgentAdminPort() != DefaultAgentAdminPort {
		t.Errorf("AgentAdminPort = %d", cfg.AgentAdminPort())
	}
}

func TestAgentDefaults(t *testing.T) {
	cfg := Default()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ex := cfg.Agent.Exporters
	if len(ex) != 1 || ex[0].Name != "default" || ex[0].Endpoint != "localhost:4317" || !ex[0].TLS.Insecure {
		t.Errorf("default exporters = %+v", ex)
	}
	if cfg.Agent.Sampling.SamplingPercentage != 100 {
		t.Errorf("default sampling keeps %v%%", cfg.Agent.Sampling.SamplingPercentage)
	}
	cfg.Listen.AdminPort = 9000
	if cfg.AgentAdminPort() != 9000 {
		t.Errorf("AgentAdminPort ignores listen.admin_port: %d", cfg.AgentAdminPort())
	}
}

func TestAgentFlagsAndEnv(t *testing.T) {
	cfg, _, err := Load([]string{
		"--agent.sampling.sampling_percentage=2.5",
		"--agent.batch.timeout=750ms",
		"--agent.sampling.services=checkout=5, search=0.5",
		"--agent.enrich.attributes=team=payments",
	}, []string{
		"WAYMARK_AGENT_ENRICH_DATACENTER=dc-west",
		"WAYMARK_AGENT_QUEUE_ACK_SYNC_INTERVAL=2",
		"WAYMARK_AGENT_SAMPLING_HASH_SEED=7",
		"WAYMARK_AGENT_SAMPLING_MODE=hash_seed",
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.Agent
	if a.Sampling.SamplingPercentage != 2.5 || a.Sampling.HashSeed != 7 || a.Sampling.Mode != sample.ModeHashSeed {
		t.Errorf("sampling = %+v", a.Sampling)
	}
	if want := map[string]float64{"checkout": 5, "search": 0.5}; !reflect.DeepEqual(a.Sampling.Services, want) {
		t.Errorf("services = %v, want %v", a.Sampling.Services, want)
	}
	if a.Batch.Timeout != 750*time.Millisecond || a.Queue.AckSyncInterval != 2*time.Second {
		t.Errorf("durations: batch.timeout %s, queue.ack_sync_interval %s", a.Batch.Timeout, a.Queue.AckSyncInterval)
	}
	if a.Enrich.Datacenter != "dc-west" || a.Enrich.Attributes["team"] != "payments" {
		t.Errorf("enrich = %+v", a.Enrich)
	}
}

func TestAgentListsAreFileOnly(t *testing.T) {
	cfg := Default()
	for _, k := range Keys(&cfg) {
		for _, list := range []string{"agent.exporters", "agent.enrich.rules", "agent.sampling.attributes"} {
			if strings.HasPrefix(k.Path, list) {
				t.Errorf("list %s has a flag: %s", list, k.Path)
			}
		}
	}
	_, _, err := Load(nil, []string{"WAYMARK_AGENT_EXPORTERS=x"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "WAYMARK_AGENT_EXPORTERS") {
		t.Errorf("env for a list: err = %v", err)
	}
}

func TestAgentConfigRefusesBadInput(t *testing.T) {
	cases := []struct {
		name string
		args []string
		file string
		want []string
	}{
		{name: "unknown exporter key", file: "agent:\n  exporters:\n    - name: a\n      endpoint: x:1\n      endpont: y\n", want: []string{"endpont"}},
		{name: "exporter without endpoint", file: "agent:\n  exporters:\n    - name: a\n", want: []string{"agent.exporters[0].endpoint"}},
		{name: "exporter without name", file: "agent:\n  exporters:\n    - endpoint: x:1\n", want: []string{"agent.exporters[0].name"}},
		{name: "exporter name with a slash", file: "agent:\n  exporters:\n    - name: ../x\n      endpoint: x:1\n", want: []string{"agent.exporters[0].name"}},
		{name: "duplicate exporter names", file: "agent:\n  exporters:\n    - {name: a, endpoint: 'x:1'}\n    - {name: A, endpoint: 'y:1'}\n", want: []string{"agent.exporters[1].name"}},
		{name: "no exporters", file: "agent:\n  exporters: []\n", want: []string{"agent.exporters: at least one"}},
		{name: "bad http endpoint", file: "agent:\n  exporters:\n    - {name: a, protocol: http, endpoint: 'x:1'}\n", want: []string{"agent.exporters[0].endpoint"}},
		{name: "bad sampling mode", args: []string{"--agent.sampling.mode=always"}, want: []string{"agent.sampling.mode"}},
		{name: "several errors at once", args: []string{"--agent.sampling.sampling_percentage=101", "--agent.batch.max_spans=-1", "--agent.queue.full_policy=block"},
			want: []string{"agent.sampling.sampling_percentage", "agent.batch.max_spans", "agent.queue.full_policy"}},
		{name: "bad enrich rule", file: "agent:\n  enrich:\n    rules:\n      - {action: rename, key: a}\n", want: []string{"agent.enrich.rules[0].new_key"}},
		{name: "bad duration flag", args: []string{"--agent.batch.timeout=soon"}, want: []string{"agent.batch.timeout", "not a duration"}},
		{name: "bad map value", args: []string{"--agent.sampling.services=checkout=lots"}, want: []string{"agent.sampling.services", "checkout"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.file != "" {
				args = append([]string{"--config", writeFile(t, tc.file)}, args...)
			}
			_, _, err := Load(args, nil, io.Discard)
			if err == nil {
				t.Fatalf("accepted; want an error mentioning %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// The example agent.yaml in docs/agent.md is a valid configuration.
func TestDocsAgentExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/agent.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "## Example `agent.yaml`")
	if !ok {
		t.Fatal("docs/agent.md has no example section")
	}
	_, rest, ok = strings.Cut(rest, "```yaml\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("the example section has no yaml block")
	}
	cfg, err := CheckFile(writeFile(t, example))
	if err != nil {
		t.Fatalf("the documented example is invalid: %v", err)
	}
	a := cfg.Agent
	if a.Sampling.Mode != sample.ModeHashSeed || a.Sampling.SamplingPercentage != 1 || len(a.Exporters) != 2 || a.Enrich.Datacenter == "" {
		t.Errorf("example does not configure what the docs say: %+v", a)
	}
}
