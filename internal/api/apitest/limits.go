package apitest

import (
	"context"
	"testing"

	"waymark/internal/model"
	"waymark/internal/query"
)

// TraceBig is the ID of the trace BigTrace builds.
const TraceBig = "b16b16b16b16b16b16b16b16b16b16b1"

// BigTrace returns a trace of n spans (n ≥ 1) of the "big" service,
// starting at T0 + 1 s: a root and a chain of children, each started 1 µs
// after its parent, so that the first k spans by start time are its top k
// levels.
func BigTrace(n int) []model.Span {
	res := &model.Resource{ServiceName: "big", Attributes: model.Attributes{{Key: "service.name", Value: model.StringValue("big")}}}
	id := MustTraceID(TraceBig)
	spans := make([]model.Span, n)
	start := T0 + 1000*MS
	for i := range spans {
		s := model.Span{TraceID: id, SpanID: model.SpanID{0xb1, byte(i >> 16), byte(i >> 8), byte(i), 1}, Name: "step",
			Kind: model.KindInternal, Resource: res, StartTimeUnixNano: start + uint64(i)*US, EndTimeUnixNano: start + 100*MS}
		if i > 0 {
			s.ParentSpanID = spans[i-1].SpanID
		} else {
			s.Kind = model.KindServer
		}
		spans[i] = s
	}
	return spans
}

// LimitedQuerier opens a real store holding the fixture (see FixtureStore)
// and BigTrace(bigSpans) for model.DefaultTenant, and returns a query
// layer over it that keeps at most maxTraceSpans spans per trace and
// maxSpansPerQuery spans per search.
func LimitedQuerier(t *testing.T, bigSpans, maxTraceSpans, maxSpansPerQuery int) *query.Querier {
	t.Helper()
	st, _ := FixtureStore(t)
	if err := st.Consume(context.Background(), model.Batch{Tenant: model.DefaultTenant, Spans: BigTrace(bigSpans)}); err != nil {
		t.Fatal(err)
	}
	return query.New(st, query.Options{MaxTraceSpans: maxTraceSpans, MaxSpansPerQuery: maxSpansPerQuery})
}
