package apitest

import (
	"net/http"
	"testing"
)

// CountingWriter is an http.ResponseWriter that keeps only the status and
// the number of body bytes, so benchmarks measure a handler rather than a
// recorder's buffer.
type CountingWriter struct {
	Head http.Header
	Code int
	N    int64
}

// NewCountingWriter returns a CountingWriter with an empty header.
func NewCountingWriter() *CountingWriter { return &CountingWriter{Head: http.Header{}} }

// Header returns the response header.
func (c *CountingWriter) Header() http.Header { return c.Head }

// WriteHeader records the status code.
func (c *CountingWriter) WriteHeader(code int) { c.Code = code }

// Write counts b and drops it.
func (c *CountingWriter) Write(b []byte) (int, error) {
	if c.Code == 0 {
		c.Code = http.StatusOK
	}
	c.N += int64(len(b))
	return len(b), nil
}

// BenchServe serves req from h in a loop, failing on any status but 200,
// and reports the response size and ns per unit (units per response).
func BenchServe(b *testing.B, h http.Handler, req *http.Request, units int, unit string) {
	b.Helper()
	b.ReportAllocs()
	for b.Loop() {
		w := NewCountingWriter()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
		b.SetBytes(w.N)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(units), "ns/"+unit)
}
