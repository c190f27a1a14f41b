package otlp

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"waymark/internal/model"
	"waymark/internal/receive"
	"waymark/internal/receive/receivetest"
)

// BenchmarkOTLPHTTPExport measures the whole OTLP/HTTP path over loopback,
// protobuf with and without gzip, into a consumer that does nothing;
// batches of 1,000 workload spans, pre-encoded by the client.
func BenchmarkOTLPHTTPExport(b *testing.B) {
	const n = 1000
	plain := marshal(b, receivetest.WorkloadTraces(n, 3, false))
	noop := model.ConsumerFunc(func(context.Context, model.Batch) error { return nil })
	srv := httptest.NewServer(NewHTTPHandler(noop, receive.Options{}))
	defer srv.Close()
	for _, enc := range []string{"", "gzip"} {
		body := plain
		if enc != "" {
			body = receivetest.Compress(b, enc, plain)
		}
		name := "identity"
		if enc != "" {
			name = enc
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(plain)))
			cpu := receivetest.ProcessCPU()
			for b.Loop() {
				req, err := http.NewRequest(http.MethodPost, srv.URL+TracesPath, bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				req.Header.Set("Content-Type", contentTypeProto)
				if enc != "" {
					req.Header.Set("Content-Encoding", enc)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
			receivetest.ReportPerSpan(b, n, cpu)
		})
	}
}
