package grpcgzip

import (
	"bytes"
	stdgzip "compress/gzip"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/gzip" // the codec Register replaces
)

// payload returns an OTLP request of n spans, as an exporter sends it.
func payload(t testing.TB, n int) []byte {
	t.Helper()
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "checkout")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	for i := 0; i < n; i++ {
		sp := spans.AppendEmpty()
		sp.SetName("GET /cart")
		sp.SetTraceID([16]byte{byte(i), byte(i >> 8), 1})
		sp.SetSpanID([8]byte{byte(i), byte(i >> 8), 2})
		sp.Attributes().PutStr("http.route", "/cart")
		sp.Attributes().PutInt("http.response.status_code", 200)
	}
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func compress(t testing.TB, c *Codec, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := c.Compress(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func decompress(c *Codec, data []byte) ([]byte, error) {
	r, err := c.Decompress(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func stdCompress(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := stdgzip.NewWriter(&buf)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// The codec speaks the standard gzip format in both directions, and its
// pooled writers and readers start clean every time.
func TestRoundTrips(t *testing.T) {
	c := &Codec{}
	cases := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"one span", payload(t, 1)},
		{"a thousand spans", payload(t, 1000)},
		{"text", []byte(strings.Repeat("waymark ", 10000))},
	}
	for round := 0; round < 3; round++ { // later rounds reuse pooled state
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				ours := compress(t, c, tc.data)
				zr, err := stdgzip.NewReader(bytes.NewReader(ours))
				if err != nil {
					t.Fatal(err)
				}
				if got, err := io.ReadAll(zr); err != nil || !bytes.Equal(got, tc.data) {
					t.Fatalf("standard gzip reads back %d bytes (err %v), want %d", len(got), err, len(tc.data))
				}
				got, err := decompress(c, stdCompress(t, tc.data))
				if err != nil || !bytes.Equal(got, tc.data) {
					t.Fatalf("codec reads back %d bytes of standard gzip (err %v), want %d", len(got), err, len(tc.data))
				}
				if len(tc.data) > 1000 && len(ours) > len(tc.data)/4 {
					t.Errorf("compressed %d bytes to %d", len(tc.data), len(ours))
				}
			})
		}
	}
}

func TestDecompressRefusesBadInput(t *testing.T) {
	c := &Codec{}
	good := compress(t, c, payload(t, 100))
	cases := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"not gzip", []byte("plain protobuf bytes")},
		{"truncated", good[:len(good)/2]},
		{"corrupt body", append(append([]byte(nil), good[:20]...), bytes.Repeat([]byte{0xff}, 40)...)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := decompress(c, tc.data); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	// A failed Reset must not poison the pool.
	if got, err := decompress(c, good); err != nil || !bytes.Equal(got, payload(t, 100)) {
		t.Fatalf("good input after bad: %d bytes, %v", len(got), err)
	}
}

// echoServer is a gRPC service that returns the request bytes.
type echoServer struct{}

type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *v.(*[]byte), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*v.(*[]byte) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

// Over a real gRPC connection a client and server using the codec (as
// registered by Register) exchange gzip messages.
func TestOverGRPC(t *testing.T) {
	if encoding.GetCompressor(Name) == nil {
		t.Fatal("gRPC has no gzip codec registered")
	}
	Register()
	if _, ok := encoding.GetCompressor(Name).(*Codec); !ok {
		t.Fatalf("Register left %T as the gzip codec", encoding.GetCompressor(Name))
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ForceServerCodec(rawCodec{}))
	srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: "test.Echo",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Echo", Handler: func(_ any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			var in []byte
			if err := dec(&in); err != nil {
				return nil, err
			}
			return &in, nil
		}}},
	}, echoServer{})
	go func() { _ = srv.Serve(l) }()
	defer srv.Stop()
	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, n := range []int{1, 500, 5000} {
		in := payload(t, n)
		var out []byte
		err := conn.Invoke(context.Background(), "/test.Echo/Echo", &in, &out, grpc.ForceCodec(rawCodec{}), grpc.UseCompressor(Name))
		if err != nil {
			t.Fatalf("%d spans: %v", n, err)
		}
		if !bytes.Equal(in, out) {
			t.Fatalf("%d spans: echo differs (%d bytes back, %d sent)", n, len(out), len(in))
		}
	}
	if err := conn.Invoke(context.Background(), "/test.Echo/Missing", new([]byte), new([]byte), grpc.ForceCodec(rawCodec{}), grpc.UseCompressor(Name)); err == nil || errors.Is(err, io.EOF) {
		t.Fatalf("unknown method: err = %v", err)
	}
}
