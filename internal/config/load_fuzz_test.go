package config

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary YAML and an arbitrary value for a map, a
// duration and a number key to Load: it must return a configuration or an
// error, never panic, and what it returns must be valid.
func FuzzLoad(f *testing.F) {
	def, err := Marshal(Default())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(def), "checkout=5")
	f.Add(agentFile, "a=1,b=0.5")
	f.Add("agent:\n  exporters:\n    - {name: a, endpoint: 'x:1', retry: {max_interval: 1m}}\n", "=")
	f.Add("agent:\n  exporters: [1, 2]\n", "x")
	f.Add("agent: {batch: {timeout: 5}}\n", ",,=,")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, yaml, value string) {
		p := filepath.Join(dir, "fuzz.yaml")
		if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{"agent.sampling.services", "agent.batch.timeout", "agent.queue.capacity_bytes"} {
			cfg, _, err := Load([]string{"--config", p, "--" + key + "=" + value}, nil, io.Discard)
			if err != nil {
				continue
			}
			if err := cfg.Validate(); err != nil {
				t.Fatalf("Load returned an invalid configuration: %v", err)
			}
		}
	})
}
