package jaeger

import (
	"context"

	"google.golang.org/grpc"

	"waymark/internal/model"
	"waymark/internal/receive"
)

// collectorService is the api_v2 service Jaeger clients and agents call.
const collectorService = "jaeger.api_v2.CollectorService"

// RegisterGRPC registers jaeger.api_v2.CollectorService/PostSpans on s.
// The tenant comes from the x-scope-orgid (or x-tenant) metadata. A
// request that does not decode is answered INVALID_ARGUMENT; a refusal by
// the pipeline UNAVAILABLE with RetryInfo.
func RegisterGRPC(s grpc.ServiceRegistrar, next model.Consumer, opts receive.Options) {
	sink := receive.NewSink(receive.ReceiverJaegerGRPC, next, opts)
	receive.RegisterRawUnary(s, collectorService, "PostSpans", func(ctx context.Context, req []byte) ([]byte, error) {
		tenant, err := receive.TenantFromGRPC(ctx, sink.DefaultTenant())
		if err != nil {
			sink.Failed(err)
			return nil, receive.GRPCError(err)
		}
		sink.Received(len(req))
		spans, err := DecodeProtoRequest(nil, req)
		if err != nil {
			err = receive.Invalid(err)
			sink.Failed(err)
			return nil, receive.GRPCError(err)
		}
		if _, err := sink.Push(ctx, tenant, spans, nil); err != nil {
			return nil, receive.GRPCError(err)
		}
		return nil, nil // an empty PostSpansResponse
	})
}
