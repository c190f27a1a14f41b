package jaegergrpc

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	"waymark/internal/api/apitest"
	"waymark/internal/api/jaegergrpc/apiv3pb"
)

// TestLimitWarnings checks that both query services return a trace cut to
// query.max_trace_spans and a search cut by query.max_spans_per_query with
// the warning in the trailer, and none for complete answers. The store
// holds the fixture (A: 4 spans, B: 1) and a 50-span trace; traces keep 4
// spans and a search 4 in all.
func TestLimitWarnings(t *testing.T) {
	conn := dial(t, listenAndServe(t, apitest.LimitedQuerier(t, 50, 4, 4), nil), grpc.WithDefaultCallOptions(CallOption()))
	v2, v3 := api_v2.NewQueryServiceClient(conn), apiv3pb.NewQueryServiceClient(conn)
	t0 := time.Unix(0, int64(apitest.T0))
	v2Window := &api_v2.TraceQueryParameters{ServiceName: "cart", StartTimeMin: t0.Add(-time.Second), StartTimeMax: t0.Add(time.Minute)}
	v3Window := &apiv3pb.TraceQueryParameters{ServiceName: "cart", StartTimeMin: timestamppb.New(t0.Add(-time.Second)), StartTimeMax: timestamppb.New(t0.Add(time.Minute))}
	cases := []struct {
		name string
		// call runs the RPC, reads the whole stream and returns its span
		// count and trailer.
		call  func(ctx context.Context) (int, metadata.MD, error)
		spans int
		want  string
	}{
		{name: "api_v2 GetTrace big", spans: 4, want: "it has 50 spans, only the first 4", call: func(ctx context.Context) (int, metadata.MD, error) {
			return recvV2(t)(v2.GetTrace(ctx, &api_v2.GetTraceRequest{TraceID: jaegerTraceID(apitest.TraceBig)}))
		}},
		{name: "api_v2 GetTrace at the limit", spans: 4, call: func(ctx context.Context) (int, metadata.MD, error) {
			return recvV2(t)(v2.GetTrace(ctx, &api_v2.GetTraceRequest{TraceID: jaegerTraceID(apitest.TraceA)}))
		}},
		{name: "api_v2 FindTraces over budget", spans: 1, want: "query.max_spans_per_query", call: func(ctx context.Context) (int, metadata.MD, error) {
			return recvV2(t)(v2.FindTraces(ctx, &api_v2.FindTracesRequest{Query: v2Window}))
		}},
		{name: "api_v3 GetTrace big", spans: 4, want: "query.max_trace_spans", call: func(ctx context.Context) (int, metadata.MD, error) {
			return recvV3(t)(v3.GetTrace(ctx, &apiv3pb.GetTraceRequest{TraceId: apitest.TraceBig}))
		}},
		{name: "api_v3 FindTraces over budget", spans: 1, want: "query.max_spans_per_query", call: func(ctx context.Context) (int, metadata.MD, error) {
			return recvV3(t)(v3.FindTraces(ctx, &apiv3pb.FindTracesRequest{Query: v3Window}))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spans, trailer, err := tc.call(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if spans != tc.spans {
				t.Errorf("got %d spans, want %d", spans, tc.spans)
			}
			got := trailer.Get(warningKey)
			if tc.want == "" {
				if len(got) != 0 {
					t.Errorf("warnings %q on a complete answer", got)
				}
				return
			}
			if len(got) != 1 || !strings.Contains(got[0], tc.want) {
				t.Errorf("warnings %q, want one holding %q", got, tc.want)
			}
		})
	}
}

// v2Stream is an api_v2 client stream of span chunks.
type v2Stream interface {
	Recv() (*api_v2.SpansResponseChunk, error)
	Trailer() metadata.MD
}

// recvV2 reads a whole api_v2 stream and returns its span count and
// trailer; it takes the RPC's results as they are.
func recvV2(t *testing.T) func(v2Stream, error) (int, metadata.MD, error) {
	return func(stream v2Stream, err error) (int, metadata.MD, error) {
		if err != nil {
			return 0, nil, err
		}
		spans, _, err := recvAll(t, stream.Recv)
		return len(spans), stream.Trailer(), err
	}
}

// recvV3 reads a whole api_v3 stream and returns its span count and
// trailer; it takes the RPC's results as they are.
func recvV3(t *testing.T) func(grpc.ServerStreamingClient[tracepb.TracesData], error) (int, metadata.MD, error) {
	return func(stream grpc.ServerStreamingClient[tracepb.TracesData], err error) (int, metadata.MD, error) {
		if err != nil {
			return 0, nil, err
		}
		spans, _, err := recvOTLP(t, stream)
		return len(spans), stream.Trailer(), err
	}
}
