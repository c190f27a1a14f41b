package sample

import (
	"errors"
	"fmt"
	"strings"
)

// maxOTelValueLength bounds the value of the "ot" tracestate member.
const maxOTelValueLength = 256

// maxTraceStateMembers is the W3C limit on tracestate list members.
const maxTraceStateMembers = 32

// ErrTraceState reports a tracestate that is not valid W3C syntax or whose
// "ot" member is malformed.
var ErrTraceState = errors.New("invalid tracestate")

// TraceState is a parsed W3C tracestate with its OpenTelemetry ("ot")
// member decoded. Members other than "ot", and "ot" sub-keys other than
// "rv" and "th", are kept verbatim and in order.
type TraceState struct {
	// RV is the explicit randomness ("rv"), valid when HasRV.
	RV Randomness
	// HasRV says the tracestate carries "rv".
	HasRV bool
	// TH is the rejection threshold ("th"), valid when HasTH.
	TH Threshold
	// HasTH says the tracestate carries "th".
	HasTH bool

	otExtra string // other "ot" sub-keys, ';'-separated
	before  string // members before "ot", ','-separated
	after   string // members after "ot", ','-separated
}

// ParseTraceState parses a W3C tracestate header value. The empty string is
// a valid, empty tracestate. Errors wrap ErrTraceState.
func ParseTraceState(s string) (TraceState, error) {
	var ts TraceState
	if s == "" {
		return ts, nil
	}
	members := 0
	otFound := false
	rest := s
	pos := 0
	for {
		var member string
		comma := strings.IndexByte(rest, ',')
		if comma < 0 {
			member = rest
		} else {
			member = rest[:comma]
		}
		key, value, err := splitMember(member)
		if err != nil {
			return TraceState{}, err
		}
		if key != "" {
			members++
			if members > maxTraceStateMembers {
				return TraceState{}, fmt.Errorf("%w: more than %d members", ErrTraceState, maxTraceStateMembers)
			}
		}
		if key == "ot" {
			if otFound {
				return TraceState{}, fmt.Errorf("%w: duplicate ot member", ErrTraceState)
			}
			otFound = true
			if err := ts.parseOTel(value); err != nil {
				return TraceState{}, err
			}
			ts.before = strings.TrimSuffix(s[:pos], ",")
			if comma >= 0 {
				ts.after = rest[comma+1:]
			}
		}
		if comma < 0 {
			break
		}
		pos += comma + 1
		rest = rest[comma+1:]
	}
	if !otFound {
		ts.before = s
	}
	return ts, nil
}

// splitMember splits one list member into key and value after trimming
// optional whitespace. An empty member yields an empty key.
func splitMember(m string) (key, value string, err error) {
	m = strings.Trim(m, " \t")
	if m == "" {
		return "", "", nil
	}
	eq := strings.IndexByte(m, '=')
	if eq <= 0 {
		return "", "", fmt.Errorf("%w: member %q is not key=value", ErrTraceState, m)
	}
	key, value = m[:eq], m[eq+1:]
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '*' || c == '/' || c == '@') {
			return "", "", fmt.Errorf("%w: key %q has character %q", ErrTraceState, key, c)
		}
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < 0x20 || c > 0x7e || c == ',' || c == '=' {
			return "", "", fmt.Errorf("%w: value of %q has character %q", ErrTraceState, key, c)
		}
	}
	return key, value, nil
}

// parseOTel decodes the value of the "ot" member: key:value pairs separated
// by ';', keys lowercase alphanumeric starting with a letter, in any order.
func (ts *TraceState) parseOTel(v string) error {
	if len(v) > maxOTelValueLength {
		return fmt.Errorf("%w: ot value longer than %d characters", ErrTraceState, maxOTelValueLength)
	}
	extraStart, extraEnd := -1, -1
	var extra []byte
	for off := 0; off <= len(v); {
		end := strings.IndexByte(v[off:], ';')
		if end < 0 {
			end = len(v)
		} else {
			end += off
		}
		kv := v[off:end]
		colon := strings.IndexByte(kv, ':')
		if colon <= 0 || !validOTelKey(kv[:colon]) || !validOTelValue(kv[colon+1:]) {
			return fmt.Errorf("%w: ot sub-key %q is malformed", ErrTraceState, kv)
		}
		key, val := kv[:colon], kv[colon+1:]
		switch key {
		case "rv":
			if ts.HasRV {
				return fmt.Errorf("%w: duplicate ot rv", ErrTraceState)
			}
			r, err := ParseRandomness(val)
			if err != nil {
				return fmt.Errorf("%w: %w", ErrTraceState, err)
			}
			ts.RV, ts.HasRV = r, true
		case "th":
			if ts.HasTH {
				return fmt.Errorf("%w: duplicate ot th", ErrTraceState)
			}
			t, err := ParseThreshold(val)
			if err != nil {
				return fmt.Errorf("%w: %w", ErrTraceState, err)
			}
			ts.TH, ts.HasTH = t, true
		default:
			// Keep extras as one substring while they are contiguous, the
			// common case; copy them only when rv or th sits in between.
			switch {
			case extraStart < 0:
				extraStart, extraEnd = off, end
			case extra == nil && extraEnd == off-1:
				extraEnd = end
			default:
				if extra == nil {
					extra = append(extra, v[extraStart:extraEnd]...)
				}
				extra = append(append(extra, ';'), kv...)
			}
		}
		off = end + 1
	}
	switch {
	case extra != nil:
		ts.otExtra = string(extra)
	case extraStart >= 0:
		ts.otExtra = v[extraStart:extraEnd]
	}
	return nil
}

func validOTelKey(k string) bool {
	if k == "" || k[0] < 'a' || k[0] > 'z' {
		return false
	}
	for i := 1; i < len(k); i++ {
		if c := k[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func validOTelValue(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// AppendTo appends the tracestate encoding of ts: the "ot" member first (as
// W3C asks of a modified member), its sub-keys in the order rv, th, others,
// then the other members as received.
func (ts *TraceState) AppendTo(dst []byte) []byte {
	start := len(dst)
	if ts.HasRV || ts.HasTH || ts.otExtra != "" {
		dst = append(dst, "ot="...)
		sep := false
		if ts.HasRV {
			dst = ts.RV.AppendRandomness(append(dst, "rv:"...))
			sep = true
		}
		if ts.HasTH {
			if sep {
				dst = append(dst, ';')
			}
			dst = ts.TH.AppendThreshold(append(dst, "th:"...))
			sep = true
		}
		if ts.otExtra != "" {
			if sep {
				dst = append(dst, ';')
			}
			dst = append(dst, ts.otExtra...)
		}
	}
	for _, part := range [2]string{ts.before, ts.after} {
		if part == "" {
			continue
		}
		if len(dst) > start {
			dst = append(dst, ',')
		}
		dst = append(dst, part...)
	}
	return dst
}

// String returns the tracestate encoding of ts.
func (ts *TraceState) String() string {
	var buf [128]byte
	return string(ts.AppendTo(buf[:0]))
}
