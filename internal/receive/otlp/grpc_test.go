package otlp

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	_ "google.golang.org/grpc/encoding/gzip" // servers and clients of these tests speak gzip
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"waymark/internal/model"
	"waymark/internal/receive"
	"waymark/internal/receive/receivetest"
)

// startGRPC serves the OTLP receiver on a loopback port and returns a
// client connection to it.
func startGRPC(t testing.TB, next model.Consumer, opts receive.Options, sopts ...grpc.ServerOption) *grpc.ClientConn {
	t.Helper()
	return receivetest.ServeGRPC(t, func(s *grpc.Server) { RegisterGRPC(s, next, opts) }, sopts...)
}

func TestGRPCFromSDK(t *testing.T) {
	rec := &receivetest.Recorder{}
	conn := startGRPC(t, rec, receive.Options{})
	exp, err := otlptracegrpc.New(context.Background(),
		otlptracegrpc.WithEndpoint(conn.Target()), otlptracegrpc.WithInsecure(),
		otlptracegrpc.WithCompressor("gzip"), otlptracegrpc.WithHeaders(map[string]string{"X-Scope-OrgID": "acme"}))
	if err != nil {
		t.Fatal(err)
	}
	root, child := emitSpans(t, exp)
	checkSDKBatches(t, rec, root, child, "acme")
}

// workloadRequest is a request of the reference workload shape.
func workloadRequest(t testing.TB, n int) *coltracepb.ExportTraceServiceRequest {
	t.Helper()
	req := &coltracepb.ExportTraceServiceRequest{}
	if err := proto.Unmarshal(marshal(t, receivetest.WorkloadTraces(n, 3, false)), req); err != nil {
		t.Fatal(err)
	}
	return req
}

func TestGRPCExport(t *testing.T) {
	okReq := workloadRequest(t, 10)
	okBytes, err := proto.Marshal(okReq)
	if err != nil {
		t.Fatal(err)
	}
	zeroReq := workloadRequest(t, 3)
	zeroSpans := zeroReq.ResourceSpans[0].ScopeSpans[0].Spans
	zeroSpans[0].TraceId = nil
	zeroSpans[1].SpanId = make([]byte, 8)
	badReq := workloadRequest(t, 1)
	badReq.ResourceSpans[0].ScopeSpans[0].Spans[0].TraceId = []byte{1, 2, 3}

	cases := []struct {
		name       string
		req        *coltracepb.ExportTraceServiceRequest
		tenant     string
		consumeErr error
		wantCode   codes.Code
		wantRetry  bool
		wantSpans  int
		rejected   int64
		wantTenant string
		wantOTLP   []byte
	}{
		{name: "accepted", req: okReq, wantSpans: 10, wantTenant: model.DefaultTenant, wantOTLP: okBytes},
		{name: "tenant from metadata", req: okReq, tenant: "team-a", wantSpans: 10, wantTenant: "team-a", wantOTLP: okBytes},
		{name: "empty request", req: &coltracepb.ExportTraceServiceRequest{}},
		{name: "zero ids are partial success", req: zeroReq, wantSpans: 1, rejected: 2, wantTenant: model.DefaultTenant},
		{name: "bad trace id width", req: badReq, wantCode: codes.InvalidArgument},
		{name: "bad tenant", req: okReq, tenant: "a/b", wantCode: codes.InvalidArgument},
		{name: "overloaded", req: okReq, consumeErr: &model.OverloadedError{Reason: "queue full", RetryAfter: 3 * time.Second}, wantCode: codes.Unavailable, wantRetry: true},
		{name: "store failure is retryable", req: okReq, consumeErr: errors.New("disk full"), wantCode: codes.Unavailable, wantRetry: true},
	}
	rec := &receivetest.Recorder{}
	conn := startGRPC(t, rec, receive.Options{})
	client := coltracepb.NewTraceServiceClient(conn)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec.Reset()
			rec.Fail(tc.consumeErr)
			ctx := context.Background()
			if tc.tenant != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, "x-scope-orgid", tc.tenant)
			}
			resp, err := client.Export(ctx, tc.req)
			st := status.Convert(err)
			if st.Code() != tc.wantCode {
				t.Fatalf("code %v (%v), want %v", st.Code(), err, tc.wantCode)
			}
			if tc.wantCode != codes.OK {
				if st.Message() == "" {
					t.Error("error has no message")
				}
				if got := hasRetryInfo(st); got != tc.wantRetry {
					t.Errorf("RetryInfo present %v, want %v", got, tc.wantRetry)
				}
				if len(rec.Batches()) != 0 && tc.consumeErr == nil {
					t.Error("refused request reached the consumer")
				}
				return
			}
			if got := resp.GetPartialSuccess().GetRejectedSpans(); got != tc.rejected {
				t.Errorf("rejected %d, want %d", got, tc.rejected)
			}
			if tc.rejected > 0 && !strings.Contains(resp.GetPartialSuccess().GetErrorMessage(), "all-zero") {
				t.Errorf("partial success message %q", resp.GetPartialSuccess().GetErrorMessage())
			}
			batch := rec.ExpectBatch(t, tc.wantSpans)
			if tc.wantSpans == 0 {
				return
			}
			if batch.Tenant != tc.wantTenant {
				t.Errorf("tenant %q, want %q", batch.Tenant, tc.wantTenant)
			}
			if !bytes.Equal(batch.OTLP, tc.wantOTLP) {
				t.Errorf("batch OTLP is %d bytes, want %d", len(batch.OTLP), len(tc.wantOTLP))
			}
		})
	}
}

func hasRetryInfo(st *status.Status) bool {
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay().AsDuration() > 0 {
			return true
		}
	}
	return false
}

func TestGRPCGarbageAndLimits(t *testing.T) {
	rec := &receivetest.Recorder{}
	reg := prometheus.NewRegistry()
	conn := startGRPC(t, rec, receive.Options{Registerer: reg}, grpc.MaxRecvMsgSize(64<<10))
	cases := []struct {
		name string
		body []byte
		want codes.Code
	}{
		{"truncated", marshal(t, receivetest.WorkloadTraces(5, 1, false))[:100], codes.InvalidArgument},
		{"random bytes", []byte{0xff, 0xff, 0xff, 0xff}, codes.InvalidArgument},
		{"too large", marshal(t, receivetest.WorkloadTraces(1000, 1, false)), codes.ResourceExhausted},
		{"valid after garbage", marshal(t, receivetest.WorkloadTraces(5, 1, false)), codes.OK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := new(receive.RawMessage)
			err := conn.Invoke(context.Background(), exportMethod, &receive.RawMessage{Bytes: tc.body}, out, grpc.UseCompressor("gzip"))
			if got := status.Code(err); got != tc.want {
				t.Fatalf("code %v (%v), want %v", got, err, tc.want)
			}
		})
	}
	if got := receivetest.CounterValue(t, reg, "waymark_receiver_accepted_spans_total", map[string]string{"receiver": "otlp_grpc"}); got != 5 {
		t.Errorf("accepted spans metric %v, want 5", got)
	}
	if got := receivetest.CounterValue(t, reg, "waymark_receiver_failed_requests_total", map[string]string{"receiver": "otlp_grpc", "reason": "invalid"}); got != 2 {
		t.Errorf("failed requests metric %v, want 2", got)
	}
}

func TestGRPCInterceptorSeesRequest(t *testing.T) {
	var seen string
	icpt := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		seen = info.FullMethod
		return h(ctx, req)
	}
	rec := &receivetest.Recorder{}
	conn := startGRPC(t, rec, receive.Options{}, grpc.UnaryInterceptor(icpt))
	if _, err := coltracepb.NewTraceServiceClient(conn).Export(context.Background(), workloadRequest(t, 2)); err != nil {
		t.Fatal(err)
	}
	if seen != exportMethod {
		t.Errorf("interceptor saw %q, want %q", seen, exportMethod)
	}
	if len(rec.Spans()) != 2 {
		t.Errorf("got %d spans, want 2", len(rec.Spans()))
	}
}
