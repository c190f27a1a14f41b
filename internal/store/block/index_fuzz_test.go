package block

import (
	"context"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"waymark/internal/model"
)

// FuzzIndex feeds arbitrary index objects, with their checksum made right so
// that the decoder's checks past it are reached, to decodeIndex: it must
// never panic, and what it accepts must survive an encode/decode round trip
// and answer lookups. Seeds are real indexes of both versions.
func FuzzIndex(f *testing.F) {
	ctx := context.Background()
	bkt := newBucket(f)
	spans := idSpans(5, 200)
	meta, err := Write(ctx, bkt, "tenant-a", spans, WriteOptions{RowGroupSpans: 300})
	if err != nil {
		f.Fatal(err)
	}
	v2, err := readObject(ctx, bkt, BlockDir("tenant-a", meta.ID)+IndexFile, maxIndexSize)
	if err != nil {
		f.Fatal(err)
	}
	x, err := decodeIndex(v2, meta.SpanCount)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(v2, uint32(meta.SpanCount))
	f.Add(encodeIndexV1(x), uint32(meta.SpanCount))
	old, err := os.ReadFile(filepath.Join("testdata", "v1", "tenant-a", "01HF7YAT00B57CJA2ZNQKPJRB3", IndexFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(old, uint32(6))
	f.Add([]byte("WMBI\x02\x00\x00\x00\x00\x00\x00\x00\x00"), uint32(0))
	f.Fuzz(func(t *testing.T, data []byte, numRows uint32) {
		if len(data) >= 4 {
			body := data[:len(data)-4]
			binary.LittleEndian.PutUint32(data[len(body):], crc32.Checksum(body, castagnoli))
		}
		x, err := decodeIndex(data, int64(numRows))
		if err != nil {
			return
		}
		back, err := decodeIndex(x.encode(), int64(numRows))
		if err != nil {
			t.Fatalf("re-encoded index does not decode: %v", err)
		}
		if !reflect.DeepEqual(back, x) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", back, x)
		}
		for k := range x.Values.keys {
			x.Values.mayContain(k.scope, k.key, model.StringValue("req-5-1"))
			x.Values.mayContain(k.scope, k.key, model.DoubleValue(1e6))
		}
		x.lookup(spans[0].TraceID, int64(numRows))
	})
}
