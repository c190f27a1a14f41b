package sample

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// Mode selects the sampling algorithm.
type Mode string

// Sampling modes.
const (
	// ModeEqualizing keeps a span iff R >= T, where T is the configured
	// threshold, unless the span arrives already sampled at a lower
	// probability, in which case it passes unchanged.
	ModeEqualizing Mode = "equalizing"
	// ModeProportional multiplies the configured probability with the one a
	// span arrives with, so the effective probabilities compose.
	ModeProportional Mode = "proportional"
	// ModeHashSeed reproduces the Collector's probabilistic_sampler
	// hash_seed decision; spans that arrive with "rv" or "th" are sampled as
	// in ModeEqualizing instead of being dropped.
	ModeHashSeed Mode = "hash_seed"
)

// Config configures a Sampler.
type Config struct {
	// Mode is the algorithm; empty means equalizing.
	Mode Mode `yaml:"mode"`
	// SamplingPercentage is the default percentage of traces kept, 0 to
	// 100. Zero drops every span that sampling.priority does not force.
	SamplingPercentage float64 `yaml:"sampling_percentage"`
	// HashSeed is the FNV seed of hash_seed mode; zero is the Collector's
	// default. It is an error outside hash_seed mode only if non-zero.
	HashSeed uint32 `yaml:"hash_seed"`
	// SamplingPrecision is the number of significant hex digits of the
	// thresholds written in "th", 1 to 14; zero means 4.
	SamplingPrecision int `yaml:"sampling_precision"`
	// UpstreamSDKRatio declares that senders already sample with an SDK
	// TraceIDRatioBased sampler of this ratio (Go and Python rule), which
	// writes no "th". Spans arriving without "th" and "rv" are then treated
	// as sampled at that ratio and decided with randomness nested in the
	// SDK's choice, so the two stages do not multiply. Zero means senders
	// do not sample (or write "th" themselves). Not allowed in hash_seed mode.
	UpstreamSDKRatio float64 `yaml:"upstream_sdk_ratio"`
	// Services maps a service.name to the percentage kept for its spans,
	// overriding SamplingPercentage. Nil means no per-service rates.
	Services map[string]float64 `yaml:"services"`
	// Attributes gives percentages for spans carrying an attribute value;
	// the first matching rule wins and overrides Services. Nil means none.
	Attributes []AttributeRate `yaml:"attributes"`
}

// AttributeRate sets the percentage of spans whose span attribute (or, if
// the span has none of that key, resource attribute) Key has the text form
// Value.
type AttributeRate struct {
	// Key is the attribute key; it must not be empty.
	Key string `yaml:"key"`
	// Value is compared with the attribute's text form (ints in decimal).
	Value string `yaml:"value"`
	// SamplingPercentage is the percentage kept, 0 to 100.
	SamplingPercentage float64 `yaml:"sampling_percentage"`
}

// DefaultConfig keeps every trace in equalizing mode, which still passes
// on the thresholds upstream samplers wrote.
func DefaultConfig() Config {
	return Config{Mode: ModeEqualizing, SamplingPercentage: 100, SamplingPrecision: 4}
}

// Validate reports every invalid field by its YAML key. It changes nothing.
func (c Config) Validate() error {
	var errs []error
	switch c.Mode {
	case "", ModeEqualizing, ModeProportional, ModeHashSeed:
	default:
		errs = append(errs, fmt.Errorf("mode: %q is not one of equalizing, proportional, hash_seed", c.Mode))
	}
	errs = appendPercentageError(errs, "sampling_percentage", c.SamplingPercentage)
	if c.HashSeed != 0 && c.Mode != ModeHashSeed {
		errs = append(errs, fmt.Errorf("hash_seed: set but mode is %q, not hash_seed", c.mode()))
	}
	if c.SamplingPrecision < 0 || c.SamplingPrecision > numHexDigits {
		errs = append(errs, fmt.Errorf("sampling_precision: %d is not between 1 and %d", c.SamplingPrecision, numHexDigits))
	}
	if r := c.UpstreamSDKRatio; math.IsNaN(r) || r < 0 || r > 1 {
		errs = append(errs, fmt.Errorf("upstream_sdk_ratio: %v is not between 0 and 1", r))
	} else if r > 0 && c.Mode == ModeHashSeed {
		errs = append(errs, errors.New("upstream_sdk_ratio: not supported in hash_seed mode"))
	}
	names := make([]string, 0, len(c.Services))
	for name := range c.Services {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		errs = appendPercentageError(errs, fmt.Sprintf("services.%s", name), c.Services[name])
	}
	for i, r := range c.Attributes {
		if r.Key == "" {
			errs = append(errs, fmt.Errorf("attributes[%d].key: empty", i))
		}
		errs = appendPercentageError(errs, fmt.Sprintf("attributes[%d].sampling_percentage", i), r.SamplingPercentage)
	}
	return errors.Join(errs...)
}

func appendPercentageError(errs []error, key string, pct float64) []error {
	if math.IsNaN(pct) || pct < 0 || pct > 100 {
		return append(errs, fmt.Errorf("%s: %v is not between 0 and 100", key, pct))
	}
	return errs
}

func (c Config) mode() Mode {
	if c.Mode == "" {
		return ModeEqualizing
	}
	return c.Mode
}

func (c Config) precision() int {
	if c.SamplingPrecision == 0 {
		return 4
	}
	return c.SamplingPrecision
}
