package sample

import (
	"math"
	"testing"

	"waymark/internal/testkit"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string // substrings of the error; none means valid
	}{
		{"default", DefaultConfig(), nil},
		{"zero value", Config{}, nil},
		{"hash seed", Config{Mode: ModeHashSeed, HashSeed: 42, SamplingPercentage: 1}, nil},
		{"every bad field", Config{
			Mode:               "random",
			SamplingPercentage: 101,
			HashSeed:           1,
			SamplingPrecision:  15,
			UpstreamSDKRatio:   2,
			Services:           map[string]float64{"cart": -1},
			Attributes:         []AttributeRate{{Key: "", SamplingPercentage: math.NaN()}},
		}, []string{"mode:", "sampling_percentage: 101", "hash_seed:", "sampling_precision:", "upstream_sdk_ratio:",
			"services.cart:", "attributes[0].key:", "attributes[0].sampling_percentage:"}},
		{"upstream with hash_seed", Config{Mode: ModeHashSeed, UpstreamSDKRatio: 0.5}, []string{"upstream_sdk_ratio: not supported"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.cfg
			testkit.WantErrors(t, tt.cfg.Validate(), tt.want...)
			if before.Mode != tt.cfg.Mode || before.SamplingPercentage != tt.cfg.SamplingPercentage {
				t.Error("Validate changed the config")
			}
		})
	}
}
