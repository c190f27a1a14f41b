package ui

import (
	"net/http/httptest"
	"testing"
)

func BenchmarkServeAsset(b *testing.B) {
	h, err := newHandler(static, Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name, encoding string
	}{{"gzip", "gzip, deflate, br"}, {"identity", ""}} {
		b.Run(tc.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", h.prefix+"js/trace.js", nil)
			if tc.encoding != "" {
				r.Header.Set("Accept-Encoding", tc.encoding)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			b.SetBytes(int64(w.Body.Len()))
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
			}
		})
	}
}

func BenchmarkServeIndex(b *testing.B) {
	h, err := newHandler(static, Options{})
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/trace/4bf92f3577b34da6a3ce929d0e0e4736", nil)
	b.SetBytes(int64(len(h.index.body)))
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
}
