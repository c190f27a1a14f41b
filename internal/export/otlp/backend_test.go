package otlp

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"

	"waymark/internal/testkit"
)

// failure is one answer a test backend gives before it accepts.
type failure struct {
	grpcErr    error
	httpStatus int
	retryAfter string
}

// backend records what a test OTLP server received. It answers with its
// failures in order, then accepts everything.
type backend struct {
	mu       sync.Mutex
	failures []failure
	rejected int64 // partial success on accepted requests
	calls    int
	spans    int
	tenants  map[string]bool
	auth     map[string]bool
	gzipped  bool
}

func newBackend(failures []failure, rejected int64) *backend {
	return &backend{failures: failures, rejected: rejected, tenants: map[string]bool{}, auth: map[string]bool{}}
}

// next records a call and returns the failure to give, if any.
func (b *backend) next(tenant, auth string) (failure, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls++
	b.tenants[tenant] = true
	b.auth[auth] = true
	if b.calls <= len(b.failures) {
		return b.failures[b.calls-1], true
	}
	return failure{}, false
}

func (b *backend) accept(spans int) ptraceotlp.ExportResponse {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.spans += spans
	resp := ptraceotlp.NewExportResponse()
	if b.rejected > 0 {
		resp.PartialSuccess().SetRejectedSpans(b.rejected)
		resp.PartialSuccess().SetErrorMessage("spans too old")
	}
	return resp
}

func (b *backend) snapshot() (calls, spans int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls, b.spans
}

// grpcBackend serves OTLP/gRPC.
type grpcBackend struct {
	ptraceotlp.UnimplementedGRPCServer
	b *backend
}

func (g *grpcBackend) Export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	if f, ok := g.b.next(first(md.Get("x-scope-orgid")), first(md.Get("authorization"))); ok {
		return ptraceotlp.NewExportResponse(), f.grpcErr
	}
	return g.b.accept(req.Traces().SpanCount()), nil
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// startGRPC serves b on a loopback port and returns its address.
func startGRPC(t *testing.T, b *backend, cert *tls.Certificate) string {
	t.Helper()
	return serveGRPC(t, b, "127.0.0.1:0", cert)
}

// startGRPCAt serves b in plaintext on addr.
func startGRPCAt(t *testing.T, b *backend, addr string) {
	t.Helper()
	serveGRPC(t, b, addr, nil)
}

func serveGRPC(t *testing.T, b *backend, addr string, cert *tls.Certificate) string {
	t.Helper()
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	var opts []grpc.ServerOption
	if cert != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{*cert}})))
	}
	srv := grpc.NewServer(opts...)
	ptraceotlp.RegisterGRPCServer(srv, &grpcBackend{b: b})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// httpHandler serves OTLP/HTTP protobuf.
func httpHandler(t *testing.T, b *backend) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		if r.Header.Get("Content-Encoding") == "gzip" {
			b.mu.Lock()
			b.gzipped = true
			b.mu.Unlock()
		}
		data, err := testkit.ReadBody(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if f, ok := b.next(r.Header.Get("X-Scope-OrgID"), r.Header.Get("Authorization")); ok {
			if f.retryAfter != "" {
				w.Header().Set("Retry-After", f.retryAfter)
			}
			http.Error(w, "failing on purpose", f.httpStatus)
			return
		}
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(data); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out, err := b.accept(req.Traces().SpanCount()).MarshalProto()
		if err != nil {
			t.Error(err)
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	})
}

// startHTTP serves b on addr ("127.0.0.1:0" for any port) and returns its
// base URL.
func startHTTP(t *testing.T, b *backend, addr string, cert *tls.Certificate) string {
	t.Helper()
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: httpHandler(t, b), ReadHeaderTimeout: 10 * time.Second}
	scheme := "http"
	if cert != nil {
		scheme = "https"
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}}
		go func() { _ = srv.ServeTLS(lis, "", "") }()
	} else {
		go func() { _ = srv.Serve(lis) }()
	}
	t.Cleanup(func() { _ = srv.Close() })
	return scheme + "://" + lis.Addr().String()
}

// selfSignedCert makes a certificate for 127.0.0.1 and writes it as a CA
// bundle, returning the bundle's path.
func selfSignedCert(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "waymark test backend"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, path
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	if err := lis.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}
