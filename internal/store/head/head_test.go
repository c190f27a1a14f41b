package head

import (
	"context"
	"fmt"
	"testing"

	"waymark/internal/model"
	"waymark/internal/store/filter"
	"waymark/internal/store/summary"
)

func tid(n byte) model.TraceID { return model.TraceID{15: n, 0: 1} }
func sid(n byte) model.SpanID  { return model.SpanID{7: n} }

// makeTrace returns a frontend → backend trace starting at start; the backend span fails if fail.
func makeTrace(n byte, start uint64, fail bool) []model.Span {
	fe := &model.Resource{ServiceName: "frontend", Attributes: model.Attributes{{Key: "service.name", Value: model.StringValue("frontend")}, {Key: "dc", Value: model.StringValue("dc-1")}}}
	be := &model.Resource{ServiceName: "backend", Attributes: model.Attributes{{Key: "service.name", Value: model.StringValue("backend")}}}
	root := model.Span{TraceID: tid(n), SpanID: sid(1), Name: "GET /", Kind: model.KindServer, StartTimeUnixNano: start, EndTimeUnixNano: start + 100, Resource: fe,
		Attributes: model.Attributes{{Key: "http.response.status_code", Value: model.IntValue(200)}}}
	child := model.Span{TraceID: tid(n), SpanID: sid(2), ParentSpanID: sid(1), Name: "query", Kind: model.KindClient, StartTimeUnixNano: start + 10, EndTimeUnixNano: start + 60, Resource: be}
	if fail {
		child.StatusCode = model.StatusError
	}
	return []model.Span{root, child}
}

func TestHeadFindSearchAndListings(t *testing.T) {
	h := New()
	for i := byte(1); i <= 5; i++ {
		h.Append("t1", makeTrace(i, uint64(i)*1000, i%2 == 0))
	}
	h.Append("t2", makeTrace(9, 1, false))

	if got := h.FindTrace("t1", tid(3)); len(got) != 2 {
		t.Fatalf("FindTrace: %d spans", len(got))
	}
	if got := h.FindTrace("t2", tid(3)); got != nil {
		t.Fatalf("tenant t2 sees t1's trace")
	}
	cases := []struct {
		name string
		req  filter.Request
		want []byte // trace numbers, newest first
	}{
		{"all", filter.Request{}, []byte{5, 4, 3, 2, 1}},
		{"limit is the caller's job", filter.Request{Limit: 2}, []byte{5, 4, 3, 2, 1}},
		{"errors", filter.Request{Conditions: []filter.Condition{{Scope: filter.ScopeIntrinsic, Key: "status", Op: filter.OpEq, Value: model.StringValue("error")}}}, []byte{4, 2}},
		{"service and name on one span", filter.Request{Conditions: []filter.Condition{
			{Scope: filter.ScopeResource, Key: "service.name", Op: filter.OpEq, Value: model.StringValue("backend")},
			{Scope: filter.ScopeIntrinsic, Key: "name", Op: filter.OpEq, Value: model.StringValue("GET /")}}}, nil},
		{"int attribute by text", filter.Request{Conditions: []filter.Condition{{Key: "http.response.status_code", Value: model.StringValue("200")}}}, []byte{5, 4, 3, 2, 1}},
		{"duration", filter.Request{MinDurationNano: 60}, []byte{5, 4, 3, 2, 1}},
		{"duration too long", filter.Request{MinDurationNano: 101}, nil},
		{"time range", filter.Request{StartUnixNano: 2500, EndUnixNano: 4500}, []byte{4, 3}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req
			if err := req.Compile(); err != nil {
				t.Fatal(err)
			}
			var got []byte
			err := h.Search(context.Background(), "t1", &req, func(m filter.Match) bool {
				got = append(got, m.TraceID[15])
				return true
			})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got traces %v, want %v", got, tc.want)
			}
		})
	}
	if got := fmt.Sprint(h.Services("t1")); got != "[backend frontend]" {
		t.Errorf("services = %s", got)
	}
	if got := fmt.Sprint(h.Operations("t1", "frontend")); got != "[{GET / server}]" {
		t.Errorf("operations = %s", got)
	}
	st := h.Stats()
	if st.Spans != 12 || st.Tenants != 2 || st.MinTimeUnixNano != 1 || st.MaxTimeUnixNano != 5100 {
		t.Errorf("stats = %+v", st)
	}
	tags := summary.NewTags()
	h.MergeTags("t1", tags)
	if tv := tags[summary.ScopeResource]["dc"]; tv == nil || len(tv.Values) != 1 {
		t.Errorf("resource tag dc missing: %+v", tags[summary.ScopeResource])
	}
	deps := map[[2]string]*summary.Dependency{}
	h.MergeDependencies("t1", 0, 0, deps)
	if d := deps[[2]string{"frontend", "backend"}]; d == nil || d.CallCount != 5 || d.ErrorCount != 2 {
		t.Errorf("dependencies = %+v", summary.SortedDependencies(deps))
	}
}

func TestSearchStopsWhenFnReturnsFalse(t *testing.T) {
	h := New()
	for i := byte(1); i <= 5; i++ {
		h.Append("t", makeTrace(i, uint64(i), false))
	}
	req := filter.Request{}
	n := 0
	_ = h.Search(context.Background(), "t", &req, func(filter.Match) bool { n++; return n < 2 })
	if n != 2 {
		t.Errorf("fn called %d times after returning false", n)
	}
}
