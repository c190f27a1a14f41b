package grpcgzip

import (
	"bytes"
	stdgzip "compress/gzip"
	"io"
	"testing"
)

// BenchmarkCompress compares the codec with gRPC's default (the standard
// library at its default level) on a 1000-span OTLP request.
func BenchmarkCompress(b *testing.B) {
	data := payload(b, 1000)
	b.Run("codec", func(b *testing.B) {
		c := &Codec{}
		var buf bytes.Buffer
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			w, _ := c.Compress(&buf)
			_, _ = w.Write(data)
			_ = w.Close()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/span")
	})
	b.Run("stdlib-default", func(b *testing.B) {
		var buf bytes.Buffer
		w := stdgzip.NewWriter(&buf)
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			w.Reset(&buf)
			_, _ = w.Write(data)
			_ = w.Close()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/span")
	})
}

func BenchmarkDecompress(b *testing.B) {
	c := &Codec{}
	data := payload(b, 1000)
	z := compress(b, c, data)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := c.Decompress(bytes.NewReader(z))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, r)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/span")
}
