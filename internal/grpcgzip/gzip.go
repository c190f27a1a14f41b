package grpcgzip

import (
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
	"google.golang.org/grpc/encoding"
)

// Name is the codec's name in the grpc-encoding header.
const Name = "gzip"

// Codec is a gRPC encoding.Compressor for gzip. Its zero value is ready to
// use, and it is safe for concurrent use.
type Codec struct {
	writers sync.Pool // *writer
	readers sync.Pool // *reader
}

var _ encoding.Compressor = (*Codec)(nil)

// Register makes c the codec gRPC uses for "gzip" in this process, both
// to send and to receive. Call it from main before any gRPC use.
func Register() { encoding.RegisterCompressor(&Codec{}) }

// Name returns "gzip".
func (c *Codec) Name() string { return Name }

// Compress returns a writer that gzips to w; gRPC closes it after each
// message, which flushes the gzip trailer and returns it to the pool.
func (c *Codec) Compress(w io.Writer) (io.WriteCloser, error) {
	if z, ok := c.writers.Get().(*writer); ok {
		z.zw.Reset(w)
		return z, nil
	}
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return nil, fmt.Errorf("gzip writer: %w", err)
	}
	return &writer{zw: zw, pool: &c.writers}, nil
}

// Decompress returns a reader of the gzip stream r. It fails at once when
// r does not start with a gzip header.
func (c *Codec) Decompress(r io.Reader) (io.Reader, error) {
	z, ok := c.readers.Get().(*reader)
	if !ok {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("gzip header: %w", err)
		}
		return &reader{zr: zr, pool: &c.readers}, nil
	}
	if err := z.zr.Reset(r); err != nil {
		c.readers.Put(z)
		return nil, fmt.Errorf("gzip header: %w", err)
	}
	return z, nil
}

// writer and reader hide every method of the gzip types but the ones
// below, so that io.Copy cannot bypass Read and keep a reader from its pool.
type writer struct {
	zw   *gzip.Writer
	pool *sync.Pool
}

// Write compresses p.
func (w *writer) Write(p []byte) (int, error) { return w.zw.Write(p) }

// Close finishes the gzip stream and returns the writer to its pool.
func (w *writer) Close() error {
	defer w.pool.Put(w)
	return w.zw.Close()
}

type reader struct {
	zr   *gzip.Reader
	pool *sync.Pool
}

// Read reads decompressed bytes. At the end of the stream the reader goes
// back to its pool, so it must not be read again after io.EOF, which gRPC
// never does.
func (r *reader) Read(p []byte) (int, error) {
	n, err := r.zr.Read(p)
	if err == io.EOF {
		r.pool.Put(r)
	}
	return n, err
}
