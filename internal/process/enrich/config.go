package enrich

import (
	"errors"
	"fmt"
	"sort"
)

// Resource attribute keys the named Config fields fill.
const (
	KeyRegion     = "cloud.region"
	KeyDatacenter = "cloud.availability_zone"
	KeyNode       = "host.name"
	KeyCluster    = "k8s.cluster.name"
)

// Config configures an Enricher. String values may name environment
// variables as ${VAR}, expanded once when the Enricher is built.
type Config struct {
	// Region fills cloud.region; empty adds nothing.
	Region string `yaml:"region"`
	// Datacenter fills cloud.availability_zone; empty adds nothing.
	Datacenter string `yaml:"datacenter"`
	// Node fills host.name; empty adds nothing.
	Node string `yaml:"node"`
	// Cluster fills k8s.cluster.name; empty adds nothing.
	Cluster string `yaml:"cluster"`
	// Attributes are more resource attributes to add when absent. Nil
	// means none.
	Attributes map[string]string `yaml:"attributes"`
	// Rules change span and resource attributes, in order. Nil means none.
	Rules []Rule `yaml:"rules"`
	// HashSalt is prepended to values before the hash action hashes them,
	// so short values such as user IDs cannot be found by hashing
	// guesses. Empty means unsalted.
	HashSalt string `yaml:"hash_salt"`
}

// Actions of a Rule.
const (
	ActionRename = "rename"
	ActionDelete = "delete"
	ActionHash   = "hash"
)

// Scopes a Rule applies to.
const (
	ScopeAll      = "all"
	ScopeSpan     = "span"
	ScopeResource = "resource"
)

// Rule changes one attribute wherever it appears in its scope.
type Rule struct {
	// Action is rename, delete or hash (the value becomes the lowercase
	// hex SHA-256 of the salt followed by its text form).
	Action string `yaml:"action"`
	// Key is the attribute the rule acts on.
	Key string `yaml:"key"`
	// NewKey is the new name for rename; an attribute already there is
	// replaced. Unused by other actions.
	NewKey string `yaml:"new_key"`
	// Scope is span, resource or all; empty means all.
	Scope string `yaml:"scope"`
}

// DefaultConfig adds nothing and drops the authorization and cookie
// request headers that HTTP instrumentation can record.
func DefaultConfig() Config {
	return Config{Rules: []Rule{
		{Action: ActionDelete, Key: "http.request.header.authorization", Scope: ScopeSpan},
		{Action: ActionDelete, Key: "http.request.header.cookie", Scope: ScopeSpan},
	}}
}

// Validate reports every invalid field by its YAML key. It changes nothing.
func (c Config) Validate() error {
	var errs []error
	keys := make([]string, 0, len(c.Attributes))
	for k := range c.Attributes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "" {
			errs = append(errs, errors.New("attributes: empty key"))
		}
	}
	for i, r := range c.Rules {
		if r.Key == "" {
			errs = append(errs, fmt.Errorf("rules[%d].key: empty", i))
		}
		switch r.Action {
		case ActionRename:
			if r.NewKey == "" || r.NewKey == r.Key {
				errs = append(errs, fmt.Errorf("rules[%d].new_key: %q must be set and differ from key", i, r.NewKey))
			}
		case ActionDelete, ActionHash:
			if r.NewKey != "" {
				errs = append(errs, fmt.Errorf("rules[%d].new_key: only rename takes a new key", i))
			}
		default:
			errs = append(errs, fmt.Errorf("rules[%d].action: %q is not rename, delete or hash", i, r.Action))
		}
		switch r.Scope {
		case "", ScopeAll, ScopeSpan, ScopeResource:
		default:
			errs = append(errs, fmt.Errorf("rules[%d].scope: %q is not span, resource or all", i, r.Scope))
		}
	}
	return errors.Join(errs...)
}
