package wal

import (
	"encoding/binary"
	"hash/crc32"
	"slices"
)

// PageSize is the size of the pages a segment is divided into. A fragment
// never crosses a page boundary, so after damage a reader resynchronises at
// the next multiple of PageSize.
const PageSize = 32 << 10

// MaxRecordSize is the largest record Append accepts and Replay assembles.
const MaxRecordSize = 64 << 20

// headerSize is the size of a fragment header: type (1 byte), payload
// length (2 bytes, big-endian) and CRC32C (4 bytes, big-endian).
const headerSize = 7

// fragType says which part of a record a fragment carries. Zero marks
// padding up to the end of the page.
type fragType uint8

const (
	fragPad    fragType = 0 // zero bytes up to the end of the page
	fragFull   fragType = 1 // a whole record
	fragFirst  fragType = 2 // the first part of a record
	fragMiddle fragType = 3 // an inner part of a record
	fragLast   fragType = 4 // the final part of a record
)

// castagnoli is the CRC32C table; it is never written after creation.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// fragmentCRC returns the CRC32C of a fragment's type and length bytes
// followed by its payload.
func fragmentCRC(typeAndLen []byte, payload []byte) uint32 {
	return crc32.Update(crc32.Checksum(typeAndLen, castagnoli), castagnoli, payload)
}

// framedLen returns the number of bytes a record of n bytes takes, page
// padding included, when it starts at segment offset off.
func framedLen(off int64, n int) int {
	total := 0
	for {
		space := PageSize - int(off%PageSize)
		if space <= headerSize {
			total += space
			off += int64(space)
			continue
		}
		m := min(n, space-headerSize)
		total += headerSize + m
		off += int64(headerSize + m)
		if n -= m; n == 0 {
			return total
		}
	}
}

// maxFramedLen bounds framedLen(off, n) for every off.
func maxFramedLen(n int) int {
	return n + (n/(PageSize-2*headerSize)+2)*2*headerSize
}

// encodeRecord frames rec as the fragments that start at segment offset
// off, with any page padding they need, into dst, which must be
// framedLen(off, len(rec)) bytes long.
func encodeRecord(dst []byte, off int64, rec []byte) {
	typ := fragFull
	for {
		space := PageSize - int(off%PageSize)
		if space <= headerSize {
			// Too little room for a header and a byte of payload: pad the page.
			clear(dst[:space])
			dst = dst[space:]
			off += int64(space)
			continue
		}
		n := min(len(rec), space-headerSize)
		last := n == len(rec)
		switch {
		case typ == fragFull && !last:
			typ = fragFirst
		case typ != fragFull && last:
			typ = fragLast
		}
		dst[0] = byte(typ)
		binary.BigEndian.PutUint16(dst[1:3], uint16(n))
		copy(dst[headerSize:], rec[:n])
		binary.BigEndian.PutUint32(dst[3:7], fragmentCRC(dst[:3], rec[:n]))
		dst = dst[headerSize+n:]
		off += int64(headerSize + n)
		rec = rec[n:]
		if last {
			return
		}
		typ = fragMiddle
	}
}

// appendRecord appends rec, framed to start at segment offset off, to dst.
// It returns the extended dst and the segment offset just past the record.
func appendRecord(dst []byte, off int64, rec []byte) ([]byte, int64) {
	n := framedLen(off, len(rec))
	dst = slices.Grow(dst, n)
	dst = dst[:len(dst)+n]
	encodeRecord(dst[len(dst)-n:], off, rec)
	return dst, off + int64(n)
}
