package block

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"sort"

	"waymark/internal/model"
)

// The index object: a sparse sorted trace-ID → row index, a bloom filter
// over all trace IDs, per row group the attribute keys stored in the
// generic attribute lists, and (from version 2) the value filter of
// high-cardinality attribute keys. Layout (little-endian) in block.md.
const (
	indexMagic   = "WMBI"
	indexVersion = 2
	// indexVersionNoValues is the first version, without a value filter;
	// it is still read.
	indexVersionNoValues = 1
	// indexInterval is the number of rows between sparse index entries;
	// entries always fall on the first row of a trace.
	indexInterval = 128
	// bloomBitsPerTrace and bloomHashes give a false-positive rate near
	// 0.07 %: a lookup asks every block's filter, so over 150 blocks a rate
	// of 1 % (10 bits, the first format) made about 1.5 blocks per lookup
	// read for nothing. Readers take the filter's size from the index, so
	// blocks written with 10 bits per trace read unchanged; bloomHashes
	// must never change.
	bloomBitsPerTrace = 16
	bloomHashes       = 7
	// maxIndexKeys bounds the keys listed per row group and scope.
	maxIndexKeys = 1 << 16
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// indexEntry is the first row of a trace.
type indexEntry struct {
	TraceID model.TraceID
	Row     int64
}

// rowGroupInfo describes one row group in the index.
type rowGroupInfo struct {
	FirstRow int64
	NumRows  int64
	// SpanKeys and ResourceKeys are the sorted keys that appear as generic
	// (not dedicated) span and resource attributes in the row group.
	SpanKeys     []string
	ResourceKeys []string
}

// traceIndex is the decoded index object.
type traceIndex struct {
	RowGroups []rowGroupInfo
	Entries   []indexEntry
	Bloom     bloom
	// Values is the value filter; empty in version-1 indexes.
	Values valueFilter
}

// bloom is a classic bloom filter over trace IDs with double hashing.
type bloom struct {
	words []uint64
}

func newBloom(n int) bloom { return bloomOfBits(n * bloomBitsPerTrace) }

// bloomOfBits returns an empty filter of at least nbits bits (64 at least).
func bloomOfBits(nbits int) bloom {
	nbits = max(nbits, 64)
	return bloom{words: make([]uint64, (nbits+63)/64)}
}

// mix64 is the splitmix64 finaliser.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func traceHashes(id model.TraceID) (uint64, uint64) {
	return pairHashes(binary.BigEndian.Uint64(id[:8]), binary.BigEndian.Uint64(id[8:]))
}

// pairHashes returns the two probe hashes of a 128-bit key.
func pairHashes(hi, lo uint64) (uint64, uint64) {
	return secondHash(mix64(lo ^ mix64(hi^0x9e3779b97f4a7c15)))
}

// secondHash returns h1 with the second probe hash derived from it.
func secondHash(h1 uint64) (uint64, uint64) {
	return h1, mix64(h1^0x632be59bd9b4e019) | 1
}

func (b *bloom) add(id model.TraceID) { b.addHashes(traceHashes(id)) }

// addHashes sets the probe bits of hashes h1, h2.
func (b *bloom) addHashes(h1, h2 uint64) {
	n := uint64(len(b.words)) * 64
	for i := uint64(0); i < bloomHashes; i++ {
		bit := (h1 + i*h2) % n
		b.words[bit/64] |= 1 << (bit % 64)
	}
}

// mayContainHashes reports whether the filter may hold the trace ID of
// hashes h1, h2 (traceHashes).
func (b *bloom) mayContainHashes(h1, h2 uint64) bool {
	if len(b.words) == 0 {
		return false
	}
	n := uint64(len(b.words)) * 64
	for i := uint64(0); i < bloomHashes; i++ {
		bit := (h1 + i*h2) % n
		if b.words[bit/64]&(1<<(bit%64)) == 0 {
			return false
		}
	}
	return true
}

// lookup returns the row range [from, to) that holds trace id if the block
// has it, and false when the index proves it absent.
func (x *traceIndex) lookup(id model.TraceID, numRows int64) (from, to int64, ok bool) {
	i := sort.Search(len(x.Entries), func(i int) bool {
		return bytes.Compare(x.Entries[i].TraceID[:], id[:]) > 0
	})
	if i == 0 {
		return 0, 0, false
	}
	from, to = x.Entries[i-1].Row, numRows
	if i < len(x.Entries) {
		to = x.Entries[i].Row
	}
	return from, to, true
}

// rowGroupOf returns the row group holding row.
func (x *traceIndex) rowGroupOf(row int64) int {
	i := sort.Search(len(x.RowGroups), func(i int) bool { return x.RowGroups[i].FirstRow > row })
	return i - 1
}

func (x *traceIndex) encode() []byte {
	var buf []byte
	buf = append(buf, indexMagic...)
	buf = append(buf, indexVersion)
	buf = binary.AppendUvarint(buf, uint64(len(x.RowGroups)))
	for _, rg := range x.RowGroups {
		buf = binary.AppendUvarint(buf, uint64(rg.FirstRow))
		buf = binary.AppendUvarint(buf, uint64(rg.NumRows))
		buf = appendKeys(buf, rg.SpanKeys)
		buf = appendKeys(buf, rg.ResourceKeys)
	}
	buf = binary.AppendUvarint(buf, uint64(len(x.Entries)))
	var prev int64
	for _, e := range x.Entries {
		buf = append(buf, e.TraceID[:]...)
		buf = binary.AppendUvarint(buf, uint64(e.Row-prev))
		prev = e.Row
	}
	buf = x.Bloom.appendTo(buf)
	buf = x.Values.appendTo(buf)
	return binary.LittleEndian.AppendUint32(buf, crc32.Checksum(buf, castagnoli))
}

// appendTo appends the filter's word count and words.
func (b *bloom) appendTo(buf []byte) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(b.words)))
	for _, w := range b.words {
		buf = binary.LittleEndian.AppendUint64(buf, w)
	}
	return buf
}

func appendKeys(buf []byte, keys []string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(keys)))
	for _, k := range keys {
		buf = binary.AppendUvarint(buf, uint64(len(k)))
		buf = append(buf, k...)
	}
	return buf
}

// errIndex marks a damaged index object.
var errIndex = errors.New("corrupt index")

// indexReader decodes the index format, remembering the first error.
type indexReader struct {
	b   []byte
	err error
}

func (r *indexReader) uvarint(limit uint64) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = fmt.Errorf("%w: truncated varint", errIndex)
		return 0
	}
	if v > limit {
		r.err = fmt.Errorf("%w: value %d exceeds %d", errIndex, v, limit)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *indexReader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.b) {
		r.err = fmt.Errorf("%w: truncated", errIndex)
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *indexReader) keys() []string {
	n := r.uvarint(maxIndexKeys)
	var keys []string
	for i := uint64(0); i < n && r.err == nil; i++ {
		l := r.uvarint(uint64(len(r.b)))
		keys = append(keys, string(r.bytes(int(l))))
	}
	if r.err == nil && !slices.IsSorted(keys) {
		r.err = fmt.Errorf("%w: keys out of order", errIndex)
	}
	return keys
}

// bloom decodes a filter written by bloom.appendTo.
func (r *indexReader) bloom() bloom {
	nw := r.uvarint(uint64(len(r.b) / 8))
	words := r.bytes(int(nw) * 8)
	if r.err != nil || nw == 0 {
		return bloom{}
	}
	b := bloom{words: make([]uint64, nw)}
	for i := range b.words {
		b.words[i] = binary.LittleEndian.Uint64(words[i*8:])
	}
	return b
}

// decodeIndex parses an index object and checks it against the block's row
// count.
func decodeIndex(data []byte, numRows int64) (*traceIndex, error) {
	if len(data) < len(indexMagic)+1+4 || string(data[:len(indexMagic)]) != indexMagic {
		return nil, fmt.Errorf("%w: bad magic", errIndex)
	}
	body := data[:len(data)-4]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(data[len(data)-4:]) {
		return nil, fmt.Errorf("%w: checksum mismatch", errIndex)
	}
	version := data[len(indexMagic)]
	if version != indexVersion && version != indexVersionNoValues {
		return nil, fmt.Errorf("%w: unsupported version %d", errIndex, version)
	}
	r := &indexReader{b: body[len(indexMagic)+1:]}
	x := &traceIndex{}
	nrg := r.uvarint(uint64(len(r.b)))
	next := int64(0)
	for i := uint64(0); i < nrg && r.err == nil; i++ {
		rg := rowGroupInfo{FirstRow: int64(r.uvarint(uint64(numRows))), NumRows: int64(r.uvarint(uint64(numRows)))}
		rg.SpanKeys = r.keys()
		rg.ResourceKeys = r.keys()
		if r.err == nil && (rg.FirstRow != next || rg.NumRows == 0) {
			r.err = fmt.Errorf("%w: row group %d does not follow its predecessor", errIndex, i)
		}
		next += rg.NumRows
		x.RowGroups = append(x.RowGroups, rg)
	}
	if r.err == nil && next != numRows {
		r.err = fmt.Errorf("%w: row groups hold %d rows, block has %d", errIndex, next, numRows)
	}
	ne := r.uvarint(uint64(len(r.b) / 17))
	if r.err == nil {
		x.Entries = make([]indexEntry, 0, ne)
	}
	row := int64(0)
	for i := uint64(0); i < ne && r.err == nil; i++ {
		var e indexEntry
		copy(e.TraceID[:], r.bytes(16))
		row += int64(r.uvarint(uint64(numRows)))
		e.Row = row
		if r.err == nil && (row >= numRows || (i > 0 && (e.Row <= x.Entries[i-1].Row || bytes.Compare(e.TraceID[:], x.Entries[i-1].TraceID[:]) <= 0))) {
			r.err = fmt.Errorf("%w: entry %d out of order", errIndex, i)
		}
		x.Entries = append(x.Entries, e)
	}
	x.Bloom = r.bloom()
	if version != indexVersionNoValues {
		x.Values = r.valueFilter()
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%w: %d trailing bytes", errIndex, len(r.b))
	}
	if r.err != nil {
		return nil, r.err
	}
	if numRows > 0 && (len(x.Entries) == 0 || x.Entries[0].Row != 0) {
		return nil, fmt.Errorf("%w: first entry does not start at row 0", errIndex)
	}
	return x, nil
}
