package config

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"waymark/internal/export/otlp"
	"waymark/internal/process/batch"
	"waymark/internal/process/enrich"
	"waymark/internal/process/sample"
	"waymark/internal/queue"
)

// DefaultAgentAdminPort is the port of the agent's /metrics and /ready when
// listen.admin_port is 0: the agent always serves them, having no query port.
const DefaultAgentAdminPort = 13133

// QueuesDir is the directory under data_dir that holds one queue directory
// per exporter, named after it.
const QueuesDir = "queues"

// AgentConfig configures the agent role's pipeline: receivers feed enrich,
// then sample, then batch, and every batch is written to the durable queue
// of each exporter.
type AgentConfig struct {
	// Enrich adds resource attributes and applies attribute rules.
	Enrich enrich.Config `yaml:"enrich"`
	// Sampling is the consistent probabilistic head sampler.
	Sampling sample.Config `yaml:"sampling"`
	// Batch merges concurrent requests and bounds the memory they hold.
	Batch batch.Config `yaml:"batch"`
	// Queue configures each exporter's durable queue; every exporter gets
	// a queue of its own with these settings, in data_dir/queues/<name>.
	Queue queue.Config `yaml:"queue"`
	// Exporters are the backends every kept span is sent to, each
	// independently. Settable only in the YAML file (a list has no flag
	// form).
	Exporters []ExporterConfig `yaml:"exporters"`
}

// ExporterConfig is one named OTLP backend of the agent.
type ExporterConfig struct {
	// Name identifies the exporter in metrics ("exporter" label), logs and
	// its queue directory: letters, digits, "-" and "_".
	Name string `yaml:"name"`
	// Config is how to reach the backend.
	otlp.Config `yaml:",inline"`
}

// exporterFields is ExporterConfig without its YAML method.
type exporterFields ExporterConfig

// ListedExporterDefaults is what a listed exporter starts from before its
// YAML keys apply: otlp.DefaultConfig with no endpoint (it must be given)
// and TLS on (set tls.insecure for plaintext gRPC; for http the URL's
// scheme decides).
func ListedExporterDefaults() otlp.Config {
	c := otlp.DefaultConfig()
	c.Endpoint = ""
	c.TLS.Insecure = false
	return c
}

// UnmarshalYAML decodes one list entry over ListedExporterDefaults,
// refusing unknown keys.
func (e *ExporterConfig) UnmarshalYAML(n *yaml.Node) error {
	data, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	f := exporterFields{Config: ListedExporterDefaults()}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return fmt.Errorf("exporter at line %d: %w", n.Line, err)
	}
	*e = ExporterConfig(f)
	return nil
}

// DefaultAgent returns the agent defaults: nothing added but the
// authorization and cookie headers deleted, every trace kept, 8192-span
// batches, a 1 GiB queue that drops its oldest data when full, and one
// exporter named "default" sending plaintext OTLP/gRPC to localhost:4317.
func DefaultAgent() AgentConfig {
	return AgentConfig{
		Enrich:    enrich.DefaultConfig(),
		Sampling:  sample.DefaultConfig(),
		Batch:     batch.DefaultConfig(),
		Queue:     queue.DefaultConfig(),
		Exporters: []ExporterConfig{{Name: "default", Config: otlp.DefaultConfig()}},
	}
}

// QueueDir returns the queue directory of the exporter named name.
func (c *Config) QueueDir(name string) string {
	return filepath.Join(c.DataDir, QueuesDir, name)
}

// AgentAdminPort returns the port of the agent's /metrics and /ready.
func (c *Config) AgentAdminPort() int {
	if c.Listen.AdminPort == 0 {
		return DefaultAgentAdminPort
	}
	return c.Listen.AdminPort
}

var exporterName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// validate reports every invalid agent setting, each with its full key.
func (a *AgentConfig) validate() []error {
	var errs []error
	errs = appendPrefixed(errs, "agent.enrich", a.Enrich.Validate())
	errs = appendPrefixed(errs, "agent.sampling", a.Sampling.Validate())
	errs = appendPrefixed(errs, "agent.batch", a.Batch.Validate())
	errs = appendPrefixed(errs, "agent.queue", a.Queue.Validate())
	if len(a.Exporters) == 0 {
		errs = append(errs, errors.New("agent.exporters: at least one exporter is needed"))
	}
	seen := map[string]bool{}
	for i, e := range a.Exporters {
		key := fmt.Sprintf("agent.exporters[%d]", i)
		switch {
		case !exporterName.MatchString(e.Name):
			errs = append(errs, fmt.Errorf("%s.name: %q must be 1 to 64 letters, digits, '-' or '_'", key, e.Name))
		case seen[strings.ToLower(e.Name)]:
			errs = append(errs, fmt.Errorf("%s.name: %q is used by another exporter", key, e.Name))
		}
		seen[strings.ToLower(e.Name)] = true
		errs = appendPrefixed(errs, key, e.Config.Validate())
	}
	return errs
}

// appendPrefixed appends each error joined in err with "prefix." before it,
// so a stage's "max_spans: ..." reads "agent.batch.max_spans: ...".
func appendPrefixed(errs []error, prefix string, err error) []error {
	if err == nil {
		return errs
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			errs = appendPrefixed(errs, prefix, e)
		}
		return errs
	}
	return append(errs, fmt.Errorf("%s.%w", prefix, err))
}
