package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Reasons a reader reports damage; they are the Err of a CorruptionError.
var (
	errChecksum       = errors.New("checksum mismatch")
	errBadPadding     = errors.New("non-zero bytes in page padding")
	errUnknownType    = errors.New("unknown fragment type")
	errBadLength      = errors.New("fragment length exceeds page")
	errOrphan         = errors.New("fragment without a record start")
	errInterrupted    = errors.New("record interrupted before its last fragment")
	errRecordTooLarge = errors.New("record exceeds the maximum record size")
)

// segmentReader decodes the records of one segment. After damage it skips
// to the next page and drops fragments until a record starts, so every
// intact record after the damage is still returned.
type segmentReader struct {
	r       io.Reader
	segment int
	page    []byte // current page; shorter than PageSize only at the end
	pos     int    // read position in page
	pageOff int64  // segment offset of page[0]
	done    bool   // the reader has hit the end of the segment
	rec     []byte // record being assembled from fragments
	recOff  int64  // segment offset of the record's first fragment
	inRec   bool   // a First fragment has been read, its Last not yet
	resync  bool   // after damage: drop fragments until a record starts
}

// newSegmentReader returns a reader of the segment with index segment whose
// bytes r yields.
func newSegmentReader(r io.Reader, segment int) *segmentReader {
	return &segmentReader{r: r, segment: segment, page: make([]byte, 0, PageSize)}
}

// next returns the next intact record and its segment offset. The record is
// valid until the following call. When the reader meets damage it returns a
// *CorruptionError and has already moved past the damaged bytes, so calling
// next again continues with the rest of the segment. At the end of the
// segment it returns io.EOF; any other error comes from the underlying
// reader.
func (r *segmentReader) next() ([]byte, int64, error) {
	for {
		if r.pos == len(r.page) {
			if err := r.loadPage(); err != nil {
				return nil, 0, err
			}
			if r.done {
				if r.inRec {
					r.inRec = false
					return nil, 0, r.damage(r.recOff, fmt.Errorf("segment ends inside a record: %w", io.ErrUnexpectedEOF))
				}
				return nil, 0, io.EOF
			}
		}
		frag := r.page[r.pos:]
		fragOff := r.pageOff + int64(r.pos)
		if PageSize-r.pos <= headerSize || fragType(frag[0]) == fragPad {
			r.pos = len(r.page)
			if !allZero(frag) {
				return nil, 0, r.damageSkip(fragOff, errBadPadding)
			}
			if r.inRec {
				return nil, 0, r.damageSkip(r.recOff, errInterrupted)
			}
			continue
		}
		if len(frag) < headerSize {
			return nil, 0, r.damageSkip(fragOff, fmt.Errorf("fragment header cut short: %w", io.ErrUnexpectedEOF))
		}
		typ := fragType(frag[0])
		n := int(binary.BigEndian.Uint16(frag[1:3]))
		switch {
		case typ > fragLast:
			return nil, 0, r.damageSkip(fragOff, fmt.Errorf("%w %d", errUnknownType, typ))
		case headerSize+n > len(frag) && len(r.page) < PageSize:
			return nil, 0, r.damageSkip(fragOff, fmt.Errorf("fragment of %d bytes cut short: %w", n, io.ErrUnexpectedEOF))
		case headerSize+n > len(frag):
			return nil, 0, r.damageSkip(fragOff, fmt.Errorf("%w: %d bytes, %d left", errBadLength, n, len(frag)-headerSize))
		}
		payload := frag[headerSize : headerSize+n]
		if fragmentCRC(frag[:3], payload) != binary.BigEndian.Uint32(frag[3:7]) {
			// Most damage flips payload bits and leaves the length intact:
			// try the next fragment in this page before giving the page up.
			// A wrong length lands on bytes that fail their own checks.
			next := r.pos + headerSize + n
			err := r.damageSkip(fragOff, errChecksum)
			r.pos = next
			return nil, 0, err
		}
		if (typ == fragFull || typ == fragFirst) && r.inRec {
			// The fragment is intact: report the cut-off record and read
			// this fragment again on the next call.
			r.inRec = false
			return nil, 0, r.damage(r.recOff, errInterrupted)
		}
		r.pos += headerSize + n
		switch typ {
		case fragFull:
			r.resync = false
			return payload, fragOff, nil
		case fragFirst:
			r.resync = false
			r.inRec = true
			r.recOff = fragOff
			r.rec = append(r.rec[:0], payload...)
			continue
		}
		// A Middle or Last fragment.
		if !r.inRec {
			if r.resync {
				continue
			}
			r.resync = true
			return nil, 0, r.damage(fragOff, errOrphan)
		}
		if len(r.rec)+n > MaxRecordSize {
			r.inRec = false
			r.resync = true
			return nil, 0, r.damage(r.recOff, errRecordTooLarge)
		}
		r.rec = append(r.rec, payload...)
		if typ == fragLast {
			r.inRec = false
			return r.rec, r.recOff, nil
		}
	}
}

// loadPage reads the next page. It sets done when the segment has no more
// bytes.
func (r *segmentReader) loadPage() error {
	if r.done || (len(r.page) > 0 && len(r.page) < PageSize) {
		r.done = true
		return nil
	}
	r.pageOff += int64(len(r.page))
	r.pos = 0
	n, err := io.ReadFull(r.r, r.page[:PageSize])
	r.page = r.page[:n]
	switch {
	case errors.Is(err, io.EOF):
		r.done = true
		return nil
	case errors.Is(err, io.ErrUnexpectedEOF):
		return nil
	case err != nil:
		return fmt.Errorf("read segment %d at offset %d: %w", r.segment, r.pageOff, err)
	}
	return nil
}

// damage returns a CorruptionError for the bytes at off.
func (r *segmentReader) damage(off int64, err error) *CorruptionError {
	return &CorruptionError{Segment: r.segment, Offset: off, Err: err}
}

// damageSkip abandons the rest of the current page and any record being
// assembled, and returns a CorruptionError that starts at the record, if
// one was being assembled, or else at off.
func (r *segmentReader) damageSkip(off int64, err error) *CorruptionError {
	r.pos = len(r.page)
	r.resync = true
	if r.inRec {
		r.inRec = false
		off = r.recOff
	}
	return r.damage(off, err)
}

// allZero reports whether b holds only zero bytes.
func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
