package otlp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"waymark/internal/model"
)

// Protobuf wire types.
const (
	wireVarint     = 0
	wireFixed64    = 1
	wireBytes      = 2
	wireStartGroup = 3
	wireEndGroup   = 4
	wireFixed32    = 5
)

var (
	errOverflow      = errors.New("varint overflows 64 bits")
	errUnexpectedEOF = io.ErrUnexpectedEOF
	errGroup         = errors.New("group fields are not supported")
	errTraceIDLength = errors.New("trace id must be 16 bytes")
	errSpanIDLength  = errors.New("span id must be 8 bytes")
)

// reader walks the fields of one protobuf message:
//
//	r := reader{b: msg}
//	for r.next() {
//		switch r.num {
//		case 1:
//			name = r.bytes("name")
//		default:
//			r.skip()
//		}
//	}
//	return r.err
//
// The first error sticks: later reads return zero values and next stops.
// Every read checks bounds and wire type, so no input makes it panic.
type reader struct {
	b   []byte
	pos int
	num int32 // field number of the current field
	wt  int   // wire type of the current field
	err error
}

// next reads the tag of the next field, and reports whether there is one
// and no error occurred.
func (r *reader) next() bool {
	if r.err != nil || r.pos >= len(r.b) {
		return false
	}
	v := r.readVarint()
	r.num, r.wt = int32(v>>3), int(v&7)
	if r.err == nil && r.num <= 0 {
		r.err = fmt.Errorf("illegal field number %d", r.num)
	}
	return r.err == nil
}

// fail records err unless an error is already recorded.
func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// wireType checks that the current field, called name, has wire type wt.
func (r *reader) wireType(wt int, name string) bool {
	if r.wt != wt {
		r.fail(fmt.Errorf("field %s has wire type %d", name, r.wt))
		return false
	}
	return r.err == nil
}

// readVarint reads a base-128 varint.
func (r *reader) readVarint() uint64 {
	b, pos := r.b, r.pos
	if pos < len(b) && b[pos] < 0x80 {
		r.pos = pos + 1
		return uint64(b[pos])
	}
	var v uint64
	for shift := uint(0); ; shift += 7 {
		if shift >= 64 {
			r.fail(errOverflow)
			return 0
		}
		if pos >= len(b) {
			r.fail(errUnexpectedEOF)
			return 0
		}
		c := b[pos]
		pos++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			break
		}
	}
	r.pos = pos
	return v
}

// readBytes reads a length and that many bytes, which alias the message.
func (r *reader) readBytes() []byte {
	n := r.readVarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)-r.pos) {
		r.fail(errUnexpectedEOF)
		return nil
	}
	start := r.pos
	r.pos += int(n)
	return r.b[start:r.pos:r.pos]
}

// readFixed reads n little-endian bytes (4 or 8).
func (r *reader) readFixed(n int) uint64 {
	if len(r.b)-r.pos < n {
		r.fail(errUnexpectedEOF)
		return 0
	}
	p := r.b[r.pos:]
	r.pos += n
	if n == 4 {
		return uint64(binary.LittleEndian.Uint32(p))
	}
	return binary.LittleEndian.Uint64(p)
}

// bytes reads the current field, called name, as length-delimited.
func (r *reader) bytes(name string) []byte {
	if !r.wireType(wireBytes, name) {
		return nil
	}
	return r.readBytes()
}

// varint reads the current field, called name, as a varint.
func (r *reader) varint(name string) uint64 {
	if !r.wireType(wireVarint, name) {
		return 0
	}
	return r.readVarint()
}

// fixed64 reads the current field, called name, as fixed64 or double.
func (r *reader) fixed64(name string) uint64 {
	if !r.wireType(wireFixed64, name) {
		return 0
	}
	return r.readFixed(8)
}

// fixed32 reads the current field, called name, as fixed32.
func (r *reader) fixed32(name string) uint32 {
	if !r.wireType(wireFixed32, name) {
		return 0
	}
	return uint32(r.readFixed(4))
}

// traceID reads the current field, called name, as a trace ID: empty means
// all zeros (refused later by validation), any width but 16 is an error.
func (r *reader) traceID(name string) model.TraceID {
	var id model.TraceID
	switch b := r.bytes(name); len(b) {
	case 0:
	case len(id):
		copy(id[:], b)
	default:
		r.fail(fmt.Errorf("%s: %w, got %d", name, errTraceIDLength, len(b)))
	}
	return id
}

// spanID reads the current field, called name, as a span ID like traceID.
func (r *reader) spanID(name string) model.SpanID {
	var id model.SpanID
	switch b := r.bytes(name); len(b) {
	case 0:
	case len(id):
		copy(id[:], b)
	default:
		r.fail(fmt.Errorf("%s: %w, got %d", name, errSpanIDLength, len(b)))
	}
	return id
}

// skip passes over the current field. Groups, a proto2 feature OTLP never
// uses, are refused.
func (r *reader) skip() {
	switch r.wt {
	case wireVarint:
		r.readVarint()
	case wireFixed64:
		r.readFixed(8)
	case wireBytes:
		r.readBytes()
	case wireFixed32:
		r.readFixed(4)
	case wireStartGroup, wireEndGroup:
		r.fail(errGroup)
	default:
		r.fail(fmt.Errorf("illegal wire type %d", r.wt))
	}
}
