package jaegergrpc

import (
	"cmp"
	"context"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	jaegermodel "github.com/jaegertracing/jaeger-idl/model/v1"
	"github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
	"go.opentelemetry.io/collector/pdata/ptrace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"waymark/internal/api/apitest"
	"waymark/internal/api/jaegergrpc/apiv3pb"
	"waymark/internal/api/jaegerquery"
	"waymark/internal/model"
	"waymark/internal/query"
)

// serveV3 serves q on a loopback port and returns an api_v3 client on a
// connection with gRPC's default codec, as any api_v3 client has.
func serveV3(t testing.TB, q Querier) apiv3pb.QueryServiceClient {
	t.Helper()
	return apiv3pb.NewQueryServiceClient(dial(t, listenAndServe(t, q, nil)))
}

// flatSpan is the part of a span both APIs carry, to compare them.
type flatSpan struct {
	trace      model.TraceID
	span       model.SpanID
	service    string
	name       string
	start, end uint64
}

func compareFlat(a, b flatSpan) int {
	return cmp.Or(slices.Compare(a.trace[:], b.trace[:]), slices.Compare(a.span[:], b.span[:]),
		cmp.Compare(a.service, b.service), cmp.Compare(a.start, b.start), cmp.Compare(a.name, b.name))
}

// flattenOTLP flattens one TracesData message.
func flattenOTLP(td *tracepb.TracesData) []flatSpan {
	var out []flatSpan
	for _, rs := range td.GetResourceSpans() {
		service := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				service = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				f := flatSpan{service: service, name: sp.GetName(), start: sp.GetStartTimeUnixNano(), end: sp.GetEndTimeUnixNano()}
				copy(f.trace[:], sp.GetTraceId())
				copy(f.span[:], sp.GetSpanId())
				out = append(out, f)
			}
		}
	}
	return out
}

// recvOTLP reads a TracesData stream to its end. It returns the spans in
// stream order and the number of messages, and checks that no message
// exceeds maxChunkBytes.
func recvOTLP(t *testing.T, stream grpc.ServerStreamingClient[tracepb.TracesData]) ([]flatSpan, int, error) {
	t.Helper()
	var spans []flatSpan
	chunks := 0
	for {
		td, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return spans, chunks, nil
		}
		if err != nil {
			return spans, chunks, err
		}
		if n := proto.Size(td); n > maxChunkBytes {
			t.Errorf("message of %d bytes, limit %d", n, maxChunkBytes)
		}
		chunks++
		spans = append(spans, flattenOTLP(td)...)
	}
}

// traceIDs lists the distinct trace IDs of spans in order of appearance.
func traceIDs(spans []flatSpan) []model.TraceID {
	var ids []model.TraceID
	for _, s := range spans {
		if !slices.Contains(ids, s.trace) {
			ids = append(ids, s.trace)
		}
	}
	return ids
}

func ts(ns uint64) *timestamppb.Timestamp { return timestamppb.New(time.Unix(0, int64(ns))) }

// TestV3RealStore runs the api_v3 checks against the real store and
// querier, with the fixture first in the head and then in blocks.
func TestV3RealStore(t *testing.T) {
	st, bkt := apitest.FixtureStore(t)
	q := query.New(st, query.Options{})
	addr := listenAndServe(t, q, nil)
	v3 := apiv3pb.NewQueryServiceClient(dial(t, addr))
	v2 := api_v2.NewQueryServiceClient(dial(t, addr, grpc.WithDefaultCallOptions(CallOption())))
	check := func(t *testing.T) {
		t.Run("GetTrace", func(t *testing.T) { checkV3GetTrace(t, v3) })
		t.Run("FindTraces", func(t *testing.T) { checkV3FindTraces(t, v3) })
		t.Run("listings", func(t *testing.T) { checkV3Listings(t, v3) })
		t.Run("same as api_v2", func(t *testing.T) { checkV3MatchesV2(t, v2, v3) })
	}
	t.Run("head", check)
	apitest.CutToBlocks(t, st, bkt)
	t.Run("blocks", check)
}

func TestV3MemQuerier(t *testing.T) {
	mq := fixtureQuerier()
	addr := listenAndServe(t, mq, nil)
	v3 := apiv3pb.NewQueryServiceClient(dial(t, addr))
	v2 := api_v2.NewQueryServiceClient(dial(t, addr, grpc.WithDefaultCallOptions(CallOption())))
	checkV3GetTrace(t, v3)
	checkV3FindTraces(t, v3)
	checkV3Listings(t, v3)
	checkV3MatchesV2(t, v2, v3)
}

func checkV3GetTrace(t *testing.T, client apiv3pb.QueryServiceClient) {
	t.Helper()
	ta, tb := apitest.MustTraceID(apitest.TraceA), apitest.MustTraceID(apitest.TraceB)
	tests := []struct {
		name   string
		req    *apiv3pb.GetTraceRequest
		tenant string
		code   codes.Code
		trace  model.TraceID
		spans  int
		first  string // name of the first span: traces come sorted by start
	}{
		{"128-bit trace", &apiv3pb.GetTraceRequest{TraceId: apitest.TraceA}, "", codes.OK, ta, 4, "get /cart"},
		{"64-bit trace, short hex", &apiv3pb.GetTraceRequest{TraceId: apitest.TraceB}, "", codes.OK, tb, 1, "checkout"},
		{"64-bit trace, padded hex", &apiv3pb.GetTraceRequest{TraceId: tb.String()}, "", codes.OK, tb, 1, "checkout"},
		{"with time window", &apiv3pb.GetTraceRequest{TraceId: apitest.TraceA, StartTime: ts(apitest.T0 - apitest.MS), EndTime: ts(apitest.T0 + time2ns(time.Minute))}, "", codes.OK, ta, 4, "get /cart"},
		{"window that misses is retried without it", &apiv3pb.GetTraceRequest{TraceId: apitest.TraceA, StartTime: ts(1e9), EndTime: ts(2e9)}, "", codes.OK, ta, 4, "get /cart"},
		{"raw", &apiv3pb.GetTraceRequest{TraceId: apitest.TraceA, RawTraces: true}, "", codes.OK, ta, 4, ""},
		{"tenant other sees its own trace", &apiv3pb.GetTraceRequest{TraceId: apitest.TraceB}, "other", codes.OK, tb, 1, "checkout"},
		{"unknown", &apiv3pb.GetTraceRequest{TraceId: "0000000000000def"}, "", codes.NotFound, ta, 0, ""},
		{"other tenant cannot see it", &apiv3pb.GetTraceRequest{TraceId: apitest.TraceA}, "other", codes.NotFound, ta, 0, ""},
		{"no ID", &apiv3pb.GetTraceRequest{}, "", codes.InvalidArgument, ta, 0, ""},
		{"zero ID", &apiv3pb.GetTraceRequest{TraceId: "00000000000000000000000000000000"}, "", codes.InvalidArgument, ta, 0, ""},
		{"not hex", &apiv3pb.GetTraceRequest{TraceId: "xyz"}, "", codes.InvalidArgument, ta, 0, ""},
		{"too long", &apiv3pb.GetTraceRequest{TraceId: apitest.TraceA + "00"}, "", codes.InvalidArgument, ta, 0, ""},
		{"start after end", &apiv3pb.GetTraceRequest{TraceId: apitest.TraceA, StartTime: ts(2e9), EndTime: ts(1e9)}, "", codes.InvalidArgument, ta, 0, ""},
		{"time before 1970", &apiv3pb.GetTraceRequest{TraceId: apitest.TraceA, StartTime: &timestamppb.Timestamp{Seconds: -5}}, "", codes.InvalidArgument, ta, 0, ""},
		{"malformed time", &apiv3pb.GetTraceRequest{TraceId: apitest.TraceA, EndTime: &timestamppb.Timestamp{Nanos: -1}}, "", codes.InvalidArgument, ta, 0, ""},
		{"bad tenant", &apiv3pb.GetTraceRequest{TraceId: apitest.TraceA}, "a/b", codes.InvalidArgument, ta, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stream, err := client.GetTrace(withTenant(tt.tenant), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			spans, _, err := recvOTLP(t, stream)
			if got := status.Code(err); got != tt.code {
				t.Fatalf("code %v, want %v (%v)", got, tt.code, err)
			}
			if len(spans) != tt.spans {
				t.Fatalf("%d spans, want %d", len(spans), tt.spans)
			}
			for _, s := range spans {
				if s.trace != tt.trace || s.service == "" {
					t.Errorf("span %+v: want trace %v and a service", s, tt.trace)
				}
			}
			if tt.first != "" && spans[0].name != tt.first {
				t.Errorf("first span %q, want %q", spans[0].name, tt.first)
			}
			if tt.first != "" && !slices.IsSortedFunc(spans, func(a, b flatSpan) int { return cmp.Compare(a.start, b.start) }) {
				t.Errorf("adjusted trace not sorted by start: %+v", spans)
			}
		})
	}
}

func time2ns(d time.Duration) uint64 { return uint64(d) }

// window returns query parameters bounding the fixture, as Jaeger clients
// always send a window.
func window(p *apiv3pb.TraceQueryParameters) *apiv3pb.TraceQueryParameters {
	if p.StartTimeMin == nil && p.StartTimeMax == nil {
		p.StartTimeMin, p.StartTimeMax = ts(apitest.T0-time2ns(time.Hour)), ts(apitest.T0+time2ns(time.Hour))
	}
	return p
}

func checkV3FindTraces(t *testing.T, client apiv3pb.QueryServiceClient) {
	t.Helper()
	ta, tb := apitest.MustTraceID(apitest.TraceA), apitest.MustTraceID(apitest.TraceB)
	tests := []struct {
		name   string
		query  *apiv3pb.TraceQueryParameters
		tenant string
		code   codes.Code
		traces []model.TraceID // newest first
	}{
		{"all", window(&apiv3pb.TraceQueryParameters{}), "", codes.OK, []model.TraceID{tb, ta}},
		{"service and operation", window(&apiv3pb.TraceQueryParameters{ServiceName: "cart", OperationName: "select"}), "", codes.OK, []model.TraceID{ta}},
		{"attributes", window(&apiv3pb.TraceQueryParameters{Attributes: map[string]string{"http.method": "GET", "http.status_code": "200"}}), "", codes.OK, []model.TraceID{ta}},
		{"error attribute matches the status", window(&apiv3pb.TraceQueryParameters{Attributes: map[string]string{"error": "true"}}), "", codes.OK, []model.TraceID{ta}},
		{"span.kind attribute matches the kind", window(&apiv3pb.TraceQueryParameters{Attributes: map[string]string{"span.kind": "internal"}}), "", codes.OK, []model.TraceID{tb}},
		{"resource attribute", window(&apiv3pb.TraceQueryParameters{Attributes: map[string]string{"host.name": "web-1"}}), "", codes.OK, []model.TraceID{ta}},
		{"durations", window(&apiv3pb.TraceQueryParameters{DurationMin: durationpb.New(5 * time.Millisecond), DurationMax: durationpb.New(20 * time.Millisecond)}), "", codes.OK, []model.TraceID{tb}},
		{"time range", &apiv3pb.TraceQueryParameters{StartTimeMin: ts(apitest.T0 + 9*apitest.MS), StartTimeMax: ts(apitest.T0 + time2ns(time.Second))}, "", codes.OK, []model.TraceID{tb}},
		{"search depth", window(&apiv3pb.TraceQueryParameters{SearchDepth: 1}), "", codes.OK, []model.TraceID{tb}},
		{"raw", window(&apiv3pb.TraceQueryParameters{ServiceName: "frontend", RawTraces: true}), "", codes.OK, []model.TraceID{ta}},
		{"tenant other", window(&apiv3pb.TraceQueryParameters{}), "other", codes.OK, []model.TraceID{tb}},
		{"nothing is NotFound", window(&apiv3pb.TraceQueryParameters{ServiceName: "nope"}), "", codes.NotFound, nil},
		{"tenant isolation", window(&apiv3pb.TraceQueryParameters{ServiceName: "frontend"}), "other", codes.NotFound, nil},
		{"no query", nil, "", codes.InvalidArgument, nil},
		{"no window", &apiv3pb.TraceQueryParameters{ServiceName: "cart"}, "", codes.InvalidArgument, nil},
		{"no start_time_max", &apiv3pb.TraceQueryParameters{StartTimeMin: ts(apitest.T0)}, "", codes.InvalidArgument, nil},
		{"min after max", &apiv3pb.TraceQueryParameters{StartTimeMin: ts(apitest.T0 + 1), StartTimeMax: ts(apitest.T0)}, "", codes.InvalidArgument, nil},
		{"durations reversed", window(&apiv3pb.TraceQueryParameters{DurationMin: durationpb.New(time.Second), DurationMax: durationpb.New(time.Millisecond)}), "", codes.InvalidArgument, nil},
		{"negative duration", window(&apiv3pb.TraceQueryParameters{DurationMin: durationpb.New(-time.Second)}), "", codes.InvalidArgument, nil},
		{"malformed duration", window(&apiv3pb.TraceQueryParameters{DurationMax: &durationpb.Duration{Seconds: 1, Nanos: -1}}), "", codes.InvalidArgument, nil},
		{"negative depth", window(&apiv3pb.TraceQueryParameters{SearchDepth: -1}), "", codes.InvalidArgument, nil},
		{"depth too large", window(&apiv3pb.TraceQueryParameters{SearchDepth: MaxNumTraces + 1}), "", codes.InvalidArgument, nil},
		{"empty attribute key", window(&apiv3pb.TraceQueryParameters{Attributes: map[string]string{"": "x"}}), "", codes.InvalidArgument, nil},
		{"structured filter refused", window(&apiv3pb.TraceQueryParameters{Filter: &apiv3pb.Call{Op: "eq"}}), "", codes.InvalidArgument, nil},
		{"pagination refused", window(&apiv3pb.TraceQueryParameters{Pagination: &apiv3pb.Pagination{PageSize: 10}}), "", codes.InvalidArgument, nil},
		{"bad tenant", window(&apiv3pb.TraceQueryParameters{}), "a/b", codes.InvalidArgument, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stream, err := client.FindTraces(withTenant(tt.tenant), &apiv3pb.FindTracesRequest{Query: tt.query})
			if err != nil {
				t.Fatal(err)
			}
			spans, _, err := recvOTLP(t, stream)
			if got := status.Code(err); got != tt.code {
				t.Fatalf("code %v, want %v (%v)", got, tt.code, err)
			}
			if err != nil && status.Convert(err).Message() == "" {
				t.Errorf("error without a message: %v", err)
			}
			if ids := traceIDs(spans); !slices.Equal(ids, tt.traces) {
				t.Errorf("traces %v, want %v", ids, tt.traces)
			}
		})
	}
}

func checkV3Listings(t *testing.T, client apiv3pb.QueryServiceClient) {
	t.Helper()
	ctx := context.Background()
	for _, tc := range []struct {
		tenant string
		want   []string
	}{{"", []string{"cart", "frontend"}}, {"other", []string{"cart"}}, {"nobody", nil}} {
		svcs, err := client.GetServices(withTenant(tc.tenant), &apiv3pb.GetServicesRequest{})
		if err != nil || !slices.Equal(svcs.GetServices(), tc.want) {
			t.Errorf("services of %q: %v, %v; want %v", tc.tenant, svcs.GetServices(), err, tc.want)
		}
	}
	ops := []struct {
		name  string
		req   *apiv3pb.GetOperationsRequest
		code  codes.Code
		names []string
		kinds []string
	}{
		{"all kinds", &apiv3pb.GetOperationsRequest{Service: "cart"}, codes.OK,
			[]string{"checkout", "get /items", "select"}, []string{"internal", "server", "client"}},
		{"one kind", &apiv3pb.GetOperationsRequest{Service: "cart", SpanKind: "client"}, codes.OK, []string{"select"}, []string{"client"}},
		{"internal", &apiv3pb.GetOperationsRequest{Service: "cart", SpanKind: "internal"}, codes.OK, []string{"checkout"}, []string{"internal"}},
		{"unknown service", &apiv3pb.GetOperationsRequest{Service: "nope"}, codes.OK, nil, nil},
		{"no service", &apiv3pb.GetOperationsRequest{}, codes.InvalidArgument, nil, nil},
		{"bad kind", &apiv3pb.GetOperationsRequest{Service: "cart", SpanKind: "sideways"}, codes.InvalidArgument, nil, nil},
	}
	for _, tt := range ops {
		t.Run("operations/"+tt.name, func(t *testing.T) {
			resp, err := client.GetOperations(ctx, tt.req)
			if got := status.Code(err); got != tt.code {
				t.Fatalf("code %v, want %v (%v)", got, tt.code, err)
			}
			var names, kinds []string
			for _, op := range resp.GetOperations() {
				names, kinds = append(names, op.GetName()), append(kinds, op.GetSpanKind())
			}
			if !sameOps(names, kinds, tt.names, tt.kinds) {
				t.Errorf("operations %v kinds %v, want %v %v", names, kinds, tt.names, tt.kinds)
			}
		})
	}

	end := ts(apitest.T0 + time2ns(time.Hour))
	start := ts(apitest.T0 - time2ns(23*time.Hour))
	deps, err := client.GetDependencies(ctx, &apiv3pb.GetDependenciesRequest{StartTime: start, EndTime: end})
	if err != nil || len(deps.GetDependencies()) != 1 || deps.Dependencies[0].GetParent() != "frontend" || deps.Dependencies[0].GetChild() != "cart" || deps.Dependencies[0].GetCallCount() != 2 {
		t.Errorf("dependencies %v, %v", deps, err)
	}
	for name, req := range map[string]*apiv3pb.GetDependenciesRequest{
		"no end":          {StartTime: start},
		"no start":        {EndTime: end},
		"start after end": {StartTime: end, EndTime: start},
	} {
		if _, err := client.GetDependencies(ctx, req); status.Code(err) != codes.InvalidArgument {
			t.Errorf("dependencies, %s: %v, want InvalidArgument", name, err)
		}
	}

	spans, err := client.FindSpans(ctx, &apiv3pb.FindSpansRequest{})
	if err == nil {
		_, err = spans.Recv()
	}
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("FindSpans: %v, want Unimplemented", err)
	}

	checkV3Summaries(t, client)
}

// sameOps compares operation lists regardless of order, the querier
// sorting by name then kind and the store by name only.
func sameOps(names, kinds, wantNames, wantKinds []string) bool {
	pair := func(n, k []string) []string {
		out := make([]string, len(n))
		for i := range n {
			out[i] = n[i] + "/" + k[i]
		}
		slices.Sort(out)
		return out
	}
	return len(names) == len(wantNames) && slices.Equal(pair(names, kinds), pair(wantNames, wantKinds))
}

func checkV3Summaries(t *testing.T, client apiv3pb.QueryServiceClient) {
	t.Helper()
	tests := []struct {
		name   string
		query  *apiv3pb.TraceQueryParameters
		code   codes.Code
		traces []string
	}{
		{"all", window(&apiv3pb.TraceQueryParameters{}), codes.OK, []string{model.TraceID(apitest.MustTraceID(apitest.TraceB)).String(), apitest.TraceA}},
		{"one page", window(&apiv3pb.TraceQueryParameters{Pagination: &apiv3pb.Pagination{PageSize: 1}}), codes.OK, []string{model.TraceID(apitest.MustTraceID(apitest.TraceB)).String()}},
		{"none", window(&apiv3pb.TraceQueryParameters{ServiceName: "nope"}), codes.OK, nil},
		{"page token refused", window(&apiv3pb.TraceQueryParameters{Pagination: &apiv3pb.Pagination{PageSize: 1, PageToken: "x"}}), codes.InvalidArgument, nil},
		{"page size 0 refused", window(&apiv3pb.TraceQueryParameters{Pagination: &apiv3pb.Pagination{}}), codes.InvalidArgument, nil},
		{"pagination with depth refused", window(&apiv3pb.TraceQueryParameters{SearchDepth: 5, Pagination: &apiv3pb.Pagination{PageSize: 1}}), codes.InvalidArgument, nil},
		{"no window", &apiv3pb.TraceQueryParameters{}, codes.InvalidArgument, nil},
	}
	for _, tt := range tests {
		t.Run("summaries/"+tt.name, func(t *testing.T) {
			stream, err := client.FindTraceSummaries(context.Background(), &apiv3pb.FindTraceSummariesRequest{Query: tt.query})
			if err != nil {
				t.Fatal(err)
			}
			var got []*apiv3pb.TraceSummary
			for {
				msg, err := stream.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				if status.Code(err) != tt.code {
					t.Fatalf("code %v, want %v", err, tt.code)
				}
				if err != nil {
					return
				}
				if msg.GetNextPageToken() != "" {
					t.Errorf("next page token %q", msg.GetNextPageToken())
				}
				got = append(got, msg.GetSummaries()...)
			}
			if tt.code != codes.OK {
				t.Fatalf("no error, want %v", tt.code)
			}
			var ids []string
			for _, s := range got {
				ids = append(ids, s.GetTraceId())
			}
			if !slices.Equal(ids, tt.traces) {
				t.Fatalf("summaries of %v, want %v", ids, tt.traces)
			}
			if len(got) == 2 {
				a := got[1]
				if a.GetRootServiceName() != "frontend" || a.GetRootOperationName() != "get /cart" || a.GetSpanCount() != 4 ||
					a.GetErrorSpanCount() != 1 || a.GetMinStartTimeUnixNano() != apitest.T0 || a.GetMaxEndTimeUnixNano() != apitest.T0+50*apitest.MS ||
					len(a.GetServices()) != 2 || a.GetServices()[0].GetName() != "cart" || a.GetServices()[0].GetErrorSpanCount() != 1 {
					t.Errorf("summary of trace A: %v", a)
				}
			}
		})
	}
}

// checkV3MatchesV2 asks both APIs the same questions and compares the
// answers: the spans of each trace, the traces a search finds and in which
// order, the services and the operation names.
func checkV3MatchesV2(t *testing.T, v2 api_v2.QueryServiceClient, v3 apiv3pb.QueryServiceClient) {
	t.Helper()
	ctx := context.Background()
	for _, id := range []string{apitest.TraceA, apitest.TraceB} {
		s3, err := v3.GetTrace(ctx, &apiv3pb.GetTraceRequest{TraceId: id})
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := recvOTLP(t, s3)
		if err != nil {
			t.Fatal(err)
		}
		s2, err := v2.GetTrace(ctx, &api_v2.GetTraceRequest{TraceID: jaegerTraceID(id)})
		if err != nil {
			t.Fatal(err)
		}
		want, _, err := recvAll(t, s2.Recv)
		if err != nil {
			t.Fatal(err)
		}
		if w := flattenV2(want); !slices.EqualFunc(sortedFlat(got), w, func(a, b flatSpan) bool { return a == b }) {
			t.Errorf("trace %s: api_v3 %+v, api_v2 %+v", id, sortedFlat(got), w)
		}
	}

	t0 := time.Unix(0, int64(apitest.T0))
	queries := []struct {
		name string
		v2   *api_v2.TraceQueryParameters
		v3   *apiv3pb.TraceQueryParameters
	}{
		{"all", &api_v2.TraceQueryParameters{}, &apiv3pb.TraceQueryParameters{}},
		{"service", &api_v2.TraceQueryParameters{ServiceName: "cart"}, &apiv3pb.TraceQueryParameters{ServiceName: "cart"}},
		{"error tag", &api_v2.TraceQueryParameters{Tags: map[string]string{"error": "true"}}, &apiv3pb.TraceQueryParameters{Attributes: map[string]string{"error": "true"}}},
		{"no error", &api_v2.TraceQueryParameters{Tags: map[string]string{"error": "false"}}, &apiv3pb.TraceQueryParameters{Attributes: map[string]string{"error": "false"}}},
		{"min duration", &api_v2.TraceQueryParameters{DurationMin: 30 * time.Millisecond}, &apiv3pb.TraceQueryParameters{DurationMin: durationpb.New(30 * time.Millisecond)}},
		{"depth", &api_v2.TraceQueryParameters{SearchDepth: 1}, &apiv3pb.TraceQueryParameters{SearchDepth: 1}},
	}
	for _, q := range queries {
		t.Run(q.name, func(t *testing.T) {
			q.v2.StartTimeMin, q.v2.StartTimeMax = t0.Add(-time.Hour), t0.Add(time.Hour)
			s2, err := v2.FindTraces(ctx, &api_v2.FindTracesRequest{Query: q.v2})
			if err != nil {
				t.Fatal(err)
			}
			want, _, err := recvAll(t, s2.Recv)
			if err != nil {
				t.Fatal(err)
			}
			s3, err := v3.FindTraces(ctx, &apiv3pb.FindTracesRequest{Query: window(q.v3)})
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := recvOTLP(t, s3)
			if err != nil && !(status.Code(err) == codes.NotFound && len(want) == 0) {
				t.Fatal(err)
			}
			if g, w := traceIDs(got), traceIDs(flattenV2(want)); !slices.Equal(g, w) || len(g) == 0 && q.name == "all" {
				t.Errorf("api_v3 found %v, api_v2 %v", g, w)
			}
			if g, w := sortedFlat(got), flattenV2(want); !slices.Equal(g, w) {
				t.Errorf("api_v3 spans %+v, api_v2 %+v", g, w)
			}
		})
	}

	s2, err := v2.GetServices(ctx, &api_v2.GetServicesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	s3, err := v3.GetServices(ctx, &apiv3pb.GetServicesRequest{})
	if err != nil || !slices.Equal(s3.GetServices(), s2.GetServices()) {
		t.Errorf("services: api_v3 %v (%v), api_v2 %v", s3.GetServices(), err, s2.GetServices())
	}
	o2, err := v2.GetOperations(ctx, &api_v2.GetOperationsRequest{Service: "cart"})
	if err != nil {
		t.Fatal(err)
	}
	o3, err := v3.GetOperations(ctx, &apiv3pb.GetOperationsRequest{Service: "cart"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, op := range o3.GetOperations() {
		names = append(names, op.GetName())
	}
	if w := slices.Sorted(slices.Values(o2.GetOperationNames())); !slices.Equal(slices.Sorted(slices.Values(names)), w) {
		t.Errorf("operations: api_v3 %v, api_v2 %v", names, w)
	}
}

// flattenV2 flattens api_v2 spans, sorted.
func flattenV2(spans []jaegermodel.Span) []flatSpan {
	out := make([]flatSpan, len(spans))
	for i, sp := range spans {
		out[i] = flatSpan{
			trace:   traceIDFromJaeger(sp.TraceID),
			service: sp.Process.ServiceName,
			name:    sp.OperationName,
			start:   uint64(sp.StartTime.UnixNano()),
			end:     uint64(sp.StartTime.Add(sp.Duration).UnixNano()),
		}
		for j := range 8 {
			out[i].span[j] = byte(uint64(sp.SpanID) >> (56 - 8*j))
		}
	}
	return sortedFlat(out)
}

func sortedFlat(spans []flatSpan) []flatSpan {
	out := slices.Clone(spans)
	slices.SortFunc(out, compareFlat)
	return out
}

// TestV3BigTrace stores a trace of 50,000 spans, far above gRPC's 4 MiB
// message limit, in a real store and reads it back whole through a client
// with gRPC's default limits.
func TestV3BigTrace(t *testing.T) {
	const n = 50_000
	st, _ := apitest.OpenStore(t)
	spans := bigTrace(n)
	if err := st.Consume(context.Background(), model.Batch{Tenant: model.DefaultTenant, Spans: spans}); err != nil {
		t.Fatal(err)
	}
	if size := encodedSize(spans); size <= 4<<20 {
		t.Fatalf("trace of %d bytes does not exceed 4 MiB", size)
	}
	client := serveV3(t, query.New(st, query.Options{}))
	stream, err := client.GetTrace(context.Background(), &apiv3pb.GetTraceRequest{TraceId: spans[0].TraceID.String()})
	if err != nil {
		t.Fatal(err)
	}
	got, chunks, err := recvOTLP(t, stream)
	if err != nil {
		t.Fatal(err)
	}
	if chunks < 3 {
		t.Errorf("%d chunks", chunks)
	}
	seen := make(map[model.SpanID]bool, n)
	for _, s := range got {
		seen[s.span] = true
	}
	if len(got) != n || len(seen) != n {
		t.Fatalf("%d spans (%d distinct) in %d chunks, want %d", len(got), len(seen), chunks, n)
	}
	// Spans are grouped by resource, each group in start order.
	last := map[string]uint64{}
	for _, s := range got {
		if s.start < last[s.service] {
			t.Fatalf("span %x of %s out of start order", s.span, s.service)
		}
		last[s.service] = s.start
	}
}

// bigTrace returns a trace of n spans of about 200 bytes each, over three
// services.
func bigTrace(n int) []model.Span {
	res := []*model.Resource{
		{ServiceName: "a", Attributes: model.Attributes{{Key: "service.name", Value: model.StringValue("a")}}},
		{ServiceName: "b", Attributes: model.Attributes{{Key: "service.name", Value: model.StringValue("b")}}},
		{ServiceName: "c", Attributes: model.Attributes{{Key: "service.name", Value: model.StringValue("c")}}},
	}
	scope := &model.Scope{Name: "big"}
	id := apitest.MustTraceID("0af7651916cd43dd8448eb211c80319c")
	spans := make([]model.Span, n)
	for i := range spans {
		s := &spans[i]
		s.TraceID = id
		s.SpanID = model.SpanID{1, 0, 0, 0, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}
		if i > 0 {
			s.ParentSpanID = spans[(i-1)/2].SpanID
		}
		s.Name = "operation-with-a-longish-name"
		s.Kind = model.KindServer
		s.StartTimeUnixNano = apitest.T0 + uint64(i)*apitest.US
		s.EndTimeUnixNano = s.StartTimeUnixNano + 5*apitest.MS
		s.Attributes = model.Attributes{
			{Key: "http.route", Value: model.StringValue("/api/v1/items/{id}/details")},
			{Key: "http.status_code", Value: model.IntValue(200)},
			{Key: "db.statement", Value: model.StringValue("select * from items where id = ? and tenant = ?")},
		}
		s.Resource, s.Scope = res[i%len(res)], scope
	}
	return spans
}

// encodedSize returns the size of spans as one OTLP protobuf message.
func encodedSize(spans []model.Span) int {
	var m ptrace.ProtoMarshaler
	return m.TracesSize(model.TracesFromSpans(spans))
}

func TestOTLPChunks(t *testing.T) {
	a, _ := apitest.Fixture()
	huge := a[0]
	huge.Attributes = model.Attributes{{Key: "blob", Value: model.StringValue(string(make([]byte, 5000)))}}
	tests := []struct {
		name   string
		spans  []model.Span
		limit  int
		chunks int
	}{
		{"fits", a, 1 << 20, 1},
		{"one span per chunk", a, 300, 4},
		{"oversized span alone", append(slices.Clone(a), huge), 1000, 5},
		{"larger spans after the sample are halved into place", skewed(huge, 300, 50), 20_000, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []flatSpan
			chunks := 0
			err := otlpChunks(jaegerquery.GroupByScope(tt.spans), tt.limit, func(b []byte) error {
				var td tracepb.TracesData
				if err := proto.Unmarshal(b, &td); err != nil {
					return err
				}
				spans := flattenOTLP(&td)
				if len(b) > tt.limit && len(spans) > 1 {
					t.Errorf("chunk of %d bytes holds %d spans, limit %d", len(b), len(spans), tt.limit)
				}
				chunks++
				got = append(got, spans...)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if (tt.chunks >= 0 && chunks != tt.chunks) || len(got) != len(tt.spans) {
				t.Errorf("%d spans in %d chunks, want %d in %d", len(got), chunks, len(tt.spans), tt.chunks)
			}
		})
	}
}

// skewed returns small spans followed by large copies of big, all with
// distinct span IDs.
func skewed(big model.Span, small, large int) []model.Span {
	out := bigTrace(small)
	for i := range large {
		s := big
		s.SpanID = model.SpanID{2, 0, 0, 0, 0, 0, byte(i >> 8), byte(i)}
		out = append(out, s)
	}
	return out
}

func TestV3Errors(t *testing.T) {
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
			mq := fixtureQuerier()
			mq.Err = tt.err
			client := serveV3(t, mq)
			if _, err := client.GetServices(context.Background(), &apiv3pb.GetServicesRequest{}); status.Code(err) != tt.code {
				t.Errorf("GetServices: %v, want %v", err, tt.code)
			}
			stream, err := client.FindTraces(context.Background(), &apiv3pb.FindTracesRequest{Query: window(&apiv3pb.TraceQueryParameters{})})
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := recvOTLP(t, stream); status.Code(err) != tt.code {
				t.Errorf("FindTraces: %v, want %v", err, tt.code)
			}
		})
	}
}
