package receive

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"waymark/internal/receive/receivetest"
)

func newRequest(body []byte, encoding string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	if encoding != "" {
		r.Header.Set("Content-Encoding", encoding)
	}
	return r
}

func TestReadBody(t *testing.T) {
	const limit = 1000
	plain := bytes.Repeat([]byte("waymark "), 100) // 800 bytes
	exact := bytes.Repeat([]byte("x"), limit)
	over := bytes.Repeat([]byte("x"), limit+1)

	cases := []struct {
		name     string
		encoding string
		body     []byte
		want     []byte
		wantErr  any // nil, **InvalidError, **TooLargeError or **MediaTypeError
	}{
		{name: "identity", body: plain, want: plain},
		{name: "identity named", encoding: "identity", body: plain, want: plain},
		{name: "empty", body: nil, want: []byte{}},
		{name: "exactly the limit", body: exact, want: exact},
		{name: "one byte over", body: over, wantErr: new(*TooLargeError)},
		{name: "gzip", encoding: "gzip", body: receivetest.Compress(t, "gzip", plain), want: plain},
		{name: "x-gzip upper case", encoding: " X-GZIP ", body: receivetest.Compress(t, "gzip", plain), want: plain},
		{name: "gzip exactly the limit", encoding: "gzip", body: receivetest.Compress(t, "gzip", exact), want: exact},
		{name: "gzip one byte over", encoding: "gzip", body: receivetest.Compress(t, "gzip", over), wantErr: new(*TooLargeError)},
		{name: "gzip bomb", encoding: "gzip", body: receivetest.Bomb(t, "gzip", 10<<20), wantErr: new(*TooLargeError)},
		{name: "gzip two members", encoding: "gzip", body: append(receivetest.Compress(t, "gzip", plain[:300]), receivetest.Compress(t, "gzip", plain[300:])...), want: plain},
		{name: "gzip corrupt", encoding: "gzip", body: []byte("plain text"), wantErr: new(*InvalidError)},
		{name: "gzip truncated", encoding: "gzip", body: receivetest.Compress(t, "gzip", plain)[:20], wantErr: new(*InvalidError)},
		{name: "zlib", encoding: "zlib", body: receivetest.Compress(t, "zlib", plain), want: plain},
		{name: "deflate as zlib", encoding: "deflate", body: receivetest.Compress(t, "zlib", plain), want: plain},
		{name: "deflate raw", encoding: "deflate", body: receivetest.Compress(t, "raw-deflate", plain), want: plain},
		{name: "deflate bomb", encoding: "deflate", body: receivetest.Bomb(t, "raw-deflate", 10<<20), wantErr: new(*TooLargeError)},
		{name: "deflate corrupt", encoding: "deflate", body: []byte{0xff, 0xff, 0xff}, wantErr: new(*InvalidError)},
		{name: "zstd", encoding: "zstd", body: receivetest.Compress(t, "zstd", plain), want: plain},
		{name: "zstd bomb", encoding: "zstd", body: receivetest.Bomb(t, "zstd", 10<<20), wantErr: new(*TooLargeError)},
		{name: "zstd corrupt", encoding: "zstd", body: []byte("definitely not zstd"), wantErr: new(*InvalidError)},
		{name: "unknown encoding", encoding: "br", body: plain, wantErr: new(*MediaTypeError)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadBody(newRequest(tc.body, tc.encoding), limit)
			if tc.wantErr != nil {
				if err == nil || !errors.As(err, tc.wantErr) {
					t.Fatalf("error %v (%T), want %T", err, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("got %d bytes, want %d", len(got), len(tc.want))
			}
		})
	}
}

func TestReadBodyTrustsNoContentLength(t *testing.T) {
	r := newRequest(bytes.Repeat([]byte("x"), 5000), "")
	r.ContentLength = 10 // lies: the body is longer
	if _, err := ReadBody(r, 1000); !errors.As(err, new(*TooLargeError)) {
		t.Fatalf("error %v, want a TooLargeError", err)
	}
	r = newRequest([]byte("x"), "")
	r.ContentLength = 1 << 40 // announced beyond the limit
	if _, err := ReadBody(r, 1000); !errors.As(err, new(*TooLargeError)) {
		t.Fatalf("error %v, want a TooLargeError", err)
	}
}

func TestReadBodyMaxBytesReader(t *testing.T) {
	r := newRequest(bytes.Repeat([]byte("x"), 5000), "")
	r.ContentLength = -1
	r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 100)
	if _, err := ReadBody(r, 1000); !errors.As(err, new(*TooLargeError)) {
		t.Fatalf("error %v, want a TooLargeError", err)
	}
}

func TestReadBodyReadError(t *testing.T) {
	r := newRequest(nil, "")
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader([]byte("abc")), errReader{}))
	if _, err := ReadBody(r, 1000); !errors.As(err, new(*InvalidError)) {
		t.Fatalf("error %v, want an InvalidError", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }
