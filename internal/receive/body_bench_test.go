package receive

import (
	"bytes"
	"fmt"
	"testing"

	"waymark/internal/receive/receivetest"
)

// BenchmarkReadBody measures reading a 1,000-span OTLP request body as
// sent, and gzip-compressed, as SDKs and collectors send it.
func BenchmarkReadBody(b *testing.B) {
	var buf bytes.Buffer
	for i := range 1000 {
		fmt.Fprintf(&buf, "span-%d http.route=/api/v1/orders/{id} http.response.status_code=200 user.tier=gold;", i)
	}
	plain := buf.Bytes()
	for _, enc := range []string{"", "gzip", "zstd"} {
		body := plain
		if enc != "" {
			body = receivetest.Compress(b, enc, plain)
		}
		name := enc
		if name == "" {
			name = "identity"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(plain)))
			for b.Loop() {
				r := newRequest(body, enc)
				got, err := ReadBody(r, DefaultMaxRequestBytes)
				if err != nil || len(got) != len(plain) {
					b.Fatal(len(got), err)
				}
			}
		})
	}
}
