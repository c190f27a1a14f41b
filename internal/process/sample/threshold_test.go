package sample

import (
	"errors"
	"math"
	"testing"

	"waymark/internal/model"
)

func mustTraceID(t testing.TB, s string) model.TraceID {
	t.Helper()
	id, err := model.ParseTraceID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// Vectors from the reference: OTEP 235 thresholds at precision 4.
func TestProbabilityToThreshold(t *testing.T) {
	tests := []struct {
		name      string
		p         float64
		precision int
		want      string
	}{
		{"100%", 1, 4, "0"},
		{"50%", 0.5, 4, "8"},
		{"25%", 0.25, 4, "c"},
		{"10%", 0.1, 4, "e666"},
		{"2/3", 2.0 / 3, 4, "5555"},
		{"1%", 0.01, 4, "fd70a"},
		{"0.1%", 0.001, 4, "ffbe77"},
		{"0.01%", 0.0001, 4, "fff9724"},
		{"1/256", 1.0 / 256, 4, "ff"},
		{"1% precision 3", 0.01, 3, "fd71"},
		{"1% precision 5", 0.01, 5, "fd70a4"},
		{"full precision", 0.5, 14, "8"},
		{"smallest", math.Ldexp(1, -56), 4, "ffffffffffffff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th, err := ProbabilityToThreshold(tt.p, tt.precision)
			if err != nil {
				t.Fatal(err)
			}
			if got := th.String(); got != tt.want {
				t.Errorf("threshold of %v = %q, want %q", tt.p, got, tt.want)
			}
		})
	}
}

func TestProbabilityToThresholdRange(t *testing.T) {
	for _, p := range []float64{0, -0.5, 1.0001, math.NaN(), math.Inf(1)} {
		if _, err := ProbabilityToThreshold(p, 4); !errors.Is(err, ErrProbability) {
			t.Errorf("ProbabilityToThreshold(%v) error = %v, want ErrProbability", p, err)
		}
	}
}

func TestParseThreshold(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Threshold
		wantErr bool
	}{
		{"zero", "0", 0, false},
		{"half", "8", 1 << 55, false},
		{"uppercase", "C", 3 << 54, false},
		{"full width", "ffffffffffffff", 1<<56 - 1, false},
		{"empty", "", 0, true},
		{"too long", "fffffffffffffff", 0, true},
		{"not hex", "8g", 0, true},
		{"sign", "+8", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseThreshold(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseThreshold(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParseThreshold(%q) = %x, want %x", tt.in, uint64(got), uint64(tt.want))
			}
		})
	}
}

func TestAdjustedCount(t *testing.T) {
	tests := []struct {
		th   string
		want float64
	}{
		{"0", 1},
		{"8", 2},
		{"c", 4},
		{"fd70a4", 100},
	}
	for _, tt := range tests {
		t.Run(tt.th, func(t *testing.T) {
			th, err := ParseThreshold(tt.th)
			if err != nil {
				t.Fatal(err)
			}
			if got := th.AdjustedCount(); math.Abs(got-tt.want) > 0.01 {
				t.Errorf("adjusted count of th:%s = %v, want ~%v", tt.th, got, tt.want)
			}
		})
	}
	for _, tt := range []struct {
		ts   string
		want float64
		ok   bool
	}{
		{"ot=rv:fdc80d0b42008d;th:fd74,rojo=1", 16384.0 / 163, true},
		{"ot=th:8", 2, true},
		{"", 0, false},
		{"ot=rv:fdc80d0b42008d", 0, false},
		{"ot=th:zz", 0, false},
	} {
		got, ok := AdjustedCount(tt.ts)
		if ok != tt.ok || math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("AdjustedCount(%q) = %v, %v; want %v, %v", tt.ts, got, ok, tt.want, tt.ok)
		}
	}
	if got := MaxThreshold.AdjustedCount(); got != 0 {
		t.Errorf("adjusted count of MaxThreshold = %v, want 0", got)
	}
}

// Decision vectors from the reference, R taken from the trace ID.
func TestOTEPDecisionVectors(t *testing.T) {
	tests := []struct {
		traceID     string
		r           string
		keepAt1pct  bool
		keepAt50pct bool
	}{
		{"4bf92f3577b34da6a3ce929d0e0e4736", "ce929d0e0e4736", false, true},
		{"0af7651916cd43dd8448eb211c80319c", "48eb211c80319c", false, false},
		{"00000000000000000000000000000001", "00000000000001", false, false},
		{"ffffffffffffffffffffffffffffffff", "ffffffffffffff", true, true},
	}
	th1, _ := ParseThreshold("fd70a")
	th50, _ := ParseThreshold("8")
	for _, tt := range tests {
		t.Run(tt.traceID, func(t *testing.T) {
			r := RandomnessFromTraceID(mustTraceID(t, tt.traceID))
			if got := r.String(); got != tt.r {
				t.Errorf("R = %s, want %s", got, tt.r)
			}
			if got := th1.ShouldKeep(r); got != tt.keepAt1pct {
				t.Errorf("keep at 1%% = %v, want %v", got, tt.keepAt1pct)
			}
			if got := th50.ShouldKeep(r); got != tt.keepAt50pct {
				t.Errorf("keep at 50%% = %v, want %v", got, tt.keepAt50pct)
			}
		})
	}
}
