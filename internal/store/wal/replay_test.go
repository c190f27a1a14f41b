package wal

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// segmentImage is a segment built in memory with the WAL's own encoder,
// with the offset where each record starts.
type segmentImage struct {
	data   []byte
	starts []int64
	recs   [][]byte
}

// buildSegment frames records of the given sizes as one segment.
func buildSegment(sizes ...int) segmentImage {
	var img segmentImage
	var off int64
	for i, size := range sizes {
		rec := testRecord(uint64(i), size)
		img.starts = append(img.starts, off)
		img.recs = append(img.recs, rec)
		img.data, off = appendRecord(img.data, off, rec)
	}
	return img
}

// pick returns the records at the given indexes.
func (img segmentImage) pick(indexes ...int) [][]byte {
	var out [][]byte
	for _, i := range indexes {
		out = append(out, img.recs[i])
	}
	return out
}

// rawFragment frames payload as one fragment of type typ.
func rawFragment(typ fragType, payload []byte) []byte {
	hdr := []byte{byte(typ), 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint16(hdr[1:3], uint16(len(payload)))
	binary.BigEndian.PutUint32(hdr[3:7], fragmentCRC(hdr[:3], payload))
	return append(hdr, payload...)
}

// rangeIndexes returns lo, lo+1, ..., hi-1.
func rangeIndexes(lo, hi int) []int {
	var out []int
	for i := lo; i < hi; i++ {
		out = append(out, i)
	}
	return out
}

func TestReplayDamage(t *testing.T) {
	small := buildSegment(100, 200, 300, 400, 500)
	spanning := buildSegment(1000, 2000, 5*PageSize+100)
	lastSpan := spanning.starts[2]
	kib := buildSegment(func() []int {
		sizes := make([]int, 100)
		for i := range sizes {
			sizes[i] = 1024
		}
		return sizes
	}()...)
	// Records of kib that start at or after the second page survive damage
	// that makes the reader give up the first page.
	var fromPage1 []int
	for i, s := range kib.starts {
		if s >= PageSize {
			fromPage1 = append(fromPage1, i)
		}
	}
	big := buildSegment(20000, 3*PageSize, 20000, 20000)

	tests := []struct {
		name        string
		data        func() []byte
		want        [][]byte
		corruptions float64
		size        int64 // file size after replay; -1 means unchanged
	}{
		{
			name: "intact",
			data: func() []byte { return small.data },
			want: small.recs, size: -1,
		},
		{
			name: "empty_segment",
			data: func() []byte { return nil },
			size: -1,
		},
		{
			name: "torn_last_record",
			data: func() []byte { return small.data[:small.starts[4]+50] },
			want: small.pick(0, 1, 2, 3), size: small.starts[4],
		},
		{
			name: "torn_last_header",
			data: func() []byte { return small.data[:small.starts[4]+3] },
			want: small.pick(0, 1, 2, 3), size: small.starts[4],
		},
		{
			name: "torn_multi_page_record",
			data: func() []byte { return spanning.data[:lastSpan+2*PageSize+77] },
			want: spanning.pick(0, 1), size: lastSpan,
		},
		{
			name: "truncated_segment_at_page_boundary",
			data: func() []byte { return spanning.data[:3*PageSize] },
			want: spanning.pick(0, 1), size: lastSpan,
		},
		{
			name: "zero_filled_tail",
			data: func() []byte { return append(bytes.Clone(small.data), make([]byte, 3*PageSize+5)...) },
			want: small.recs, size: -1,
		},
		{
			name: "zeroed_page_inside_last_record",
			data: func() []byte {
				d := bytes.Clone(spanning.data)
				clear(d[2*PageSize : 3*PageSize])
				return d
			},
			want: spanning.pick(0, 1), size: lastSpan,
		},
		{
			name: "garbage_tail",
			data: func() []byte { return append(bytes.Clone(small.data), 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7) },
			want: small.recs, size: int64(len(small.data)),
		},
		{
			name: "bad_crc_in_middle",
			data: func() []byte {
				d := bytes.Clone(kib.data)
				d[kib.starts[5]+headerSize+10] ^= 0x40
				return d
			},
			want: kib.pick(append(rangeIndexes(0, 5), rangeIndexes(6, 100)...)...), corruptions: 1, size: -1,
		},
		{
			name: "bad_crc_in_last_record",
			data: func() []byte {
				d := bytes.Clone(small.data)
				d[small.starts[4]+headerSize] ^= 1
				return d
			},
			want: small.pick(0, 1, 2, 3), size: small.starts[4],
		},
		{
			name: "bad_length_in_middle",
			data: func() []byte {
				d := bytes.Clone(kib.data)
				binary.BigEndian.PutUint16(d[kib.starts[5]+1:], 0xffff)
				return d
			},
			want: kib.pick(append(rangeIndexes(0, 5), fromPage1...)...), corruptions: 1, size: -1,
		},
		{
			name: "short_length_in_middle",
			data: func() []byte {
				d := bytes.Clone(kib.data)
				binary.BigEndian.PutUint16(d[kib.starts[5]+1:], 100)
				return d
			},
			want: kib.pick(append(rangeIndexes(0, 5), fromPage1...)...), corruptions: 1, size: -1,
		},
		{
			name: "unknown_type_in_middle",
			data: func() []byte {
				d := bytes.Clone(kib.data)
				d[kib.starts[5]] = 9
				return d
			},
			want: kib.pick(append(rangeIndexes(0, 5), fromPage1...)...), corruptions: 1, size: -1,
		},
		{
			name: "bad_crc_in_first_fragment_of_spanning_record",
			data: func() []byte {
				d := bytes.Clone(big.data)
				d[big.starts[1]+headerSize+1] ^= 0xff
				return d
			},
			want: big.pick(0, 2, 3), corruptions: 1, size: -1,
		},
		{
			name: "bad_crc_in_middle_fragment",
			data: func() []byte {
				d := bytes.Clone(big.data)
				d[2*PageSize+100] ^= 0xff
				return d
			},
			want: big.pick(0, 2, 3), corruptions: 1, size: -1,
		},
		{
			name: "record_interrupted_by_new_record",
			data: func() []byte {
				d := rawFragment(fragFirst, []byte("lost"))
				d = append(d, rawFragment(fragFull, []byte("kept"))...)
				return d
			},
			want: [][]byte{[]byte("kept")}, corruptions: 1, size: -1,
		},
		{
			name: "orphan_fragments_at_start",
			data: func() []byte {
				d := rawFragment(fragMiddle, []byte("m"))
				d = append(d, rawFragment(fragLast, []byte("l"))...)
				d = append(d, rawFragment(fragFull, []byte("kept"))...)
				return d
			},
			want: [][]byte{[]byte("kept")}, corruptions: 1, size: -1,
		},
		{
			name: "non_zero_padding",
			data: func() []byte {
				d := append(rawFragment(fragFull, []byte("a")), make([]byte, PageSize-headerSize-1)...)
				d[PageSize-3] = 1
				d = append(d, rawFragment(fragFull, []byte("b"))...)
				return d
			},
			want: [][]byte{[]byte("a"), []byte("b")}, corruptions: 1, size: -1,
		},
		{
			name: "many_corruptions",
			data: func() []byte {
				d := bytes.Clone(kib.data)
				for _, i := range []int{3, 40, 70} {
					d[kib.starts[i]+headerSize+1] ^= 0x10
				}
				return d
			},
			want:        kib.pick(append(append(append(rangeIndexes(0, 3), rangeIndexes(4, 40)...), rangeIndexes(41, 70)...), rangeIndexes(71, 100)...)...),
			corruptions: 3, size: -1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			data := tc.data()
			if err := os.WriteFile(segmentPath(dir, 0), data, 0o644); err != nil {
				t.Fatal(err)
			}
			reg := prometheus.NewRegistry()
			w := openWAL(t, dir, Options{Registerer: reg})
			got := replayAll(t, w)
			checkRecords(t, got, tc.want)
			if c := metricValue(t, reg, "waymark_wal_corruptions_total"); c != tc.corruptions {
				t.Errorf("corruptions = %v, want %v", c, tc.corruptions)
			}
			st, err := os.Stat(segmentPath(dir, 0))
			if err != nil {
				t.Fatal(err)
			}
			wantSize := tc.size
			if wantSize < 0 {
				wantSize = int64(len(data))
			}
			if st.Size() != wantSize {
				t.Errorf("segment size after replay = %d, want %d", st.Size(), wantSize)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			// Replay after repair returns the same records.
			checkRecords(t, reopenAndReplay(t, dir, Options{}), tc.want)
		})
	}
}

func TestReplayCorruptSegmentThenIntactOne(t *testing.T) {
	dir := t.TempDir()
	img := buildSegment(100, 100, 100)
	torn := img.data[:img.starts[2]+20]
	if err := os.WriteFile(segmentPath(dir, 0), torn, 0o644); err != nil {
		t.Fatal(err)
	}
	next := buildSegment(50)
	if err := os.WriteFile(segmentPath(dir, 1), next.data, 0o644); err != nil {
		t.Fatal(err)
	}
	w := openWAL(t, dir, Options{})
	got := replayAll(t, w)
	checkRecords(t, got, append(img.pick(0, 1), next.recs...))
	if got[2].seg != 1 {
		t.Fatalf("last record in segment %d, want 1", got[2].seg)
	}
}

func TestSegmentReaderErrors(t *testing.T) {
	img := buildSegment(10, 10)
	d := bytes.Clone(img.data)
	d[img.starts[1]+headerSize] ^= 1
	r := newSegmentReader(bytes.NewReader(d), 7)
	if _, _, err := r.next(); err != nil {
		t.Fatalf("first record: %v", err)
	}
	_, _, err := r.next()
	var cerr *CorruptionError
	if !errors.As(err, &cerr) || cerr.Segment != 7 || cerr.Offset != img.starts[1] || !errors.Is(err, errChecksum) {
		t.Fatalf("got %v, want a checksum CorruptionError in segment 7 at offset %d", err, img.starts[1])
	}
	if _, _, err := newSegmentReader(failingReader{}, 0).next(); !errors.Is(err, errDisk) {
		t.Fatalf("read error: got %v, want it passed through", err)
	}
}

var errDisk = errors.New("disk on fire")

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errDisk }

// TestReplayReadError checks that an unreadable segment stops Replay with
// an error instead of being skipped.
func TestReplayReadError(t *testing.T) {
	dir := t.TempDir()
	img := buildSegment(10)
	if err := os.WriteFile(segmentPath(dir, 0), img.data, 0o644); err != nil {
		t.Fatal(err)
	}
	w := openWAL(t, dir, Options{})
	if err := os.Remove(segmentPath(dir, 0)); err != nil {
		t.Fatal(err)
	}
	err := w.Replay(context.Background(), func(int, []byte) error { return nil })
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Replay of a vanished segment: %v, want ErrNotExist", err)
	}
}
