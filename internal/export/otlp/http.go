package otlp

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"
)

// maxResponseBytes bounds how much of a response body is read.
const maxResponseBytes = 64 << 10

// httpSender sends OTLP/HTTP protobuf.
type httpSender struct {
	client       *http.Client
	url          string
	headers      http.Header
	tenantHeader string
	gzip         bool
	buffers      sync.Pool // *bytes.Buffer
	writers      sync.Pool // *gzip.Writer
}

func newHTTPSender(cfg Config, tlsCfg *tls.Config) (*httpSender, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("parse endpoint: %w", err)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/traces"
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsCfg
	tr.MaxIdleConnsPerHost = max(cfg.Workers, 2)
	s := &httpSender{
		client:  &http.Client{Transport: tr},
		url:     u.String(),
		headers: http.Header{},
		gzip:    cfg.Compression == "gzip",
	}
	for k, v := range cfg.Headers {
		s.headers.Set(k, v)
	}
	s.headers.Set("Content-Type", "application/x-protobuf")
	if s.gzip {
		s.headers.Set("Content-Encoding", "gzip")
	}
	if cfg.TenantHeader != "-" {
		s.tenantHeader = cfg.TenantHeader
	}
	return s, nil
}

func (s *httpSender) send(ctx context.Context, tenant string, req []byte) outcome {
	body := req
	if s.gzip {
		buf, _ := s.buffers.Get().(*bytes.Buffer)
		if buf == nil {
			buf = new(bytes.Buffer)
		}
		defer s.buffers.Put(buf)
		buf.Reset()
		if err := s.compress(buf, req); err != nil {
			return outcome{err: err, code: "compress"}
		}
		body = buf.Bytes()
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return outcome{err: fmt.Errorf("build request: %w", err), code: "request"}
	}
	hreq.Header = s.headers.Clone()
	if s.tenantHeader != "" {
		hreq.Header.Set(s.tenantHeader, tenant)
	}
	resp, err := s.client.Do(hreq)
	if err != nil {
		// Connection refused, reset, timeout: the backend may come back.
		return outcome{err: err, code: "connection", retryable: true}
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil && resp.StatusCode/100 != 2 {
		respBody = nil
	}
	code := strconv.Itoa(resp.StatusCode)
	if resp.StatusCode/100 == 2 {
		if !strings.Contains(resp.Header.Get("Content-Type"), "protobuf") {
			respBody = nil
		}
		return partialOutcome(code, respBody)
	}
	out := outcome{code: code, err: fmt.Errorf("http %d: %s", resp.StatusCode, statusMessage(respBody))}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		out.retryable = true
		out.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return out
}

func (s *httpSender) compress(buf *bytes.Buffer, data []byte) error {
	zw, _ := s.writers.Get().(*gzip.Writer)
	if zw == nil {
		// BestSpeed: the agent's CPU is the scarcer resource; level
		// cannot fail for a valid constant.
		zw, _ = gzip.NewWriterLevel(buf, gzip.BestSpeed)
	} else {
		zw.Reset(buf)
	}
	defer s.writers.Put(zw)
	if _, err := zw.Write(data); err != nil {
		return fmt.Errorf("gzip request: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("gzip request: %w", err)
	}
	return nil
}

func (s *httpSender) close() error {
	s.client.CloseIdleConnections()
	return nil
}

// statusMessage extracts the message of a google.rpc.Status error body,
// falling back to the start of the body as text.
func statusMessage(body []byte) string {
	var st status.Status
	if len(body) > 0 && proto.Unmarshal(body, &st) == nil && st.GetMessage() != "" {
		return st.GetMessage()
	}
	const maxText = 200
	if len(body) > maxText {
		body = body[:maxText]
	}
	return strings.ToValidUTF8(strings.TrimSpace(string(body)), "?")
}

// parseRetryAfter reads a Retry-After value: delay seconds or an HTTP date.
// It returns 0 when there is none or it cannot be read.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
		switch {
		case secs < 0:
			return 0
		case secs > int64(maxRetryAfter/time.Second):
			return maxRetryAfter
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), maxRetryAfter)
	}
	return 0
}
