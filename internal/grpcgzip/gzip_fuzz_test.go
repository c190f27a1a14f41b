package grpcgzip

import (
	"bytes"
	"testing"
)

// FuzzDecompress feeds arbitrary bytes to the codec's reader: it must
// return data or an error, never panic, and what it compresses it must
// read back unchanged.
func FuzzDecompress(f *testing.F) {
	c := &Codec{}
	for _, n := range []int{0, 1, 20} {
		f.Add(compress(f, c, payload(f, n)))
	}
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	f.Add([]byte("not gzip"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = decompress(c, data)
		got, err := decompress(c, compress(t, c, data))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("round trip of %d bytes: %d bytes back, err %v", len(data), len(got), err)
		}
	})
}
