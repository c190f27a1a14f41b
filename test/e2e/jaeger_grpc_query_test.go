package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"testing"
	"time"

	jaegermodel "github.com/jaegertracing/jaeger-idl/model/v1"
	"github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
	collectorpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"waymark/internal/api/jaegergrpc"
	"waymark/internal/api/jaegergrpc/apiv3pb"
)

func (s *server) jaegerGRPCQueryAddr() string {
	return "127.0.0.1:" + strconv.Itoa(s.ports.JaegerGRPCQuery)
}

// grpcConn connects to addr with gRPC's defaults (4 MiB receive limit).
func grpcConn(t *testing.T, addr string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func tenantCtx(tenant string) context.Context {
	if tenant == "" {
		return context.Background()
	}
	return metadata.AppendToOutgoingContext(context.Background(), "x-scope-orgid", tenant)
}

// otlpTrace builds a trace of n spans of service, each with a route
// attribute, starting at start; span i's parent is span (i-1)/2.
func otlpTrace(traceID byte, service string, n int, start time.Time) *tracepb.ResourceSpans {
	tid := []byte{0xe2, 0xe0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, traceID}
	spans := make([]*tracepb.Span, n)
	for i := range spans {
		id := i + 1
		sid := []byte{0, 0, 0, 0, byte(id >> 24), byte(id >> 16), byte(id >> 8), byte(id)}
		sp := &tracepb.Span{
			TraceId: tid, SpanId: sid, Name: fmt.Sprintf("op-%d", i%3), Kind: tracepb.Span_SPAN_KIND_SERVER,
			StartTimeUnixNano: uint64(start.Add(time.Duration(i) * time.Microsecond).UnixNano()),
			EndTimeUnixNano:   uint64(start.Add(time.Duration(i)*time.Microsecond + 3*time.Millisecond).UnixNano()),
			Attributes: []*commonpb.KeyValue{
				{Key: "http.route", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "/api/v1/items/{id}/details/with/a/long/path"}}},
				{Key: "db.statement", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "select * from items where id = ? and owner = ? and region = ?"}}},
			},
		}
		if i > 0 {
			sp.ParentSpanId = spans[(i-1)/2].SpanId
		}
		spans[i] = sp
	}
	return &tracepb.ResourceSpans{
		Resource:   &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{Key: "service.name", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: service}}}}},
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: spans}},
	}
}

// exportOTLP sends a trace over OTLP gRPC for tenant, in batches.
func exportOTLP(t *testing.T, s *server, tenant string, rs *tracepb.ResourceSpans) {
	t.Helper()
	client := collectorpb.NewTraceServiceClient(grpcConn(t, s.otlpGRPCAddr()))
	all := rs.ScopeSpans[0].Spans
	for i := 0; i < len(all); i += 2000 {
		batch := &tracepb.ResourceSpans{Resource: rs.Resource, ScopeSpans: []*tracepb.ScopeSpans{{Spans: all[i:min(i+2000, len(all))]}}}
		if _, err := client.Export(tenantCtx(tenant), &collectorpb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{batch}}); err != nil {
			t.Fatalf("export spans %d..: %v", i, err)
		}
	}
}

// readV3Trace reads a GetTrace stream whole: span count, messages, error.
func readV3Trace(client apiv3pb.QueryServiceClient, tenant, id string) (int, int, error) {
	stream, err := client.GetTrace(tenantCtx(tenant), &apiv3pb.GetTraceRequest{TraceId: id})
	if err != nil {
		return 0, 0, err
	}
	spans, chunks := 0, 0
	for {
		td, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return spans, chunks, nil
		}
		if err != nil {
			return spans, chunks, err
		}
		chunks++
		for _, rs := range td.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				spans += len(ss.GetSpans())
			}
		}
	}
}

// TestJaegerGRPCQueryV3 sends traces over OTLP gRPC to the real binary and
// reads them back through jaeger.api_v3.QueryService on the Jaeger gRPC
// query port, with the generated client and gRPC's default limits: a
// 20,000-span trace above 4 MiB arrives whole, tenants stay apart, and
// api_v2 on the same port agrees.
func TestJaegerGRPCQueryV3(t *testing.T) {
	s := startServer(t)
	start := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	const bigSpans = 20_000
	exportOTLP(t, s, "acme", otlpTrace(1, "shop", bigSpans, start))
	exportOTLP(t, s, "", otlpTrace(2, "billing", 5, start))
	bigID, smallID := "e2e00000000000000000000000000001", "e2e00000000000000000000000000002"

	v3 := apiv3pb.NewQueryServiceClient(grpcConn(t, s.jaegerGRPCQueryAddr()))
	eventually(t, 30*time.Second, "the big trace to be readable", func() bool {
		n, _, err := readV3Trace(v3, "acme", bigID)
		return err == nil && n == bigSpans
	})
	n, chunks, err := readV3Trace(v3, "acme", bigID)
	if err != nil || n != bigSpans || chunks < 2 {
		t.Fatalf("big trace: %d spans in %d messages (%v), want %d in several", n, chunks, err, bigSpans)
	}

	if _, _, err := readV3Trace(v3, "", bigID); status.Code(err) != codes.NotFound {
		t.Errorf("default tenant reads acme's trace: %v, want NotFound", err)
	}
	if _, _, err := readV3Trace(v3, "", "nothex"); status.Code(err) != codes.InvalidArgument {
		t.Errorf("malformed ID: %v, want InvalidArgument", err)
	}
	if n, _, err := readV3Trace(v3, "", smallID); err != nil || n != 5 {
		t.Errorf("small trace: %d spans, %v", n, err)
	}

	svcs, err := v3.GetServices(tenantCtx("acme"), &apiv3pb.GetServicesRequest{})
	if err != nil || !slices.Equal(svcs.GetServices(), []string{"shop"}) {
		t.Errorf("acme's services %v, %v", svcs.GetServices(), err)
	}
	ops, err := v3.GetOperations(tenantCtx("acme"), &apiv3pb.GetOperationsRequest{Service: "shop", SpanKind: "server"})
	if err != nil || len(ops.GetOperations()) != 3 {
		t.Errorf("acme's operations %v, %v", ops.GetOperations(), err)
	}

	find := func(q *apiv3pb.TraceQueryParameters) ([]string, error) {
		stream, err := v3.FindTraces(tenantCtx(""), &apiv3pb.FindTracesRequest{Query: q})
		if err != nil {
			return nil, err
		}
		var ids []string
		for {
			td, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				return ids, nil
			}
			if err != nil {
				return ids, err
			}
			id := fmt.Sprintf("%x", td.GetResourceSpans()[0].GetScopeSpans()[0].GetSpans()[0].GetTraceId())
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	window := func(q *apiv3pb.TraceQueryParameters) *apiv3pb.TraceQueryParameters {
		q.StartTimeMin, q.StartTimeMax = timestamppb.New(start.Add(-time.Hour)), timestamppb.New(time.Now().Add(time.Hour))
		return q
	}
	if ids, err := find(window(&apiv3pb.TraceQueryParameters{ServiceName: "billing", Attributes: map[string]string{"http.route": "/api/v1/items/{id}/details/with/a/long/path"}})); err != nil || !slices.Equal(ids, []string{smallID}) {
		t.Errorf("search found %v, %v; want %s", ids, err, smallID)
	}
	if _, err := find(window(&apiv3pb.TraceQueryParameters{ServiceName: "shop"})); status.Code(err) != codes.NotFound {
		t.Errorf("default tenant finds acme's service: %v, want NotFound", err)
	}
	if _, err := find(&apiv3pb.TraceQueryParameters{ServiceName: "billing"}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("search without a window: %v, want InvalidArgument", err)
	}

	// api_v2 on the same port sees the same trace.
	v2 := api_v2.NewQueryServiceClient(grpcConn(t, s.jaegerGRPCQueryAddr(), grpc.WithDefaultCallOptions(jaegergrpc.CallOption())))
	stream, err := v2.GetTrace(tenantCtx("acme"), &api_v2.GetTraceRequest{TraceID: jaegermodel.NewTraceID(0xe2e0000000000000, 1)})
	if err != nil {
		t.Fatal(err)
	}
	v2Spans := 0
	for {
		c, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("api_v2 GetTrace: %v", err)
		}
		v2Spans += len(c.Spans)
	}
	if v2Spans != bigSpans {
		t.Errorf("api_v2 read %d spans, api_v3 %d", v2Spans, bigSpans)
	}
}
