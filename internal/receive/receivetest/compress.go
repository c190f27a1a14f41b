package receivetest

import (
	"bytes"
	"testing"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

// Compress encodes b with the HTTP Content-Encoding enc: gzip, zlib (also
// sent as deflate), raw-deflate (raw deflate data sent as deflate) or zstd.
func Compress(t testing.TB, enc string, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var err error
	switch enc {
	case "gzip":
		w := gzip.NewWriter(&buf)
		_, err = w.Write(b)
		if err == nil {
			err = w.Close()
		}
	case "zlib":
		w := zlib.NewWriter(&buf)
		_, err = w.Write(b)
		if err == nil {
			err = w.Close()
		}
	case "raw-deflate":
		var w *flate.Writer
		if w, err = flate.NewWriter(&buf, flate.BestSpeed); err == nil {
			if _, err = w.Write(b); err == nil {
				err = w.Close()
			}
		}
	case "zstd":
		var w *zstd.Encoder
		if w, err = zstd.NewWriter(&buf); err == nil {
			if _, err = w.Write(b); err == nil {
				err = w.Close()
			}
		}
	default:
		t.Fatalf("unknown encoding %q", enc)
	}
	if err != nil {
		t.Fatalf("compress %s: %v", enc, err)
	}
	return buf.Bytes()
}

// Bomb returns n zero bytes compressed with enc: a tiny body that expands
// far beyond any limit.
func Bomb(t testing.TB, enc string, n int) []byte {
	t.Helper()
	return Compress(t, enc, make([]byte, n))
}
