package receivetest

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// Request is an HTTP request a receiver test sends.
type Request struct {
	Method      string // POST when empty
	URL         string
	ContentType string // no Content-Type header when empty
	Encoding    string // no Content-Encoding header when empty
	Header      map[string]string
	Body        []byte
}

// Send sends req and returns the response, whose body it has read and
// closed, and that body.
func (req Request) Send(t testing.TB) (*http.Response, []byte) {
	t.Helper()
	method := req.Method
	if method == "" {
		method = http.MethodPost
	}
	r, err := http.NewRequest(method, req.URL, bytes.NewReader(req.Body))
	if err != nil {
		t.Fatal(err)
	}
	if req.ContentType != "" {
		r.Header.Set("Content-Type", req.ContentType)
	}
	if req.Encoding != "" {
		r.Header.Set("Content-Encoding", req.Encoding)
	}
	for k, v := range req.Header {
		r.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	return resp, body
}
