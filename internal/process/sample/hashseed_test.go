package sample

import (
	"testing"
)

// Vectors from the reference: the Collector's hash_seed decision.
func TestHashSeedVectors(t *testing.T) {
	tests := []struct {
		traceID     string
		hash0       uint32
		hashed0     uint32
		keepAt1pct  bool
		hash42      uint32
		hashed42    uint32
		keepAt50pct bool
		r0          string // randomness written for the seed 0 hash
	}{
		{"4bf92f3577b34da6a3ce929d0e0e4736", 0x3420408d, 141, true, 0xb4d55eff, 7935, true, "fdc80d0b42008d"},
		{"0af7651916cd43dd8448eb211c80319c", 0x810d5de4, 7652, false, 0x4db9996a, 6506, true, "886c204b10dde4"},
		{"00000000000000000000000000000001", 0xb8fee2c2, 8898, false, 0xf9bc020c, 524, true, "74f42e348fe2c2"},
		{"ffffffffffffffffffffffffffffffff", 0x291a1545, 5445, false, 0x8c4c928f, 4751, true, "aae80a44919545"},
	}
	p1 := newHashSeedPolicy(1)
	p50 := newHashSeedPolicy(50)
	for _, tt := range tests {
		t.Run(tt.traceID, func(t *testing.T) {
			id := mustTraceID(t, tt.traceID)
			h0 := hashTraceID(0, id)
			if h0 != tt.hash0 || h0&bucketMask != tt.hashed0 {
				t.Errorf("seed 0: hash %#x bucket %d, want %#x bucket %d", h0, h0&bucketMask, tt.hash0, tt.hashed0)
			}
			if got := h0&bucketMask < p1.scaled; got != tt.keepAt1pct {
				t.Errorf("seed 0 keep at 1%% = %v, want %v", got, tt.keepAt1pct)
			}
			h42 := hashTraceID(42, id)
			if h42 != tt.hash42 || h42&bucketMask != tt.hashed42 {
				t.Errorf("seed 42: hash %#x bucket %d, want %#x bucket %d", h42, h42&bucketMask, tt.hash42, tt.hashed42)
			}
			if got := h42&bucketMask < p50.scaled; got != tt.keepAt50pct {
				t.Errorf("seed 42 keep at 50%% = %v, want %v", got, tt.keepAt50pct)
			}
			r := hashSeedRandomness(h0)
			if got := r.String(); got != tt.r0 {
				t.Errorf("randomness = %s, want %s", got, tt.r0)
			}
			// R >= T must be exactly the bucket decision.
			if got := p1.threshold.ShouldKeep(r); got != tt.keepAt1pct {
				t.Errorf("R >= T at 1%% = %v, want %v", got, tt.keepAt1pct)
			}
		})
	}
}

func TestHashSeedScaled(t *testing.T) {
	tests := []struct {
		pct    float64
		scaled uint32
		th     string
	}{
		{1, 163, "fd74"},
		{5, 819, ""},
		{10, 1638, ""},
		{25, 4096, "c"},
		{50, 8192, "8"},
		{100, 16384, "0"},
		{0, 0, ""},
	}
	for _, tt := range tests {
		p := newHashSeedPolicy(tt.pct)
		if p.scaled != tt.scaled {
			t.Errorf("scaled(%v%%) = %d, want %d", tt.pct, p.scaled, tt.scaled)
		}
		if tt.th != "" && p.threshold.String() != tt.th {
			t.Errorf("threshold(%v%%) = %s, want %s", tt.pct, p.threshold, tt.th)
		}
	}
}
