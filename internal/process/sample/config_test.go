package sample

import (
	"math"
	"strings"
	"testing"
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
			err := tt.cfg.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate() = nil, want errors")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if before.Mode != tt.cfg.Mode || before.SamplingPercentage != tt.cfg.SamplingPercentage {
				t.Error("Validate changed the config")
			}
		})
	}
}
