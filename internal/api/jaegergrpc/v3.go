package jaegergrpc

import (
	"context"
	"fmt"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"waymark/internal/api/jaegergrpc/apiv3pb"
	"waymark/internal/api/jaegerquery"
	"waymark/internal/model"
	"waymark/internal/store/filter"
)

// summariesPerChunk is how many trace summaries one FindTraceSummaries
// message carries.
const summariesPerChunk = 100

// v3Server serves jaeger.api_v3.QueryService with the semantics of the
// HTTP /api/v3 routes.
type v3Server struct {
	apiv3pb.UnimplementedQueryServiceServer
	s *server
}

// GetTrace streams one trace as OTLP TracesData chunks, adjusted (sorted,
// exact repeats dropped) unless raw_traces is set.
func (v *v3Server) GetTrace(req *apiv3pb.GetTraceRequest, stream grpc.ServerStreamingServer[tracepb.TracesData]) error {
	return v.s.callAPI(stream.Context(), apiV3, "GetTrace", func(ctx context.Context, tenant string) error {
		id, start, end, err := getTraceParams(req)
		if err != nil {
			return err
		}
		tr, err := jaegerquery.FindTrace(ctx, v.s.q, tenant, id, start, end)
		if err != nil {
			return err
		}
		warnTrailer(stream, tr.Warning())
		return sendOTLP(stream, tr.Spans, req.GetRawTraces())
	})
}

// getTraceParams validates a GetTrace request.
func getTraceParams(req *apiv3pb.GetTraceRequest) (id model.TraceID, start, end uint64, err error) {
	if req.GetTraceId() == "" {
		return id, 0, 0, invalid("trace_id is required")
	}
	if id, err = model.ParseTraceID(req.GetTraceId()); err != nil {
		return id, 0, 0, invalid("malformed trace_id %q: %v", req.GetTraceId(), err)
	}
	if id.IsZero() {
		return id, 0, 0, invalid("trace_id must not be zero")
	}
	if start, err = timeNano("start_time", req.GetStartTime()); err != nil {
		return id, 0, 0, err
	}
	if end, err = timeNano("end_time", req.GetEndTime()); err != nil {
		return id, 0, 0, err
	}
	if end != 0 && start > end {
		return id, 0, 0, invalid("start_time %s is after end_time %s", formatNano(start), formatNano(end))
	}
	return id, start, end, nil
}

// FindTraces streams every matching trace, newest first, each as one or
// more TracesData chunks. As in Jaeger, a search that matches nothing ends
// with NotFound "No traces found".
func (v *v3Server) FindTraces(req *apiv3pb.FindTracesRequest, stream grpc.ServerStreamingServer[tracepb.TracesData]) error {
	return v.s.callAPI(stream.Context(), apiV3, "FindTraces", func(ctx context.Context, tenant string) error {
		freq, err := searchRequestV3(req.GetQuery(), false)
		if err != nil {
			return err
		}
		res, err := v.s.q.SearchTraces(ctx, tenant, freq)
		if err != nil {
			return fmt.Errorf("search traces: %w", err)
		}
		sent := false
		for _, spans := range searchWarnings(stream, res) {
			if len(spans) == 0 {
				continue
			}
			if err := sendOTLP(stream, spans, req.GetQuery().GetRawTraces()); err != nil {
				return err
			}
			sent = true
		}
		if !sent {
			// Jaeger's exact message, capital letter included.
			return status.Error(codes.NotFound, "No traces found")
		}
		return nil
	})
}

// FindTraceSummaries streams a summary of every matching trace, newest
// first. Waymark's search does not resume, so a pagination request is
// served as one page of at most page_size traces with no next_page_token,
// and a page_token is refused.
func (v *v3Server) FindTraceSummaries(req *apiv3pb.FindTraceSummariesRequest, stream grpc.ServerStreamingServer[apiv3pb.FindTraceSummariesResponse]) error {
	return v.s.callAPI(stream.Context(), apiV3, "FindTraceSummaries", func(ctx context.Context, tenant string) error {
		freq, err := searchRequestV3(req.GetQuery(), true)
		if err != nil {
			return err
		}
		res, err := v.s.q.SearchTraces(ctx, tenant, freq)
		if err != nil {
			return fmt.Errorf("search traces: %w", err)
		}
		msg := &apiv3pb.FindTraceSummariesResponse{}
		for i, spans := range searchWarnings(stream, res) {
			if !req.GetQuery().GetRawTraces() {
				spans = jaegerquery.Adjust(spans)
			}
			if len(spans) == 0 {
				continue
			}
			// A truncated trace is summarised from the spans kept, except
			// for its span count, which is the stored one.
			sum := jaegerquery.Summarize(spans)
			if res.Traces[i].Truncated() {
				sum.SpanCount = res.Traces[i].StoredSpans
			}
			msg.Summaries = append(msg.Summaries, summaryProto(sum))
			if len(msg.Summaries) == summariesPerChunk {
				if err := stream.Send(msg); err != nil {
					return fmt.Errorf("send summaries: %w", err)
				}
				msg = &apiv3pb.FindTraceSummariesResponse{}
			}
		}
		if len(msg.Summaries) > 0 {
			if err := stream.Send(msg); err != nil {
				return fmt.Errorf("send summaries: %w", err)
			}
		}
		return nil
	})
}

// FindSpans is not served: it takes the experimental structured filter
// that Waymark does not admit.
func (v *v3Server) FindSpans(_ *apiv3pb.FindSpansRequest, stream grpc.ServerStreamingServer[apiv3pb.FindSpansResponse]) error {
	return v.s.callAPI(stream.Context(), apiV3, "FindSpans", func(context.Context, string) error {
		return status.Error(codes.Unimplemented, "FindSpans is not supported: search traces with FindTraces")
	})
}

// GetServices lists the tenant's services, sorted.
func (v *v3Server) GetServices(ctx context.Context, _ *apiv3pb.GetServicesRequest) (*apiv3pb.GetServicesResponse, error) {
	var resp *apiv3pb.GetServicesResponse
	err := v.s.callAPI(ctx, apiV3, "GetServices", func(ctx context.Context, tenant string) error {
		names, err := v.s.q.Services(ctx, tenant)
		if err != nil {
			return fmt.Errorf("list services: %w", err)
		}
		resp = &apiv3pb.GetServicesResponse{Services: names}
		return nil
	})
	return resp, err
}

// GetOperations lists a service's operations as /api/v3/operations does:
// an unspecified span kind is reported as internal, and span_kind, if set,
// keeps one kind.
func (v *v3Server) GetOperations(ctx context.Context, req *apiv3pb.GetOperationsRequest) (*apiv3pb.GetOperationsResponse, error) {
	var resp *apiv3pb.GetOperationsResponse
	err := v.s.callAPI(ctx, apiV3, "GetOperations", func(ctx context.Context, tenant string) error {
		if req.GetService() == "" {
			return invalid("service is required")
		}
		var kind model.SpanKind
		filtered := req.GetSpanKind() != ""
		if filtered {
			k, ok := model.ParseSpanKind(req.GetSpanKind())
			if !ok {
				return invalid("span_kind %q is not one of server, client, producer, consumer, internal", req.GetSpanKind())
			}
			kind = k
		}
		ops, err := v.s.q.Operations(ctx, tenant, req.GetService())
		if err != nil {
			return fmt.Errorf("list operations of %s: %w", req.GetService(), err)
		}
		list := jaegerquery.V3Operations(ops, kind, filtered)
		resp = &apiv3pb.GetOperationsResponse{Operations: make([]*apiv3pb.Operation, len(list))}
		for i, op := range list {
			resp.Operations[i] = &apiv3pb.Operation{Name: op.Name, SpanKind: op.SpanKind}
		}
		return nil
	})
	return resp, err
}

// GetDependencies lists the service call edges between start_time and
// end_time, both required.
func (v *v3Server) GetDependencies(ctx context.Context, req *apiv3pb.GetDependenciesRequest) (*apiv3pb.DependenciesResponse, error) {
	var resp *apiv3pb.DependenciesResponse
	err := v.s.callAPI(ctx, apiV3, "GetDependencies", func(ctx context.Context, tenant string) error {
		if req.GetStartTime() == nil || req.GetEndTime() == nil {
			return invalid("start_time and end_time are required")
		}
		start, err := timeNano("start_time", req.GetStartTime())
		if err != nil {
			return err
		}
		end, err := timeNano("end_time", req.GetEndTime())
		if err != nil {
			return err
		}
		if start > end {
			return invalid("start_time %s is after end_time %s", formatNano(start), formatNano(end))
		}
		deps, err := v.s.q.Dependencies(ctx, tenant, max(1, start), end)
		if err != nil {
			return fmt.Errorf("dependencies: %w", err)
		}
		resp = &apiv3pb.DependenciesResponse{Dependencies: make([]*apiv3pb.Dependency, len(deps))}
		for i, d := range deps {
			resp.Dependencies[i] = &apiv3pb.Dependency{Parent: d.Parent, Child: d.Child, CallCount: d.CallCount}
		}
		return nil
	})
	return resp, err
}

// searchRequestV3 validates api_v3's query parameters and turns them into a
// search, as /api/v3/traces does: start_time_min and start_time_max are
// required, the search depth defaults to jaegerquery.DefaultLimit. The
// structured filter is refused rather than ignored, since ignoring it
// would widen the search. pagination is refused unless paginate, and then
// it stands for search_depth.
func searchRequestV3(p *apiv3pb.TraceQueryParameters, paginate bool) (filter.Request, error) {
	if p == nil {
		return filter.Request{}, invalid("query is required")
	}
	if p.GetFilter() != nil {
		return filter.Request{}, invalid("query.filter (structured filters) is not supported: use service_name, operation_name, attributes and durations")
	}
	q := traceQuery{
		service:     p.GetServiceName(),
		operation:   p.GetOperationName(),
		tags:        p.GetAttributes(),
		tagsName:    "attribute",
		searchDepth: p.GetSearchDepth(),
	}
	if pg := p.GetPagination(); pg != nil {
		switch {
		case !paginate:
			return filter.Request{}, invalid("FindTraces is not paginated: use search_depth")
		case q.searchDepth != 0:
			return filter.Request{}, invalid("pagination and search_depth are mutually exclusive")
		case pg.GetPageSize() == 0:
			return filter.Request{}, invalid("pagination.page_size must be greater than 0")
		case pg.GetPageToken() != "":
			return filter.Request{}, invalid("pagination.page_token is not supported: every search is answered in one page")
		}
		q.searchDepth = int32(min(pg.GetPageSize(), MaxNumTraces))
	}
	if p.GetStartTimeMin() == nil || p.GetStartTimeMax() == nil {
		return filter.Request{}, invalid("start_time_min and start_time_max are required")
	}
	var err error
	if q.startMin, err = timeNano("start_time_min", p.GetStartTimeMin()); err != nil {
		return filter.Request{}, err
	}
	if q.startMax, err = timeNano("start_time_max", p.GetStartTimeMax()); err != nil {
		return filter.Request{}, err
	}
	if q.startMin > q.startMax {
		return filter.Request{}, invalid("start_time_min %s is after start_time_max %s", formatNano(q.startMin), formatNano(q.startMax))
	}
	if q.durationMin, err = durationOf("duration_min", p.GetDurationMin()); err != nil {
		return filter.Request{}, err
	}
	if q.durationMax, err = durationOf("duration_max", p.GetDurationMax()); err != nil {
		return filter.Request{}, err
	}
	return q.request()
}

// timeNano converts an optional timestamp to Unix ns, nil to 0. A time
// outside 1970 to 2262 is InvalidArgument.
func timeNano(name string, ts *timestamppb.Timestamp) (uint64, error) {
	if ts == nil {
		return 0, nil
	}
	if err := ts.CheckValid(); err != nil {
		return 0, invalid("malformed %s: %v", name, err)
	}
	t := ts.AsTime()
	if t.Before(time.Unix(0, 0)) || t.After(time.Unix(0, 1<<63-1)) {
		return 0, invalid("%s %s is outside 1970 to 2262", name, t.Format(time.RFC3339Nano))
	}
	return uint64(t.UnixNano()), nil
}

// durationOf converts an optional duration, nil to 0; an invalid one is
// InvalidArgument.
func durationOf(name string, d *durationpb.Duration) (time.Duration, error) {
	if d == nil {
		return 0, nil
	}
	if err := d.CheckValid(); err != nil {
		return 0, invalid("malformed %s: %v", name, err)
	}
	return d.AsDuration(), nil
}

// sendOTLP adjusts a trace unless raw, groups its spans by resource and
// scope, and sends it as TracesData chunks encoded once, by pdata.
func sendOTLP(stream grpc.ServerStream, spans []model.Span, raw bool) error {
	if !raw {
		spans = jaegerquery.Adjust(spans)
	}
	err := otlpChunks(jaegerquery.GroupByScope(spans), maxChunkBytes, func(b []byte) error {
		return stream.SendMsg(&rawMessage{b: b})
	})
	if err != nil {
		return fmt.Errorf("send traces: %w", err)
	}
	return nil
}

// summaryProto converts a trace summary to its api_v3 message.
func summaryProto(s jaegerquery.Summary) *apiv3pb.TraceSummary {
	out := &apiv3pb.TraceSummary{
		TraceId:              s.TraceID,
		RootServiceName:      s.RootServiceName,
		RootOperationName:    s.RootOperationName,
		MinStartTimeUnixNano: s.MinStartTimeUnixNano,
		MaxEndTimeUnixNano:   s.MaxEndTimeUnixNano,
		SpanCount:            int32(s.SpanCount),
		ErrorSpanCount:       int32(s.ErrorSpanCount),
		OrphanSpanCount:      int32(s.OrphanSpanCount),
		Services:             make([]*apiv3pb.ServiceSummary, len(s.Services)),
	}
	for i, svc := range s.Services {
		out.Services[i] = &apiv3pb.ServiceSummary{Name: svc.Name, SpanCount: int32(svc.SpanCount), ErrorSpanCount: int32(svc.ErrorSpanCount)}
	}
	return out
}
