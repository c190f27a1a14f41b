package jaegergrpc

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"waymark/internal/api/jaegergrpc/apiv3pb"
)

// FuzzFindTracesRequestV3 decodes arbitrary bytes as an api_v3 FindTraces
// request and turns it into a search, as the service does: bad input
// yields InvalidArgument, never a panic, and an accepted search has a
// window, a limit within bounds and conditions that compile.
func FuzzFindTracesRequestV3(f *testing.F) {
	t0 := time.Unix(1_700_000_000, 0)
	seeds := []*apiv3pb.FindTracesRequest{
		{Query: &apiv3pb.TraceQueryParameters{ServiceName: "cart", OperationName: "select",
			Attributes:   map[string]string{"http.method": "GET", "error": "true", "span.kind": "Server"},
			StartTimeMin: timestamppb.New(t0), StartTimeMax: timestamppb.New(t0.Add(time.Hour)),
			DurationMin: durationpb.New(time.Millisecond), DurationMax: durationpb.New(time.Second), SearchDepth: 20, RawTraces: true}},
		{Query: &apiv3pb.TraceQueryParameters{StartTimeMin: timestamppb.New(t0), StartTimeMax: timestamppb.New(t0)}},
		{Query: &apiv3pb.TraceQueryParameters{SearchDepth: -5, DurationMin: &durationpb.Duration{Seconds: -1}}},
		{Query: &apiv3pb.TraceQueryParameters{StartTimeMin: &timestamppb.Timestamp{Seconds: -1}, StartTimeMax: &timestamppb.Timestamp{Nanos: 2e9}}},
		{Query: &apiv3pb.TraceQueryParameters{Pagination: &apiv3pb.Pagination{PageSize: 3}, Filter: &apiv3pb.Call{Op: "eq"}}},
		{},
	}
	for _, s := range seeds {
		b, err := proto.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
		f.Add(b, true)
	}
	f.Add([]byte{0x0a, 0xff}, false)
	f.Fuzz(func(t *testing.T, b []byte, paginate bool) {
		var req apiv3pb.FindTracesRequest
		if err := proto.Unmarshal(b, &req); err != nil {
			return
		}
		sr, err := searchRequestV3(req.GetQuery(), paginate)
		if err != nil {
			if st, ok := status.FromError(err); !ok || st.Code() != codes.InvalidArgument {
				t.Fatalf("error %v is not InvalidArgument", err)
			}
			return
		}
		if sr.Limit <= 0 || sr.Limit > MaxNumTraces {
			t.Fatalf("limit %d accepted", sr.Limit)
		}
		if sr.StartUnixNano > sr.EndUnixNano {
			t.Fatalf("reversed window accepted: %d > %d", sr.StartUnixNano, sr.EndUnixNano)
		}
		if sr.MaxDurationNano != 0 && sr.MinDurationNano > sr.MaxDurationNano {
			t.Fatalf("reversed durations accepted: %d > %d", sr.MinDurationNano, sr.MaxDurationNano)
		}
		if err := sr.Compile(); err != nil {
			t.Fatalf("accepted search does not compile: %v", err)
		}
	})
}

// FuzzGetTraceRequestV3 decodes arbitrary bytes as an api_v3 GetTrace
// request and validates it: an accepted request has a non-zero ID that
// prints back as the hex it was given (zero-padded).
func FuzzGetTraceRequestV3(f *testing.F) {
	for _, r := range []*apiv3pb.GetTraceRequest{
		{TraceId: "4bf92f3577b34da6a3ce929d0e0e4736", StartTime: timestamppb.New(time.Unix(1, 0)), EndTime: timestamppb.New(time.Unix(2, 0))},
		{TraceId: "463ac35c9f6413ad"},
		{TraceId: "xyz", StartTime: &timestamppb.Timestamp{Seconds: -62135596801}},
	} {
		b, err := proto.Marshal(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var req apiv3pb.GetTraceRequest
		if err := proto.Unmarshal(b, &req); err != nil {
			return
		}
		id, start, end, err := getTraceParams(&req)
		if err != nil {
			return
		}
		if id.IsZero() {
			t.Fatal("zero ID accepted")
		}
		if end != 0 && start > end {
			t.Fatalf("reversed window accepted: %d > %d", start, end)
		}
	})
}
