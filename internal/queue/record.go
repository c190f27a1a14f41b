package queue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// On-disk layout (see docs/design/queue.md):
//
//	segment = header record*
//	header  = "WMQS" version(1 byte) reserved(3 bytes)
//	record  = length(uint32 LE) crc(uint32 LE) payload(length bytes)
//
// crc is CRC-32C over the four length bytes followed by the payload.
const (
	segmentMagic      = "WMQS"
	segmentVersion    = 1
	segmentHeaderSize = 8
	recordHeaderSize  = 8
	// MaxItemBytes bounds one item. Larger items are refused by Put.
	MaxItemBytes = 1 << 30
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt reports a record that fails its checks.
var ErrCorrupt = errors.New("corrupt record")

// errTorn reports a record cut short by the end of the data.
var errTorn = errors.New("torn record")

// appendSegmentHeader appends the header every segment starts with.
func appendSegmentHeader(dst []byte) []byte {
	dst = append(dst, segmentMagic...)
	return append(dst, segmentVersion, 0, 0, 0)
}

// checkSegmentHeader validates a segment's first bytes.
func checkSegmentHeader(b []byte) error {
	if len(b) < segmentHeaderSize {
		return fmt.Errorf("segment header: %w", errTorn)
	}
	if string(b[:4]) != segmentMagic {
		return fmt.Errorf("segment header: bad magic %q: %w", b[:4], ErrCorrupt)
	}
	if b[4] != segmentVersion {
		return fmt.Errorf("segment header: unknown version %d: %w", b[4], ErrCorrupt)
	}
	return nil
}

// recordHeader returns the header of the record of item: its length and
// CRC.
func recordHeader(item []byte) [recordHeaderSize]byte {
	var h [recordHeaderSize]byte
	binary.LittleEndian.PutUint32(h[0:4], uint32(len(item)))
	crc := crc32.Update(0, castagnoli, h[0:4])
	crc = crc32.Update(crc, castagnoli, item)
	binary.LittleEndian.PutUint32(h[4:8], crc)
	return h
}

// appendRecord appends the encoding of one item.
func appendRecord(dst, item []byte) []byte {
	h := recordHeader(item)
	return append(append(dst, h[:]...), item...)
}

// recordLength validates a record header and returns the payload length.
// A zero length is refused: it is what a zero-filled torn tail looks like.
func recordLength(h []byte) (int, error) {
	if len(h) < recordHeaderSize {
		return 0, errTorn
	}
	n := binary.LittleEndian.Uint32(h[0:4])
	if n == 0 || n > MaxItemBytes {
		return 0, fmt.Errorf("record length %d: %w", n, ErrCorrupt)
	}
	return int(n), nil
}

// checkRecord verifies a record's CRC; h is its header, payload its data.
func checkRecord(h, payload []byte) error {
	crc := crc32.Update(0, castagnoli, h[0:4])
	crc = crc32.Update(crc, castagnoli, payload)
	if crc != binary.LittleEndian.Uint32(h[4:8]) {
		return fmt.Errorf("record crc mismatch: %w", ErrCorrupt)
	}
	return nil
}

// decodeRecord decodes the record at the start of b and returns its
// payload (aliasing b) and the bytes it occupies.
func decodeRecord(b []byte) (payload []byte, size int, err error) {
	n, err := recordLength(b)
	if err != nil {
		return nil, 0, err
	}
	if len(b)-recordHeaderSize < n {
		return nil, 0, errTorn
	}
	payload = b[recordHeaderSize : recordHeaderSize+n]
	if err := checkRecord(b, payload); err != nil {
		return nil, 0, err
	}
	return payload, recordHeaderSize + n, nil
}
