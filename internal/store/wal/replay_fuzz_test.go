package wal

import (
	"bytes"
	"context"
	"testing"
)

// Bounds on the segments FuzzReplay builds: records span a few pages, and
// segments a few more.
const (
	maxFuzzRecord  = 3*PageSize + 100
	maxFuzzSegment = 256 << 10
)

// FuzzReplay builds a segment from records, damages it, and replays it with
// the code Replay runs on each segment: the replay must never panic or
// fail, must return every record that lies wholly before the damage, and
// after its repair (cutting the torn tail) must return the same records and
// find no more damage.
//
// parts holds the records, separated by 0xff bytes; each record is repeated
// scale%1024 extra times, up to maxFuzzRecord bytes, so that records span
// pages. The damage overwrites
// the segment from offset at with damage; if cut is set the segment ends
// right after the damage. An empty parts and an at of 0 make the segment
// the damage bytes alone, so arbitrary bytes are replayed too.
func FuzzReplay(f *testing.F) {
	f.Add([]byte("span-a\xffspan-b\xffspan-c"), uint16(0), uint32(20), []byte{0xff}, false)
	f.Add([]byte("one\xfftwo"), uint16(3000), uint32(PageSize+5), []byte{1, 2, 3}, true)
	f.Add([]byte("x\xff\xffy"), uint16(9000), uint32(3*PageSize), []byte{}, true)
	f.Add([]byte{}, uint16(0), uint32(0), rawFragment(fragFull, []byte("lonely")), false)
	f.Add([]byte{}, uint16(0), uint32(0), append(rawFragment(fragFirst, []byte("a")), rawFragment(fragLast, []byte("b"))...), false)
	// Seeds stay small: the fuzzer minimises each new input byte by byte.
	img := buildSegment(20, 30, 5)
	f.Add([]byte{}, uint16(0), uint32(0), img.data, false)
	f.Add([]byte{}, uint16(0), uint32(0), img.data[:img.starts[2]+3], false)
	f.Add([]byte("first\xffspanning-record\xfflast"), uint16(4000), uint32(PageSize-3), []byte{0, 0, 0, 0, 0, 0, 0, 0, 9}, false)
	f.Add([]byte("a\xffb"), uint16(100), uint32(PageSize+200), []byte{3, 0, 5, 1, 2, 3, 4, 'x', 'y', 'z', 'w', 'v'}, false)

	f.Fuzz(func(t *testing.T, parts []byte, scale uint16, at uint32, damage []byte, cut bool) {
		var recs [][]byte
		var data []byte
		var ends []int64
		var off int64
		if len(parts) > 0 {
			for _, p := range bytes.Split(parts, []byte{0xff}) {
				if len(data) > maxFuzzSegment {
					break // keep each run fast
				}
				rec := bytes.Repeat(p, 1+int(scale%1024))
				rec = rec[:min(len(rec), maxFuzzRecord)]
				recs = append(recs, rec)
				data, off = appendRecord(data, off, rec)
				ends = append(ends, off)
			}
		}
		damageAt := int64(min(int(at), len(data)))
		if end := int(damageAt) + len(damage); end > len(data) {
			data = append(data, make([]byte, end-len(data))...)
		}
		copy(data[damageAt:], damage)
		if cut {
			data = data[:int(damageAt)+len(damage)]
		}
		var intact int // records wholly before the damage
		for intact < len(ends) && ends[intact] <= damageAt {
			intact++
		}

		first, tail := scanBytes(t, data)
		if len(first) < intact {
			t.Fatalf("replayed %d records, want at least the %d before the damage", len(first), intact)
		}
		for i := range intact {
			if !bytes.Equal(first[i], recs[i]) {
				t.Fatalf("record %d before the damage differs", i)
			}
		}
		if tail != nil {
			if tail.Offset < 0 || tail.Offset > int64(len(data)) {
				t.Fatalf("torn tail at offset %d of a %d-byte segment", tail.Offset, len(data))
			}
			data = data[:tail.Offset]
		}
		again, tail := scanBytes(t, data)
		if tail != nil {
			t.Fatalf("repaired segment still has a torn tail: %v", tail)
		}
		if len(again) != len(first) {
			t.Fatalf("replay after repair returned %d records, first %d", len(again), len(first))
		}
		for i := range first {
			if !bytes.Equal(first[i], again[i]) {
				t.Fatalf("replay after repair: record %d differs", i)
			}
		}
	})
}

// scanBytes replays a segment held in memory and returns copies of its
// records and its torn tail.
func scanBytes(t *testing.T, data []byte) ([][]byte, *CorruptionError) {
	t.Helper()
	var out [][]byte
	tail, err := scanSegment(context.Background(), bytes.NewReader(data), 0,
		func(_ int, rec []byte) error {
			out = append(out, bytes.Clone(rec))
			return nil
		},
		func(*CorruptionError) {})
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	return out, tail
}
