package receive

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

// maxRatio bounds the buffer pre-allocated for a compressed body: deflate
// cannot expand data by more than about 1032 times, so a size hint above
// that is a lie and is not trusted.
const maxRatio = 1032

// zstdMinWindow is the smallest zstd window always accepted: the default
// of common encoders.
const zstdMinWindow = 8 << 20

// ReadBody reads the body of r, undoing its Content-Encoding (gzip,
// x-gzip, deflate, zlib, zstd or identity). Both the body as sent and the
// decompressed body are capped at limit bytes: beyond it ReadBody returns
// a *TooLargeError, so a zip bomb costs at most about twice limit bytes of
// memory. An
// unknown encoding yields a *MediaTypeError and a corrupt stream an
// *InvalidError. The returned slice is newly allocated and owned by the
// caller.
func ReadBody(r *http.Request, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultMaxRequestBytes
	}
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	switch enc {
	case "", "identity", "gzip", "x-gzip", "deflate", "zlib", "zstd":
	default:
		return nil, &MediaTypeError{What: "content encoding", Value: enc}
	}
	if r.ContentLength > limit {
		return nil, &TooLargeError{Limit: limit}
	}
	if r.Body == nil {
		return []byte{}, nil
	}
	wire, err := readLimited(r.Body, limit, r.ContentLength)
	if err != nil {
		return nil, wrapRead("read body", err)
	}
	switch enc {
	case "gzip", "x-gzip":
		return gunzip(wire, limit)
	case "deflate", "zlib":
		return inflate(wire, limit)
	case "zstd":
		return unzstd(wire, limit)
	}
	return wire, nil
}

// readLimited reads r to its end into a buffer of about hint bytes, and
// fails with a *TooLargeError as soon as more than limit bytes arrive.
// Other errors are returned as the reader gave them.
func readLimited(r io.Reader, limit, hint int64) ([]byte, error) {
	if hint <= 0 {
		hint = 4 << 10
	}
	hint = min(hint, limit) + 1 // room for the byte that proves EOF
	b := make([]byte, 0, hint)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		room := min(int64(cap(b)), limit+1)
		n, err := r.Read(b[len(b):room])
		b = b[:len(b)+n]
		if int64(len(b)) > limit {
			return nil, &TooLargeError{Limit: limit}
		}
		if errors.Is(err, io.EOF) {
			return b, nil
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, &TooLargeError{Limit: min(limit, mbe.Limit)}
			}
			return nil, err
		}
	}
}

// wrapRead classifies an error of readLimited: a size error stays as it
// is, anything else makes the body undecodable.
func wrapRead(context string, err error) error {
	var big *TooLargeError
	if errors.As(err, &big) {
		return err
	}
	return Invalid(fmt.Errorf("%s: %w", context, err))
}

func gunzip(wire []byte, limit int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(wire))
	if err != nil {
		return nil, Invalid(fmt.Errorf("gzip body: %w", err))
	}
	// The trailer of a single-member stream holds the decompressed size
	// modulo 2^32: a good first guess for the buffer, unless it claims more
	// than deflate can expand to.
	var hint int64
	if len(wire) >= 4 {
		hint = int64(binary.LittleEndian.Uint32(wire[len(wire)-4:]))
		if hint > int64(len(wire))*maxRatio {
			hint = 0
		}
	}
	return decompressed(zr, "gzip", wire, limit, hint)
}

func inflate(wire []byte, limit int64) ([]byte, error) {
	// HTTP "deflate" is the zlib format, but some senders send raw deflate
	// data: tell them apart by the zlib header check bits.
	if len(wire) >= 2 && wire[0]&0x0f == 8 && (uint16(wire[0])<<8|uint16(wire[1]))%31 == 0 {
		zr, err := zlib.NewReader(bytes.NewReader(wire))
		if err != nil {
			return nil, Invalid(fmt.Errorf("zlib body: %w", err))
		}
		return decompressed(zr, "zlib", wire, limit, 0)
	}
	return decompressed(flate.NewReader(bytes.NewReader(wire)), "deflate", wire, limit, 0)
}

func decompressed(rc io.ReadCloser, format string, wire []byte, limit, hint int64) ([]byte, error) {
	defer rc.Close()
	if hint <= 0 {
		hint = int64(len(wire)) * 4
	}
	b, err := readLimited(rc, limit, hint)
	if err != nil {
		return nil, wrapRead(format+" body", err)
	}
	return b, nil
}

func unzstd(wire []byte, limit int64) ([]byte, error) {
	// Streaming senders declare windows of several MiB whatever the data
	// size; allow those, and let readLimited bound the output.
	window := uint64(max(limit, zstdMinWindow))
	dec, err := zstd.NewReader(bytes.NewReader(wire), zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(window))
	if err != nil {
		return nil, Invalid(fmt.Errorf("zstd body: %w", err))
	}
	// A frame header may state the decompressed size.
	var hint int64
	var h zstd.Header
	if h.Decode(wire) == nil && h.HasFCS {
		hint = int64(min(h.FrameContentSize, uint64(limit)))
	}
	return decompressed(dec.IOReadCloser(), "zstd", wire, limit, hint)
}
