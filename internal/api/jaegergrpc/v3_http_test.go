package jaegergrpc

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
	"go.opentelemetry.io/collector/pdata/ptrace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"waymark/internal/api/apitest"
	"waymark/internal/api/jaegerapi"
	"waymark/internal/api/jaegergrpc/apiv3pb"
	"waymark/internal/model"
	"waymark/internal/query"
)

// getV3HTTP fetches an /api/v3 trace or search route and returns its spans
// and status.
func getV3HTTP(t *testing.T, base, path string, q url.Values) ([]flatSpan, int) {
	t.Helper()
	resp, err := http.Get(base + path + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, resp.StatusCode
	}
	var env struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	var ju ptrace.JSONUnmarshaler
	td, err := ju.UnmarshalTraces(env.Result)
	if err != nil {
		t.Fatal(err)
	}
	var pm ptrace.ProtoMarshaler
	b, err := pm.MarshalTraces(td)
	if err != nil {
		t.Fatal(err)
	}
	var pb tracepb.TracesData
	if err := proto.Unmarshal(b, &pb); err != nil {
		t.Fatal(err)
	}
	return flattenOTLP(&pb), resp.StatusCode
}

// TestV3MatchesHTTP asks the gRPC api_v3 service and the HTTP /api/v3
// routes the same questions over the same real store: both must find the
// same traces in the same order, with the same spans, and fail alike.
func TestV3MatchesHTTP(t *testing.T) {
	st, _ := apitest.FixtureStore(t)
	q := query.New(st, query.Options{})
	v3 := serveV3(t, q)
	web := httptest.NewServer(jaegerapi.NewHandler(q, jaegerapi.Options{}))
	t.Cleanup(web.Close)

	t.Run("GetTrace", func(t *testing.T) {
		for _, id := range []string{apitest.TraceA, apitest.TraceB, "0000000000000def"} {
			stream, err := v3.GetTrace(context.Background(), &apiv3pb.GetTraceRequest{TraceId: id})
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := recvOTLP(t, stream)
			want, code := getV3HTTP(t, web.URL, "/api/v3/traces/"+id, nil)
			if (code == http.StatusNotFound) != (status.Code(err) == codes.NotFound) || !slices.Equal(got, want) {
				t.Errorf("trace %s: gRPC %+v (%v), HTTP %+v (%d)", id, got, err, want, code)
			}
		}
	})

	rfc := func(ns uint64) string { return time.Unix(0, int64(ns)).UTC().Format(time.RFC3339Nano) }
	minT, maxT := apitest.T0-uint64(time.Hour), apitest.T0+uint64(time.Hour)
	searches := []struct {
		name string
		grpc *apiv3pb.TraceQueryParameters
		http url.Values
	}{
		{"all", &apiv3pb.TraceQueryParameters{}, url.Values{}},
		{"service and operation", &apiv3pb.TraceQueryParameters{ServiceName: "cart", OperationName: "select"},
			url.Values{"query.service_name": {"cart"}, "query.operation_name": {"select"}}},
		{"error attribute", &apiv3pb.TraceQueryParameters{Attributes: map[string]string{"error": "true"}},
			url.Values{"query.attributes": {`{"error":"true"}`}}},
		{"span kind attribute", &apiv3pb.TraceQueryParameters{Attributes: map[string]string{"span.kind": "internal"}},
			url.Values{"query.attributes": {`{"span.kind":"internal"}`}}},
		{"durations", &apiv3pb.TraceQueryParameters{DurationMin: durationpb.New(5 * time.Millisecond), DurationMax: durationpb.New(20 * time.Millisecond)},
			url.Values{"query.duration_min": {"5ms"}, "query.duration_max": {"20ms"}}},
		{"depth", &apiv3pb.TraceQueryParameters{SearchDepth: 1}, url.Values{"query.search_depth": {"1"}}},
		{"nothing", &apiv3pb.TraceQueryParameters{ServiceName: "nope"}, url.Values{"query.service_name": {"nope"}}},
		{"durations reversed", &apiv3pb.TraceQueryParameters{DurationMin: durationpb.New(time.Second), DurationMax: durationpb.New(time.Millisecond)},
			url.Values{"query.duration_min": {"1s"}, "query.duration_max": {"1ms"}}},
	}
	for _, s := range searches {
		t.Run("FindTraces/"+s.name, func(t *testing.T) {
			stream, err := v3.FindTraces(context.Background(), &apiv3pb.FindTracesRequest{Query: window(s.grpc)})
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := recvOTLP(t, stream)
			s.http.Set("query.start_time_min", rfc(minT))
			s.http.Set("query.start_time_max", rfc(maxT))
			want, code := getV3HTTP(t, web.URL, "/api/v3/traces", s.http)
			wantCode := map[int]codes.Code{http.StatusOK: codes.OK, http.StatusNotFound: codes.NotFound, http.StatusBadRequest: codes.InvalidArgument}[code]
			if status.Code(err) != wantCode {
				t.Errorf("gRPC %v, HTTP %d", err, code)
			}
			if !slices.Equal(traceIDs(got), traceIDs(want)) || !slices.Equal(sortedFlat(got), sortedFlat(want)) {
				t.Errorf("gRPC %+v, HTTP %+v", got, want)
			}
		})
	}
}

// TestAdjustedLikeHTTP stores a span twice: api_v2 and api_v3 both drop
// the repeat, as HTTP does, unless raw traces are asked for.
func TestAdjustedLikeHTTP(t *testing.T) {
	mq := apitest.NewMemQuerier()
	a, _ := apitest.Fixture()
	mq.Add(model.DefaultTenant, append(a, a[0])...)
	addr := listenAndServe(t, mq, nil)
	v3 := apiv3pb.NewQueryServiceClient(dial(t, addr))
	v2 := api_v2.NewQueryServiceClient(dial(t, addr, grpc.WithDefaultCallOptions(CallOption())))
	for _, tc := range []struct {
		name  string
		raw   bool
		spans int
	}{{"adjusted", false, len(a)}, {"raw", true, len(a) + 1}} {
		t.Run(tc.name, func(t *testing.T) {
			s3, err := v3.GetTrace(context.Background(), &apiv3pb.GetTraceRequest{TraceId: apitest.TraceA, RawTraces: tc.raw})
			if err != nil {
				t.Fatal(err)
			}
			got3, _, err := recvOTLP(t, s3)
			if err != nil {
				t.Fatal(err)
			}
			s2, err := v2.GetTrace(context.Background(), &api_v2.GetTraceRequest{TraceID: jaegerTraceID(apitest.TraceA), RawTraces: tc.raw})
			if err != nil {
				t.Fatal(err)
			}
			got2, _, err := recvAll(t, s2.Recv)
			if err != nil {
				t.Fatal(err)
			}
			if len(got3) != tc.spans || len(got2) != tc.spans {
				t.Errorf("api_v3 %d spans, api_v2 %d, want %d", len(got3), len(got2), tc.spans)
			}
		})
	}
}
