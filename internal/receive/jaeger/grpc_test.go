package jaeger

import (
	"context"
	"errors"
	"testing"

	"github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"waymark/internal/model"
	"waymark/internal/receive"
	"waymark/internal/receive/receivetest"
)

func TestGRPC(t *testing.T) {
	rec := &receivetest.Recorder{}
	conn := receivetest.ServeGRPC(t, func(s *grpc.Server) { RegisterGRPC(s, rec, receive.Options{}) })
	client := api_v2.NewCollectorServiceClient(conn)

	zero := protoBatch()
	zero.Spans[1].SpanID = 0
	cases := []struct {
		name       string
		req        *api_v2.PostSpansRequest
		raw        []byte // sent instead of req when set
		tenant     string
		consumeErr error
		wantCode   codes.Code
		wantSpans  int
		wantTenant string
	}{
		{name: "batch", req: &api_v2.PostSpansRequest{Batch: protoBatch()}, wantSpans: 2, wantTenant: model.DefaultTenant},
		{name: "tenant", req: &api_v2.PostSpansRequest{Batch: protoBatch()}, tenant: "team-g", wantSpans: 2, wantTenant: "team-g"},
		{name: "empty", req: &api_v2.PostSpansRequest{}},
		{name: "zero span id counted", req: &api_v2.PostSpansRequest{Batch: zero}, wantSpans: 1, wantTenant: model.DefaultTenant},
		{name: "garbage", raw: []byte{0x0a, 0x03, 0x0a, 0x01}, wantCode: codes.InvalidArgument},
		{name: "bad tenant", req: &api_v2.PostSpansRequest{Batch: protoBatch()}, tenant: "a:b", wantCode: codes.InvalidArgument},
		{name: "overloaded", req: &api_v2.PostSpansRequest{Batch: protoBatch()}, consumeErr: &model.OverloadedError{Reason: "x"}, wantCode: codes.Unavailable},
		{name: "store failure", req: &api_v2.PostSpansRequest{Batch: protoBatch()}, consumeErr: errors.New("disk"), wantCode: codes.Unavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec.Reset()
			rec.Fail(tc.consumeErr)
			var err error
			ctx := context.Background()
			if tc.tenant != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, "x-scope-orgid", tc.tenant)
			}
			if tc.raw != nil {
				err = conn.Invoke(ctx, "/"+collectorService+"/PostSpans", &receive.RawMessage{Bytes: tc.raw}, new(receive.RawMessage))
			} else {
				_, err = client.PostSpans(ctx, tc.req)
			}
			st := status.Convert(err)
			if st.Code() != tc.wantCode {
				t.Fatalf("code %v (%v), want %v", st.Code(), err, tc.wantCode)
			}
			if tc.wantCode == codes.Unavailable && !hasRetryInfo(st) {
				t.Error("UNAVAILABLE without RetryInfo")
			}
			batch := rec.ExpectBatch(t, tc.wantSpans)
			if tc.wantSpans == 0 {
				return
			}
			if batch.Tenant != tc.wantTenant {
				t.Errorf("tenant %q, want %q", batch.Tenant, tc.wantTenant)
			}
			if tc.wantSpans == 2 {
				checkTrace(t, batch.Spans)
			}
		})
	}
}

func hasRetryInfo(st *status.Status) bool {
	for _, d := range st.Details() {
		if _, ok := d.(*errdetails.RetryInfo); ok {
			return true
		}
	}
	return false
}
