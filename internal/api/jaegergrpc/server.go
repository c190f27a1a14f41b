package jaegergrpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	jaegermodel "github.com/jaegertracing/jaeger-idl/model/v1"
	"github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
	jaegertranslator "github.com/open-telemetry/opentelemetry-collector-contrib/pkg/translator/jaeger"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"waymark/internal/api/jaegerquery"
	"waymark/internal/model"
	"waymark/internal/query"
	"waymark/internal/store/filter"
)

// Querier answers the reads behind the query services for one tenant at a
// time. It must be safe for concurrent use. The service owns the slices it
// returns and may reorder them. *query.Querier implements it.
type Querier interface {
	// FindTrace returns the trace's spans (any order), cut to the query
	// layer's per-trace limit, or an error wrapping query.ErrTraceNotFound.
	// startUnixNano and endUnixNano hint where the trace lies; 0 means no
	// hint.
	FindTrace(ctx context.Context, tenant string, id model.TraceID, startUnixNano, endUnixNano uint64) (query.Trace, error)
	// SearchTraces returns whole traces matching req, newest first, at most
	// req.Limit, with a warning when the query's span budget cut it short.
	SearchTraces(ctx context.Context, tenant string, req filter.Request) (query.TraceSearch, error)
	// Services returns the tenant's service names, sorted.
	Services(ctx context.Context, tenant string) ([]string, error)
	// Operations returns the service's operations, sorted by name then kind.
	Operations(ctx context.Context, tenant, service string) ([]query.Operation, error)
	// Dependencies returns the service call edges seen between the two
	// times (Unix ns).
	Dependencies(ctx context.Context, tenant string, startUnixNano, endUnixNano uint64) ([]query.Dependency, error)
}

// Options configures the service. The zero value is usable.
type Options struct {
	// DefaultTenant serves calls that carry no tenant metadata; empty means
	// model.DefaultTenant.
	DefaultTenant string
	// Timeout bounds each call's reads; zero means no bound.
	Timeout time.Duration
	// Logger receives internal errors; nil discards them.
	Logger *slog.Logger
	// Registerer receives the service's metrics; nil means no metrics.
	Registerer prometheus.Registerer
}

// Limits of the service.
const (
	// DefaultNumTraces is the number of traces FindTraces returns when the
	// request does not say (Jaeger's default).
	DefaultNumTraces = jaegerquery.DefaultLimit
	// MaxNumTraces bounds the traces one FindTraces returns.
	MaxNumTraces = 10_000
	// maxSpansPerChunk is how many spans one streamed message carries, as
	// Jaeger sends them.
	maxSpansPerChunk = 10
)

// Tenant metadata keys: Tempo's convention first, then Jaeger's.
var tenantKeys = [...]string{"x-scope-orgid", "x-tenant"}

type server struct {
	q             Querier
	defaultTenant string
	timeout       time.Duration
	log           *slog.Logger
	metrics       *metrics
}

func newServer(q Querier, opts Options) *server {
	srv := &server{q: q, defaultTenant: opts.DefaultTenant, timeout: opts.Timeout, log: opts.Logger}
	if srv.defaultTenant == "" {
		srv.defaultTenant = model.DefaultTenant
	}
	if srv.log == nil {
		srv.log = slog.New(slog.DiscardHandler)
	}
	srv.metrics = newMetrics(opts.Registerer, srv.log)
	return srv
}

// tenant returns the call's tenant from its metadata, or the default.
func (s *server) tenant(ctx context.Context) (string, error) {
	t := ""
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		for _, k := range tenantKeys {
			if v := md.Get(k); len(v) > 0 && v[0] != "" {
				t = v[0]
				break
			}
		}
	}
	if t == "" {
		t = s.defaultTenant
	}
	if err := model.ValidateTenant(t); err != nil {
		return "", status.Error(codes.InvalidArgument, err.Error())
	}
	return t, nil
}

// API versions, as the metrics label them.
const (
	apiV2 = "api_v2"
	apiV3 = "api_v3"
)

// call runs one api_v2 method; see callAPI.
func (s *server) call(ctx context.Context, method string, f func(ctx context.Context, tenant string) error) error {
	return s.callAPI(ctx, apiV2, method, f)
}

// callAPI runs one method for the call's tenant, turns its error into a
// gRPC status, logs server faults and counts the call.
func (s *server) callAPI(ctx context.Context, api, method string, f func(ctx context.Context, tenant string) error) error {
	start := time.Now()
	if s.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.timeout)
		defer cancel()
	}
	tenant, err := s.tenant(ctx)
	if err == nil {
		err = f(ctx, tenant)
	}
	st := toStatus(err)
	switch {
	case st.Code() == codes.Internal && ctx.Err() == nil:
		s.log.ErrorContext(ctx, "jaeger grpc query", "api", api, "method", method, "tenant", tenant, "err", err)
	case st.Code() == codes.Internal:
		st = status.FromContextError(ctx.Err())
	}
	s.metrics.observe(api, method, st.Code(), time.Since(start))
	return st.Err()
}

// toStatus maps an error to a gRPC status: an existing status as it is,
// NotFound for a missing trace, Unavailable for an overloaded store,
// context errors to theirs, Internal otherwise.
func toStatus(err error) *status.Status {
	if err == nil {
		return status.New(codes.OK, "")
	}
	if st, ok := status.FromError(err); ok {
		return st
	}
	switch {
	case errors.Is(err, query.ErrTraceNotFound):
		return status.New(codes.NotFound, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.New(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return status.New(codes.Canceled, err.Error())
	}
	if _, ok := model.IsOverloaded(err); ok {
		return status.New(codes.Unavailable, err.Error())
	}
	return status.New(codes.Internal, err.Error())
}

func invalid(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, format, args...)
}

// GetTrace streams the spans of one trace, adjusted as over HTTP (sorted
// by start, exact repeats dropped) unless raw_traces is set.
func (s *server) GetTrace(req *api_v2.GetTraceRequest, stream api_v2.QueryService_GetTraceServer) error {
	return s.call(stream.Context(), "GetTrace", func(ctx context.Context, tenant string) error {
		id := traceIDFromJaeger(req.TraceID)
		if id.IsZero() {
			return invalid("trace_id is required and must not be zero")
		}
		tr, err := jaegerquery.FindTrace(ctx, s.q, tenant, id, unixNano(req.StartTime), unixNano(req.EndTime))
		if err != nil {
			return err
		}
		warnTrailer(stream, tr.Warning())
		spans := tr.Spans
		if !req.RawTraces {
			spans = jaegerquery.Adjust(spans)
		}
		return sendTrace(stream.Send, spans)
	})
}

// ArchiveTrace is not served: Waymark has no archive storage.
func (s *server) ArchiveTrace(ctx context.Context, _ *api_v2.ArchiveTraceRequest) (*api_v2.ArchiveTraceResponse, error) {
	return nil, s.call(ctx, "ArchiveTrace", func(context.Context, string) error {
		return status.Error(codes.Unimplemented, "archive storage is not configured")
	})
}

// FindTraces streams the traces matching the query, newest first, each
// adjusted unless raw_traces is set.
func (s *server) FindTraces(req *api_v2.FindTracesRequest, stream api_v2.QueryService_FindTracesServer) error {
	return s.call(stream.Context(), "FindTraces", func(ctx context.Context, tenant string) error {
		freq, err := searchRequest(req.GetQuery())
		if err != nil {
			return err
		}
		res, err := s.q.SearchTraces(ctx, tenant, freq)
		if err != nil {
			return fmt.Errorf("search traces: %w", err)
		}
		for _, spans := range searchWarnings(stream, res) {
			if !req.GetQuery().GetRawTraces() {
				spans = jaegerquery.Adjust(spans)
			}
			if err := sendTrace(stream.Send, spans); err != nil {
				return err
			}
		}
		return nil
	})
}

// searchRequest turns api_v2's query parameters into a search.
func searchRequest(p *api_v2.TraceQueryParameters) (filter.Request, error) {
	if p == nil {
		return filter.Request{}, invalid("query is required")
	}
	q := traceQuery{
		service:     p.ServiceName,
		operation:   p.OperationName,
		tags:        p.Tags,
		tagsName:    "tag",
		startMin:    unixNano(p.StartTimeMin),
		startMax:    unixNano(p.StartTimeMax),
		durationMin: p.DurationMin,
		durationMax: p.DurationMax,
		searchDepth: p.SearchDepth,
	}
	return q.request()
}

// GetServices lists the tenant's services.
func (s *server) GetServices(ctx context.Context, _ *api_v2.GetServicesRequest) (*api_v2.GetServicesResponse, error) {
	var resp *api_v2.GetServicesResponse
	err := s.call(ctx, "GetServices", func(ctx context.Context, tenant string) error {
		names, err := s.q.Services(ctx, tenant)
		if err != nil {
			return fmt.Errorf("list services: %w", err)
		}
		resp = &api_v2.GetServicesResponse{Services: names}
		return nil
	})
	return resp, err
}

// GetOperations lists a service's operations, of one span kind if asked.
func (s *server) GetOperations(ctx context.Context, req *api_v2.GetOperationsRequest) (*api_v2.GetOperationsResponse, error) {
	var resp *api_v2.GetOperationsResponse
	err := s.call(ctx, "GetOperations", func(ctx context.Context, tenant string) error {
		if req.Service == "" {
			return invalid("service is required")
		}
		var want model.SpanKind
		if req.SpanKind != "" {
			k, ok := model.ParseSpanKind(strings.ToLower(req.SpanKind))
			if !ok {
				return invalid("span_kind %q is not one of server, client, producer, consumer, internal", req.SpanKind)
			}
			want = k
		}
		ops, err := s.q.Operations(ctx, tenant, req.Service)
		if err != nil {
			return fmt.Errorf("list operations of %s: %w", req.Service, err)
		}
		resp = &api_v2.GetOperationsResponse{}
		for _, op := range ops {
			if req.SpanKind != "" && op.Kind != want {
				continue
			}
			kind := ""
			if op.Kind != model.KindUnspecified {
				kind = op.Kind.String()
			}
			resp.Operations = append(resp.Operations, &api_v2.Operation{Name: op.Name, SpanKind: kind})
			if !slices.Contains(resp.OperationNames, op.Name) {
				resp.OperationNames = append(resp.OperationNames, op.Name)
			}
		}
		return nil
	})
	return resp, err
}

// GetDependencies lists the service call edges of a time range.
func (s *server) GetDependencies(ctx context.Context, req *api_v2.GetDependenciesRequest) (*api_v2.GetDependenciesResponse, error) {
	var resp *api_v2.GetDependenciesResponse
	err := s.call(ctx, "GetDependencies", func(ctx context.Context, tenant string) error {
		start, end := unixNano(req.StartTime), unixNano(req.EndTime)
		if end == 0 {
			return invalid("end_time is required")
		}
		if start > end {
			return invalid("start_time is after end_time")
		}
		deps, err := s.q.Dependencies(ctx, tenant, max(1, start), end)
		if err != nil {
			return fmt.Errorf("dependencies: %w", err)
		}
		resp = &api_v2.GetDependenciesResponse{Dependencies: make([]jaegermodel.DependencyLink, len(deps))}
		for i, d := range deps {
			resp.Dependencies[i] = jaegermodel.DependencyLink{Parent: d.Parent, Child: d.Child, CallCount: d.CallCount}
		}
		return nil
	})
	return resp, err
}

// sendTrace converts a trace to Jaeger spans, each carrying its process,
// and sends them in chunks.
func sendTrace(send func(*api_v2.SpansResponseChunk) error, spans []model.Span) error {
	jspans := jaegerSpans(spans)
	for i := 0; i < len(jspans); i += maxSpansPerChunk {
		chunk := &api_v2.SpansResponseChunk{Spans: jspans[i:min(i+maxSpansPerChunk, len(jspans))]}
		if err := send(chunk); err != nil {
			return fmt.Errorf("send spans: %w", err)
		}
	}
	return nil
}

// jaegerSpans converts model spans to Jaeger model spans.
func jaegerSpans(spans []model.Span) []jaegermodel.Span {
	batches := jaegertranslator.ProtoFromTraces(model.TracesFromSpans(spans))
	out := make([]jaegermodel.Span, 0, len(spans))
	for _, b := range batches {
		for _, sp := range b.Spans {
			if sp.Process == nil {
				sp.Process = b.Process
			}
			out = append(out, *sp)
		}
	}
	return out
}

// traceIDFromJaeger converts a Jaeger trace ID to Waymark's byte order.
func traceIDFromJaeger(id jaegermodel.TraceID) model.TraceID {
	var out model.TraceID
	for i := range 8 {
		out[i] = byte(id.High >> (56 - 8*i))
		out[8+i] = byte(id.Low >> (56 - 8*i))
	}
	return out
}

// unixNano returns t in Unix ns, 0 for the zero time or a time before the
// epoch.
func unixNano(t time.Time) uint64 {
	if t.IsZero() || t.Before(time.Unix(0, 0)) {
		return 0
	}
	return uint64(t.UnixNano())
}

// metrics counts calls per method and status code and times them.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer, log *slog.Logger) *metrics {
	if reg == nil {
		return nil
	}
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waymark_jaegergrpc_requests_total",
			Help: "Calls to the Jaeger gRPC query services by API version, method and gRPC status code.",
		}, []string{"api", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "waymark_jaegergrpc_request_duration_seconds",
			Help:    "Time to answer a Jaeger gRPC query call, by API version and method.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
		}, []string{"api", "method"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration} {
		if err := reg.Register(c); err != nil {
			log.Error("register jaeger grpc metrics; serving without them", "err", err)
			return nil
		}
	}
	return m
}

func (m *metrics) observe(api, method string, code codes.Code, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(api, method, code.String()).Inc()
	m.duration.WithLabelValues(api, method).Observe(d.Seconds())
}

// warningKey is the trailer metadata key that carries the warnings of an
// answer the query layer cut short (a truncated trace, a partial search).
// The protocols have no field for them; the query layer has already logged
// and counted them.
const warningKey = "waymark-warning"

// warnTrailer adds the non-empty msgs to the stream's trailer.
func warnTrailer(stream grpc.ServerStream, msgs ...string) {
	md := metadata.MD{}
	for _, m := range msgs {
		if m != "" {
			md.Append(warningKey, m)
		}
	}
	if len(md) > 0 {
		stream.SetTrailer(md)
	}
}

// searchWarnings puts the warnings of a search answer in the stream's
// trailer and returns the traces' spans.
func searchWarnings(stream grpc.ServerStream, res query.TraceSearch) [][]model.Span {
	msgs := []string{res.Warning}
	out := make([][]model.Span, len(res.Traces))
	for i := range res.Traces {
		if w := res.Traces[i].Warning(); w != "" {
			msgs = append(msgs, res.Traces[i].ID.String()+": "+w)
		}
		out[i] = res.Traces[i].Spans
	}
	warnTrailer(stream, msgs...)
	return out
}
