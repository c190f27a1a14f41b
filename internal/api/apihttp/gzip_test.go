package apihttp

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/klauspost/compress/gzip"
)

func TestGzip(t *testing.T) {
	big := bytes.Repeat([]byte(`{"span":"abcdef0123456789"},`), 200)
	tests := []struct {
		name     string
		accept   string
		body     []byte
		encoding string // "" when the response must be identity
	}{
		{"gzip accepted", "gzip, deflate, br", big, "gzip"},
		{"no accept-encoding", "", big, ""},
		{"gzip refused", "gzip;q=0", big, ""},
		{"small body", "gzip", []byte(`{"data":[]}`), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := Gzip(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Content-Length", strconv.Itoa(len(tt.body)))
				_, _ = w.Write(tt.body)
			}))
			r := httptest.NewRequest(http.MethodGet, "/api/traces/1", nil)
			if tt.accept != "" {
				r.Header.Set("Accept-Encoding", tt.accept)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if got := w.Header().Get("Content-Encoding"); got != tt.encoding {
				t.Fatalf("Content-Encoding = %q, want %q", got, tt.encoding)
			}
			body := w.Body.Bytes()
			if tt.encoding == "gzip" {
				zr, err := gzip.NewReader(w.Body)
				if err != nil {
					t.Fatal(err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
				if w.Body.Len() >= len(tt.body) {
					t.Errorf("compressed %d bytes into %d", len(tt.body), w.Body.Len())
				}
			}
			if !bytes.Equal(body, tt.body) {
				t.Fatalf("body differs: %d bytes, want %d", len(body), len(tt.body))
			}
		})
	}
}
