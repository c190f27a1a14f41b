package sample

import (
	"errors"
	"fmt"
	"math"

	"waymark/internal/model"
)

// MaxThreshold is 2^56, the rejection threshold that keeps nothing. It has
// no tracestate encoding: a kept span always carries a threshold below it.
const MaxThreshold Threshold = 1 << 56

// randomnessMask keeps the low 56 bits of a value.
const randomnessMask = 1<<56 - 1

// numHexDigits is the number of hex digits of a 56-bit threshold or randomness.
const numHexDigits = 14

// ErrProbability reports a sampling probability outside (0, 1].
var ErrProbability = errors.New("sampling probability out of range (0, 1]")

// Threshold is an OTEP 235 rejection threshold T in [0, 2^56]: a span with
// randomness R is kept iff R >= T, so T = 0 keeps everything and the
// sampling probability is (2^56 - T) / 2^56.
type Threshold uint64

// Randomness is the 56-bit random value R an OTEP 235 decision compares with
// a Threshold.
type Randomness uint64

// RandomnessFromTraceID returns the default randomness of a trace: the low 56
// bits (the last 7 bytes) of its ID.
func RandomnessFromTraceID(id model.TraceID) Randomness {
	return Randomness(id.Low64() & randomnessMask)
}

// ShouldKeep reports whether a span with randomness r passes threshold t.
func (t Threshold) ShouldKeep(r Randomness) bool { return uint64(r) >= uint64(t) }

// Probability returns the sampling probability t stands for.
func (t Threshold) Probability() float64 {
	if t >= MaxThreshold {
		return 0
	}
	return float64(MaxThreshold-t) / float64(MaxThreshold)
}

// AdjustedCount returns 1/p, how many spans a span kept at t represents.
// It is 0 for MaxThreshold.
func (t Threshold) AdjustedCount() float64 {
	if t >= MaxThreshold {
		return 0
	}
	return float64(MaxThreshold) / float64(MaxThreshold-t)
}

// ProbabilityToThreshold converts a probability in (0, 1] to a threshold
// rounded to precision significant hex digits (1 to 14; 0 means 14). As the
// Collector's pkg/sampling does, one digit of precision is added for each
// leading 0 of p or leading f of 1-p, so small and large probabilities keep
// their meaning: 1 % at precision 4 is "fd70a".
func ProbabilityToThreshold(p float64, precision int) (Threshold, error) {
	if !(p > 0 && p <= 1) {
		return 0, fmt.Errorf("%w: %v", ErrProbability, p)
	}
	if p == 1 {
		return 0, nil
	}
	if precision <= 0 || precision > numHexDigits {
		precision = numHexDigits
	}
	scaled := uint64(math.Round(p * float64(MaxThreshold)))
	if scaled == 0 {
		scaled = 1 // the smallest probability a threshold can express
	}
	t := uint64(MaxThreshold) - scaled
	_, expF := math.Frexp(p)
	_, expR := math.Frexp(1 - p)
	precision += max(-expF/4, -expR/4)
	if precision >= numHexDigits {
		return Threshold(t), nil
	}
	shift := 4 * uint(numHexDigits-precision)
	t += 1 << (shift - 1)
	t = t >> shift << shift
	if t >= uint64(MaxThreshold) {
		// Rounding up would reject everything; keep the largest
		// threshold this precision can write.
		t = (uint64(MaxThreshold) - 1) >> shift << shift
	}
	return Threshold(t), nil
}

// ParseThreshold decodes a "th" value: 1 to 14 hex digits, the most
// significant first, trailing zeros omitted.
func ParseThreshold(s string) (Threshold, error) {
	if len(s) == 0 || len(s) > numHexDigits {
		return 0, fmt.Errorf("threshold %q: must be 1 to %d hex digits", s, numHexDigits)
	}
	v, ok := parseHex(s)
	if !ok {
		return 0, fmt.Errorf("threshold %q: not hex", s)
	}
	return Threshold(v << (4 * uint(numHexDigits-len(s)))), nil
}

// ParseRandomness decodes an "rv" value: exactly 14 hex digits.
func ParseRandomness(s string) (Randomness, error) {
	if len(s) != numHexDigits {
		return 0, fmt.Errorf("randomness %q: must be %d hex digits", s, numHexDigits)
	}
	v, ok := parseHex(s)
	if !ok {
		return 0, fmt.Errorf("randomness %q: not hex", s)
	}
	return Randomness(v), nil
}

// AppendThreshold appends the "th" encoding of t: 14 lowercase hex digits
// with trailing zeros removed, "0" for T = 0. t must be below MaxThreshold.
func (t Threshold) AppendThreshold(dst []byte) []byte {
	if t == 0 {
		return append(dst, '0')
	}
	start := len(dst)
	dst = appendHex56(dst, uint64(t))
	end := len(dst)
	for end > start+1 && dst[end-1] == '0' {
		end--
	}
	return dst[:end]
}

// String returns the "th" encoding of t.
func (t Threshold) String() string {
	if t >= MaxThreshold {
		return "never"
	}
	var buf [numHexDigits]byte
	return string(t.AppendThreshold(buf[:0]))
}

// AppendRandomness appends the "rv" encoding of r: 14 lowercase hex digits.
func (r Randomness) AppendRandomness(dst []byte) []byte {
	return appendHex56(dst, uint64(r)&randomnessMask)
}

// String returns the "rv" encoding of r.
func (r Randomness) String() string {
	var buf [numHexDigits]byte
	return string(r.AppendRandomness(buf[:0]))
}

const hexDigits = "0123456789abcdef"

func appendHex56(dst []byte, v uint64) []byte {
	for shift := 52; shift >= 0; shift -= 4 {
		dst = append(dst, hexDigits[(v>>uint(shift))&0xf])
	}
	return dst
}

// parseHex decodes up to 16 hex digits of either case.
func parseHex(s string) (uint64, bool) {
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint64(d)
	}
	return v, true
}

// AdjustedCount returns the adjusted count (1/p) a span's tracestate
// carries in its "th" value; ok is false when there is no valid "th".
func AdjustedCount(traceState string) (count float64, ok bool) {
	ts, err := ParseTraceState(traceState)
	if err != nil || !ts.HasTH {
		return 0, false
	}
	return ts.TH.AdjustedCount(), true
}
