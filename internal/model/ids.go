package model

import (
	"encoding/hex"
	"errors"
	"fmt"
)

// TraceID is a 16-byte trace identifier in wire (big-endian) order.
// The all-zero value is invalid.
type TraceID [16]byte

// SpanID is an 8-byte span identifier. The all-zero value means "none".
type SpanID [8]byte

// ErrInvalidID reports an identifier that is not valid hex of an accepted width.
var ErrInvalidID = errors.New("invalid id")

// IsZero reports whether id is all zeros (and so invalid).
func (id TraceID) IsZero() bool { return id == TraceID{} }

// String returns the canonical form: 32 lowercase hex characters.
func (id TraceID) String() string { return hex.EncodeToString(id[:]) }

// AppendHex appends the canonical hex form of id to dst.
func (id TraceID) AppendHex(dst []byte) []byte { return hex.AppendEncode(dst, id[:]) }

// Low64 returns the low (last) 8 bytes of id as a big-endian integer.
func (id TraceID) Low64() uint64 {
	var v uint64
	for _, b := range id[8:] {
		v = v<<8 | uint64(b)
	}
	return v
}

// IsZero reports whether id is all zeros.
func (id SpanID) IsZero() bool { return id == SpanID{} }

// String returns 16 lowercase hex characters.
func (id SpanID) String() string { return hex.EncodeToString(id[:]) }

// AppendHex appends the hex form of id to dst.
func (id SpanID) AppendHex(dst []byte) []byte { return hex.AppendEncode(dst, id[:]) }

// ParseTraceID parses a trace ID written as hex in upper or lower case. It
// accepts 32 characters, 16 characters (a 64-bit ID, zero-padded in its high
// bytes), and IDs whose leading zeros were stripped (as Tempo prints them).
// The all-zero ID is refused.
func ParseTraceID(s string) (TraceID, error) {
	var id TraceID
	if len(s) == 0 || len(s) > 32 {
		return id, fmt.Errorf("%w: trace id %q must be 1 to 32 hex characters", ErrInvalidID, s)
	}
	var buf [32]byte
	pad := 32 - len(s)
	for i := 0; i < pad; i++ {
		buf[i] = '0'
	}
	copy(buf[pad:], s)
	if _, err := hex.Decode(id[:], buf[:]); err != nil {
		return TraceID{}, fmt.Errorf("%w: trace id %q is not hex", ErrInvalidID, s)
	}
	if id.IsZero() {
		return TraceID{}, fmt.Errorf("%w: trace id is all zeros", ErrInvalidID)
	}
	return id, nil
}

// ParseSpanID parses a span ID of 1 to 16 hex characters (left-padded).
func ParseSpanID(s string) (SpanID, error) {
	var id SpanID
	if len(s) == 0 || len(s) > 16 {
		return id, fmt.Errorf("%w: span id %q must be 1 to 16 hex characters", ErrInvalidID, s)
	}
	var buf [16]byte
	pad := 16 - len(s)
	for i := 0; i < pad; i++ {
		buf[i] = '0'
	}
	copy(buf[pad:], s)
	if _, err := hex.Decode(id[:], buf[:]); err != nil {
		return SpanID{}, fmt.Errorf("%w: span id %q is not hex", ErrInvalidID, s)
	}
	return id, nil
}
