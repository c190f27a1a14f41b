package queue

import (
	"bytes"
	"errors"
	"testing"
)

func FuzzReplaySegment(f *testing.F) {
	seg := appendSegmentHeader(nil)
	for _, item := range []string{"a", "hello queue", string(make([]byte, 300))} {
		seg = appendRecord(seg, []byte(item))
	}
	f.Add(seg)
	f.Add(seg[:len(seg)-3])
	f.Add(seg[:segmentHeaderSize+5])
	f.Add(append(append([]byte(nil), seg...), make([]byte, 16)...))
	f.Add(appendSegmentHeader(nil))
	f.Add([]byte("WMQS"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var prevEnd int64 = segmentHeaderSize
		end, err := replaySegment(bytes.NewReader(data), int64(len(data)), func(off int64, payload []byte) {
			if off != prevEnd {
				t.Fatalf("record at %d, previous ended at %d", off, prevEnd)
			}
			rec := appendRecord(nil, payload)
			if !bytes.Equal(rec, data[off:off+int64(len(rec))]) {
				t.Fatalf("record at %d does not re-encode to its bytes", off)
			}
			prevEnd = off + int64(len(rec))
		})
		if end > int64(len(data)) {
			t.Fatalf("valid end %d beyond %d bytes", end, len(data))
		}
		switch {
		case err == nil:
			if end != int64(len(data)) {
				t.Fatalf("clean replay ended at %d of %d bytes", end, len(data))
			}
		case !errors.Is(err, errTorn) && !errors.Is(err, ErrCorrupt):
			t.Fatalf("unexpected error kind: %v", err)
		}
		if end >= segmentHeaderSize && end != prevEnd {
			t.Fatalf("valid end %d is not the end of the last record %d", end, prevEnd)
		}
	})
}

func FuzzDecodeAck(f *testing.F) {
	f.Add(encodeAck(position{seg: 7, off: 1234}))
	f.Add([]byte("WMQA"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := decodeAck(data)
		if err != nil {
			return
		}
		if !bytes.Equal(encodeAck(p), data) {
			t.Fatalf("ack %x decodes to %+v, which encodes differently", data, p)
		}
	})
}
