package testkit

import (
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
)

// ReadBody returns an HTTP request's body, gunzipped when its
// Content-Encoding is gzip, as a test OTLP/HTTP backend needs it.
func ReadBody(r *http.Request) ([]byte, error) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, fmt.Errorf("gzip body: %w", err)
		}
		body = zr
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	return data, nil
}
