package jaegerquery

import (
	"encoding/json"
	"testing"

	"waymark/internal/api/apitest"
	"waymark/internal/model"
	"waymark/internal/store/filter"
)

// traceA returns the fixture's trace A.
func traceA() []model.Span {
	a, _ := apitest.Fixture()
	return a
}

func TestTagCondition(t *testing.T) {
	tests := []struct {
		key, value string
		want       filter.Condition
	}{
		{"error", "true", filter.Condition{Scope: filter.ScopeIntrinsic, Key: "status", Op: filter.OpEq, Value: model.StringValue("error")}},
		{"error", "false", filter.Condition{Scope: filter.ScopeIntrinsic, Key: "status", Op: filter.OpNotEq, Value: model.StringValue("error")}},
		{"error", "oops", filter.Condition{Scope: filter.ScopeAny, Key: "error", Op: filter.OpEq, Value: model.StringValue("oops")}},
		{"span.kind", "Server", filter.Condition{Scope: filter.ScopeIntrinsic, Key: "kind", Op: filter.OpEq, Value: model.StringValue("server")}},
		{"otel.status_code", "OK", filter.Condition{Scope: filter.ScopeIntrinsic, Key: "status", Op: filter.OpEq, Value: model.StringValue("ok")}},
		{"otel.status_description", "Bad", filter.Condition{Scope: filter.ScopeIntrinsic, Key: "statusMessage", Op: filter.OpEq, Value: model.StringValue("Bad")}},
		{"http.route", "/a:b", filter.Condition{Scope: filter.ScopeAny, Key: "http.route", Op: filter.OpEq, Value: model.StringValue("/a:b")}},
	}
	for _, tc := range tests {
		t.Run(tc.key+"="+tc.value, func(t *testing.T) {
			if got := TagCondition(tc.key, tc.value); got.Scope != tc.want.Scope || got.Key != tc.want.Key || got.Op != tc.want.Op || got.Value != tc.want.Value {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestAdjustSortsAndDropsRepeats(t *testing.T) {
	spans := traceA()
	spans = append(spans, spans[0])
	spans[1], spans[3] = spans[3], spans[1]
	got := Adjust(spans)
	if len(got) != 4 {
		t.Fatalf("%d spans, want 4", len(got))
	}
	for i := 1; i < len(got); i++ {
		if got[i].StartTimeUnixNano < got[i-1].StartTimeUnixNano {
			t.Errorf("span %d starts before span %d", i, i-1)
		}
	}
	// A span sharing an ID but differing in content is kept.
	other := traceA()
	other = append(other, other[0])
	other[len(other)-1].Name = "retried"
	if got := Adjust(other); len(got) != 5 {
		t.Errorf("%d spans, want 5: a differing span is not a repeat", len(got))
	}
}

func TestGroupByScope(t *testing.T) {
	r1, r2 := &model.Resource{ServiceName: "a"}, &model.Resource{ServiceName: "b"}
	s1, s2 := &model.Scope{Name: "x"}, &model.Scope{Name: "y"}
	spans := []model.Span{
		{Name: "1", Resource: r1, Scope: s1},
		{Name: "2", Resource: r2, Scope: s1},
		{Name: "3", Resource: r1, Scope: s2},
		{Name: "4", Resource: r1, Scope: s1},
		{Name: "5", Resource: r2, Scope: s1},
	}
	var names string
	for _, s := range GroupByScope(spans) {
		names += s.Name
	}
	if names != "14325" {
		t.Errorf("order %s, want 14325 (by resource, then scope, stable)", names)
	}
	td := model.TracesFromSpans(GroupByScope(spans))
	if n := td.ResourceSpans().Len(); n != 2 {
		t.Errorf("%d ResourceSpans, want 2", n)
	}
}

func TestSummarizeRootChoice(t *testing.T) {
	tid := apitest.MustTraceID("1")
	res := func(name string) *model.Resource { return &model.Resource{ServiceName: name} }
	tests := []struct {
		name     string
		spans    []model.Span
		wantRoot string
		orphans  int
	}{
		{name: "earliest parentless span", wantRoot: "root", spans: []model.Span{
			{TraceID: tid, SpanID: apitest.MustSpanID("0000000000000002"), ParentSpanID: apitest.MustSpanID("0000000000000001"), Name: "child", StartTimeUnixNano: 1, Resource: res("b")},
			{TraceID: tid, SpanID: apitest.MustSpanID("0000000000000001"), Name: "root", StartTimeUnixNano: 5, Resource: res("a")},
			{TraceID: tid, SpanID: apitest.MustSpanID("0000000000000003"), Name: "late root", StartTimeUnixNano: 9, Resource: res("a")},
		}},
		{name: "earliest orphan without a root", wantRoot: "early", orphans: 2, spans: []model.Span{
			{TraceID: tid, SpanID: apitest.MustSpanID("0000000000000002"), ParentSpanID: apitest.MustSpanID("0000000000000009"), Name: "late", StartTimeUnixNano: 7, Resource: res("b")},
			{TraceID: tid, SpanID: apitest.MustSpanID("0000000000000003"), ParentSpanID: apitest.MustSpanID("0000000000000008"), Name: "early", StartTimeUnixNano: 3, Resource: res("b")},
			{TraceID: tid, SpanID: apitest.MustSpanID("0000000000000004"), ParentSpanID: apitest.MustSpanID("0000000000000003"), Name: "inner", StartTimeUnixNano: 1, Resource: res("b")},
		}},
		{name: "earliest span of a cycle", wantRoot: "b", spans: []model.Span{
			{TraceID: tid, SpanID: apitest.MustSpanID("0000000000000001"), ParentSpanID: apitest.MustSpanID("0000000000000002"), Name: "a", StartTimeUnixNano: 4},
			{TraceID: tid, SpanID: apitest.MustSpanID("0000000000000002"), ParentSpanID: apitest.MustSpanID("0000000000000001"), Name: "b", StartTimeUnixNano: 2},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := Summarize(tc.spans)
			if s.RootOperationName != tc.wantRoot || s.OrphanSpanCount != tc.orphans {
				b, _ := json.Marshal(s)
				t.Errorf("summary %s, want root %q and %d orphans", b, tc.wantRoot, tc.orphans)
			}
		})
	}
}
