package jaegergrpc

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"testing"
	"time"

	jaegermodel "github.com/jaegertracing/jaeger-idl/model/v1"
	"github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"waymark/internal/api/apitest"
	"waymark/internal/model"
)

// startServer serves the fixture (traces A and B for the default tenant,
// B alone for tenant "other") from a MemQuerier on a loopback port and
// returns a client.
func startServer(t *testing.T, reg prometheus.Registerer) (api_v2.QueryServiceClient, *apitest.MemQuerier) {
	t.Helper()
	mq := fixtureQuerier()
	return serve(t, mq, reg), mq
}

// fixtureQuerier returns a MemQuerier holding traces A and B for the
// default tenant and B alone for tenant "other".
func fixtureQuerier() *apitest.MemQuerier {
	mq := apitest.NewMemQuerier()
	a, b := apitest.Fixture()
	mq.Add(model.DefaultTenant, a...)
	mq.Add(model.DefaultTenant, b...)
	_, b2 := apitest.Fixture()
	mq.Add("other", b2...)
	return mq
}

// serve serves q on a loopback port and returns an api_v2 client.
func serve(t *testing.T, q Querier, reg prometheus.Registerer) api_v2.QueryServiceClient {
	t.Helper()
	return api_v2.NewQueryServiceClient(dial(t, listenAndServe(t, q, reg), grpc.WithDefaultCallOptions(CallOption())))
}

// listenAndServe serves q with Register on a loopback port until the test
// ends and returns the address.
func listenAndServe(t testing.TB, q Querier, reg prometheus.Registerer) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	Register(s, q, Options{Registerer: reg})
	go func() { _ = s.Serve(l) }()
	t.Cleanup(s.Stop)
	return l.Addr().String()
}

// dial connects to addr until the test ends.
func dial(t testing.TB, addr string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func withTenant(tenant string) context.Context {
	ctx := context.Background()
	if tenant != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "x-scope-orgid", tenant)
	}
	return ctx
}

// recvAll reads a span stream to its end and returns the spans and the
// number of chunks.
func recvAll(t *testing.T, recv func() (*api_v2.SpansResponseChunk, error)) ([]jaegermodel.Span, int, error) {
	t.Helper()
	var spans []jaegermodel.Span
	chunks := 0
	for {
		c, err := recv()
		if errors.Is(err, io.EOF) {
			return spans, chunks, nil
		}
		if err != nil {
			return spans, chunks, err
		}
		if len(c.Spans) == 0 || len(c.Spans) > maxSpansPerChunk {
			t.Errorf("chunk of %d spans", len(c.Spans))
		}
		chunks++
		spans = append(spans, c.Spans...)
	}
}

func jaegerTraceID(s string) jaegermodel.TraceID {
	id := apitest.MustTraceID(s)
	var hi, lo uint64
	for i := range 8 {
		hi = hi<<8 | uint64(id[i])
		lo = lo<<8 | uint64(id[8+i])
	}
	return jaegermodel.NewTraceID(hi, lo)
}

func TestGetTrace(t *testing.T) {
	client, _ := startServer(t, nil)
	checkGetTrace(t, client)
}

func checkGetTrace(t *testing.T, client api_v2.QueryServiceClient) {
	t.Helper()
	tests := []struct {
		name    string
		id      jaegermodel.TraceID
		tenant  string
		code    codes.Code
		spans   int
		service string // of the first span's process
	}{
		{"128-bit trace", jaegerTraceID(apitest.TraceA), "", codes.OK, 4, "frontend"},
		{"64-bit trace", jaegerTraceID(apitest.TraceB), "", codes.OK, 1, "cart"},
		{"unknown", jaegermodel.NewTraceID(0, 0xdef), "", codes.NotFound, 0, ""},
		{"zero", jaegermodel.NewTraceID(0, 0), "", codes.InvalidArgument, 0, ""},
		{"other tenant cannot see it", jaegerTraceID(apitest.TraceA), "other", codes.NotFound, 0, ""},
		{"bad tenant", jaegerTraceID(apitest.TraceA), "a/b", codes.InvalidArgument, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stream, err := client.GetTrace(withTenant(tt.tenant), &api_v2.GetTraceRequest{TraceID: tt.id})
			if err != nil {
				t.Fatal(err)
			}
			spans, _, err := recvAll(t, stream.Recv)
			if got := status.Code(err); got != tt.code {
				t.Fatalf("code %v, want %v (%v)", got, tt.code, err)
			}
			if len(spans) != tt.spans {
				t.Fatalf("%d spans, want %d", len(spans), tt.spans)
			}
			for _, sp := range spans {
				if sp.TraceID != tt.id {
					t.Errorf("span trace ID %v, want %v", sp.TraceID, tt.id)
				}
				if sp.Process == nil || sp.Process.ServiceName == "" {
					t.Errorf("span %v has no process", sp.SpanID)
				}
			}
			if tt.spans > 0 && spans[0].Process.ServiceName != tt.service {
				t.Errorf("first span's service %q, want %q", spans[0].Process.ServiceName, tt.service)
			}
		})
	}
}

func TestGetTraceContent(t *testing.T) {
	client, _ := startServer(t, nil)
	stream, err := client.GetTrace(context.Background(), &api_v2.GetTraceRequest{TraceID: jaegerTraceID(apitest.TraceA)})
	if err != nil {
		t.Fatal(err)
	}
	spans, _, err := recvAll(t, stream.Recv)
	if err != nil {
		t.Fatal(err)
	}
	var errSpan *jaegermodel.Span
	for i := range spans {
		if spans[i].OperationName == "get /items" && spans[i].Process.ServiceName == "cart" {
			errSpan = &spans[i]
		}
	}
	if errSpan == nil {
		t.Fatal("server half of the shared span missing")
	}
	if errSpan.StartTime != time.Unix(0, int64(apitest.T0+2*apitest.MS)).UTC() || errSpan.Duration != 37*time.Millisecond {
		t.Errorf("time %v + %v", errSpan.StartTime, errSpan.Duration)
	}
	tags := map[string]string{}
	for _, kv := range errSpan.Tags {
		tags[kv.Key] = kv.AsString()
	}
	if tags["error"] != "true" || tags["span.kind"] != "server" || tags["otel.status_description"] != "out of stock" {
		t.Errorf("tags %v", tags)
	}
	if len(errSpan.Logs) != 2 || errSpan.Logs[0].Timestamp != time.Unix(0, int64(apitest.T0+3*apitest.MS)).UTC() {
		t.Errorf("logs %v", errSpan.Logs)
	}
	if len(errSpan.References) != 1 || errSpan.References[0].SpanID != jaegermodel.SpanID(1) {
		t.Errorf("references %v", errSpan.References)
	}
}

func TestFindTraces(t *testing.T) {
	client, mq := startServer(t, nil)
	checkFindTraces(t, client)
	mq.Searches()
	stream, err := client.FindTraces(context.Background(), &api_v2.FindTracesRequest{Query: &api_v2.TraceQueryParameters{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := recvAll(t, stream.Recv); err != nil {
		t.Fatal(err)
	}
	if s := mq.Searches(); len(s) != 1 || s[0].Limit != DefaultNumTraces {
		t.Errorf("default search %+v, want limit %d", s, DefaultNumTraces)
	}
}

func checkFindTraces(t *testing.T, client api_v2.QueryServiceClient) {
	t.Helper()
	t0 := time.Unix(0, int64(apitest.T0))
	tests := []struct {
		name   string
		query  *api_v2.TraceQueryParameters
		tenant string
		code   codes.Code
		traces []jaegermodel.TraceID // newest first
	}{
		{"all", &api_v2.TraceQueryParameters{}, "", codes.OK,
			[]jaegermodel.TraceID{jaegerTraceID(apitest.TraceB), jaegerTraceID(apitest.TraceA)}},
		{"service and operation", &api_v2.TraceQueryParameters{ServiceName: "cart", OperationName: "select"}, "", codes.OK,
			[]jaegermodel.TraceID{jaegerTraceID(apitest.TraceA)}},
		{"tags", &api_v2.TraceQueryParameters{Tags: map[string]string{"http.method": "GET", "http.status_code": "200"}}, "", codes.OK,
			[]jaegermodel.TraceID{jaegerTraceID(apitest.TraceA)}},
		{"durations", &api_v2.TraceQueryParameters{DurationMin: 5 * time.Millisecond, DurationMax: 20 * time.Millisecond}, "", codes.OK,
			[]jaegermodel.TraceID{jaegerTraceID(apitest.TraceB)}},
		{"time range", &api_v2.TraceQueryParameters{StartTimeMin: t0.Add(9 * time.Millisecond), StartTimeMax: t0.Add(time.Second)}, "", codes.OK,
			[]jaegermodel.TraceID{jaegerTraceID(apitest.TraceB)}},
		{"limit", &api_v2.TraceQueryParameters{SearchDepth: 1}, "", codes.OK,
			[]jaegermodel.TraceID{jaegerTraceID(apitest.TraceB)}},
		{"nothing", &api_v2.TraceQueryParameters{ServiceName: "nope"}, "", codes.OK, nil},
		{"tenant isolation", &api_v2.TraceQueryParameters{ServiceName: "frontend"}, "other", codes.OK, nil},
		{"no query", nil, "", codes.InvalidArgument, nil},
		{"min after max", &api_v2.TraceQueryParameters{StartTimeMin: t0.Add(time.Second), StartTimeMax: t0}, "", codes.InvalidArgument, nil},
		{"durations reversed", &api_v2.TraceQueryParameters{DurationMin: time.Second, DurationMax: time.Millisecond}, "", codes.InvalidArgument, nil},
		{"negative depth", &api_v2.TraceQueryParameters{SearchDepth: -1}, "", codes.InvalidArgument, nil},
		{"empty tag key", &api_v2.TraceQueryParameters{Tags: map[string]string{"": "x"}}, "", codes.InvalidArgument, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.query
			if q != nil && q.StartTimeMin.IsZero() && q.StartTimeMax.IsZero() {
				// Jaeger clients always send a window; the querier's default
				// one ends now, long after the fixture.
				withWindow := *q
				withWindow.StartTimeMin, withWindow.StartTimeMax = t0.Add(-time.Hour), t0.Add(time.Hour)
				q = &withWindow
			}
			stream, err := client.FindTraces(withTenant(tt.tenant), &api_v2.FindTracesRequest{Query: q})
			if err != nil {
				t.Fatal(err)
			}
			spans, _, err := recvAll(t, stream.Recv)
			if got := status.Code(err); got != tt.code {
				t.Fatalf("code %v, want %v (%v)", got, tt.code, err)
			}
			var ids []jaegermodel.TraceID
			for _, sp := range spans {
				if len(ids) == 0 || ids[len(ids)-1] != sp.TraceID {
					ids = append(ids, sp.TraceID)
				}
			}
			if !slices.Equal(ids, tt.traces) {
				t.Errorf("traces %v, want %v", ids, tt.traces)
			}
		})
	}
}

func TestChunking(t *testing.T) {
	mq := apitest.NewMemQuerier()
	a, _ := apitest.Fixture()
	var spans []model.Span
	for i := range 25 {
		s := a[0]
		s.SpanID = model.SpanID{0, 0, 0, 0, 0, 0, 1, byte(i)}
		spans = append(spans, s)
	}
	mq.Add(model.DefaultTenant, spans...)
	client := serve(t, mq, nil)
	stream, err := client.GetTrace(context.Background(), &api_v2.GetTraceRequest{TraceID: jaegerTraceID(apitest.TraceA)})
	if err != nil {
		t.Fatal(err)
	}
	got, chunks, err := recvAll(t, stream.Recv)
	if err != nil || len(got) != 25 || chunks != 3 {
		t.Errorf("%d spans in %d chunks (%v), want 25 in 3", len(got), chunks, err)
	}
}

func TestListings(t *testing.T) {
	client, mq := startServer(t, nil)
	ctx := context.Background()

	svcs, err := client.GetServices(ctx, &api_v2.GetServicesRequest{})
	if err != nil || !slices.Equal(svcs.Services, []string{"cart", "frontend"}) {
		t.Errorf("services %v, %v", svcs, err)
	}
	svcs, err = client.GetServices(withTenant("other"), &api_v2.GetServicesRequest{})
	if err != nil || !slices.Equal(svcs.Services, []string{"cart"}) {
		t.Errorf("services of other %v, %v", svcs, err)
	}

	ops := []struct {
		name     string
		req      *api_v2.GetOperationsRequest
		code     codes.Code
		names    []string
		kindsOut []string
	}{
		{"all kinds", &api_v2.GetOperationsRequest{Service: "cart"}, codes.OK,
			[]string{"get /items", "select", "checkout"}, []string{"server", "client", "internal"}},
		{"one kind", &api_v2.GetOperationsRequest{Service: "cart", SpanKind: "client"}, codes.OK,
			[]string{"select"}, []string{"client"}},
		{"no service", &api_v2.GetOperationsRequest{}, codes.InvalidArgument, nil, nil},
		{"bad kind", &api_v2.GetOperationsRequest{Service: "cart", SpanKind: "sideways"}, codes.InvalidArgument, nil, nil},
	}
	for _, tt := range ops {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := client.GetOperations(ctx, tt.req)
			if got := status.Code(err); got != tt.code {
				t.Fatalf("code %v, want %v (%v)", got, tt.code, err)
			}
			if err != nil {
				return
			}
			var kinds []string
			for _, op := range resp.Operations {
				kinds = append(kinds, op.SpanKind)
			}
			if !slices.Equal(resp.OperationNames, tt.names) || !slices.Equal(kinds, tt.kindsOut) {
				t.Errorf("operations %v kinds %v, want %v %v", resp.OperationNames, kinds, tt.names, tt.kindsOut)
			}
		})
	}

	end := time.Unix(0, int64(apitest.T0)).Add(time.Hour)
	deps, err := client.GetDependencies(ctx, &api_v2.GetDependenciesRequest{StartTime: end.Add(-24 * time.Hour), EndTime: end})
	if err != nil || len(deps.Dependencies) != 1 || deps.Dependencies[0].Parent != "frontend" || deps.Dependencies[0].Child != "cart" || deps.Dependencies[0].CallCount != 2 {
		t.Errorf("dependencies %v, %v", deps, err)
	}
	if w := mq.DependencyWindow(); w != [2]uint64{uint64(end.Add(-24 * time.Hour).UnixNano()), uint64(end.UnixNano())} {
		t.Errorf("dependency window %v", w)
	}
	if _, err := client.GetDependencies(ctx, &api_v2.GetDependenciesRequest{}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("dependencies without end: %v", err)
	}
	if _, err := client.ArchiveTrace(ctx, &api_v2.ArchiveTraceRequest{TraceID: jaegerTraceID(apitest.TraceA)}); status.Code(err) != codes.Unimplemented {
		t.Errorf("archive: %v", err)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
		code codes.Code
	}{
		{"overloaded", &model.OverloadedError{RetryAfter: time.Second}, codes.Unavailable},
		{"deadline", context.DeadlineExceeded, codes.DeadlineExceeded},
		{"internal", errors.New("disk on fire"), codes.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			client, mq := startServer(t, reg)
			mq.Err = tt.err
			if _, err := client.GetServices(context.Background(), &api_v2.GetServicesRequest{}); status.Code(err) != tt.code {
				t.Errorf("GetServices: %v, want %v", err, tt.code)
			}
			stream, err := client.FindTraces(context.Background(), &api_v2.FindTracesRequest{Query: &api_v2.TraceQueryParameters{}})
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := recvAll(t, stream.Recv); status.Code(err) != tt.code {
				t.Errorf("FindTraces: %v, want %v", err, tt.code)
			}
			families, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			counted := 0.0
			for _, f := range families {
				if f.GetName() != "waymark_jaegergrpc_requests_total" {
					continue
				}
				for _, m := range f.GetMetric() {
					for _, l := range m.GetLabel() {
						if l.GetName() == "code" && l.GetValue() == tt.code.String() {
							counted += m.GetCounter().GetValue()
						}
					}
				}
			}
			if counted != 2 {
				t.Errorf("counted %v calls with code %v, want 2", counted, tt.code)
			}
		})
	}
}

func TestUndecodableRequest(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	Register(s, apitest.NewMemQuerier(), Options{})
	go func() { _ = s.Serve(l) }()
	defer s.Stop()
	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tests := []struct {
		name, method string
		stream       bool
	}{
		{"unary", "GetOperations", false},
		{"streaming", "FindTraces", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			garbage := &rawMessage{b: []byte{0x0a, 0xff, 0xff}}
			full := "/" + serviceName + "/" + tt.method
			if !tt.stream {
				err = conn.Invoke(context.Background(), full, garbage, new(rawMessage))
			} else {
				var st grpc.ClientStream
				st, err = conn.NewStream(context.Background(), &grpc.StreamDesc{ServerStreams: true}, full)
				if err == nil {
					if err = st.SendMsg(garbage); err == nil {
						_ = st.CloseSend()
						err = st.RecvMsg(new(rawMessage))
					}
				}
			}
			if status.Code(err) != codes.InvalidArgument {
				t.Errorf("%s with garbage: %v, want InvalidArgument", tt.method, err)
			}
		})
	}
}
