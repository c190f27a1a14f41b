package block

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"waymark/internal/model"
	"waymark/internal/store/filter"
)

// expectSearch evaluates req over spans (in block order) with MatchSpan,
// independently of the block reader: every matching trace in block order,
// or with a limit the limit newest ones, newest first.
func expectSearch(req *filter.Request, sorted []model.Span) []filter.Match {
	var out []filter.Match
	for i := range sorted {
		s := &sorted[i]
		if !req.MatchSpan(s) {
			continue
		}
		if n := len(out); n == 0 || out[n-1].TraceID != s.TraceID {
			out = append(out, filter.Match{TraceID: s.TraceID, StartUnixNano: s.StartTimeUnixNano, EndUnixNano: s.EndTimeUnixNano})
		}
		m := &out[len(out)-1]
		m.StartUnixNano = min(m.StartUnixNano, s.StartTimeUnixNano)
		m.EndUnixNano = max(m.EndUnixNano, s.EndTimeUnixNano)
		m.Spans = append(m.Spans, *s)
	}
	if req.Limit > 0 {
		slices.SortStableFunc(out, func(a, b filter.Match) int {
			if c := cmp.Compare(b.StartUnixNano, a.StartUnixNano); c != 0 {
				return c
			}
			return bytes.Compare(a.TraceID[:], b.TraceID[:])
		})
		out = out[:min(len(out), req.Limit)]
	}
	return out
}

func cond(scope filter.Scope, key string, op filter.Op, v model.Value) filter.Condition {
	return filter.Condition{Scope: scope, Key: key, Op: op, Value: v}
}

func searchCases(spans []model.Span) []struct {
	name string
	req  filter.Request
} {
	mid := spans[len(spans)/2].StartTimeUnixNano
	str, i64 := model.StringValue, model.IntValue
	type tc = struct {
		name string
		req  filter.Request
	}
	return []tc{
		{"everything", filter.Request{}},
		{"limit", filter.Request{Limit: 7}},
		{"service", filter.Request{Conditions: []filter.Condition{cond(filter.ScopeResource, "service.name", filter.OpEq, str("service-2"))}}},
		{"service any scope", filter.Request{Conditions: []filter.Condition{cond(filter.ScopeAny, "service.name", filter.OpEq, str("service-3"))}}},
		{"missing service", filter.Request{Conditions: []filter.Condition{cond(filter.ScopeResource, "service.name", filter.OpEq, str("nope"))}}},
		{"name", filter.Request{Conditions: []filter.Condition{cond(filter.ScopeIntrinsic, filter.IntrinsicName, filter.OpEq, str("lets-go"))}}},
		{"name regex", filter.Request{Conditions: []filter.Condition{cond(filter.ScopeIntrinsic, filter.IntrinsicName, filter.OpRegex, str("^okey"))}}},
		{"kind", filter.Request{Conditions: []filter.Condition{cond(filter.ScopeIntrinsic, filter.IntrinsicKind, filter.OpEq, str("client"))}}},
		{"status error", filter.Request{Conditions: []filter.Condition{cond(filter.ScopeIntrinsic, filter.IntrinsicStatus, filter.OpEq, str("error"))}}},
		{"status message", filter.Request{Conditions: []filter.Condition{cond(filter.ScopeIntrinsic, filter.IntrinsicStatusMessage, filter.OpNotEq, str(""))}}},
		{"duration intrinsic", filter.Request{Conditions: []filter.Condition{cond(filter.ScopeIntrinsic, filter.IntrinsicDuration, filter.OpGt, i64(3_000_000))}}},
		{"unknown intrinsic", filter.Request{Conditions: []filter.Condition{cond(filter.ScopeIntrinsic, "bogus", filter.OpNotEq, str("x"))}}},
		{"route eq", filter.Request{Conditions: []filter.Condition{cond(filter.ScopeSpan, "http.route", filter.OpEq, str("/api/v1/users/{id}"))}}},
		{"route any scope", filter.Request{Conditions: []filter.Condition{cond(filter.ScopeAny, "http.route", filter.OpRegex, str("carts|items"))}}},
		{"status code int", filter.Request{Conditions: []filter.Condition{cond(filter.ScopeSpan, "http.response.status_code", filter.OpGe, i64(500))}}},
		{"status code as text", filter.Request{Conditions: []filter.Condition{cond(filter.ScopeAny, "http.response.status_code", filter.OpEq, str("404"))}}},
		{"status code not eq", filter.Request{Conditions: []filter.Condition{cond(filter.ScopeSpan, "http.response.status_code", filter.OpNotEq, i64(200))}}},
		{"method exists", filter.Request{Conditions: []filter.Condition{cond(filter.ScopeSpan, "http.request.method", filter.OpExists, model.Value{})}}},
		{"old method key", filter.Request{Conditions: []filter.Condition{cond(filter.ScopeSpan, "http.method", filter.OpEq, str("GET"))}}},
		{"generic span attr", filter.Request{Conditions: []filter.Condition{cond(filter.ScopeSpan, "user.tier", filter.OpEq, str("gold"))}}},
		{"rare request id", filter.Request{Conditions: []filter.Condition{cond(filter.ScopeAny, "request.id", filter.OpEq, spans[len(spans)/3].Attributes[6].Value)}}},
		{"request id absent", filter.Request{Conditions: []filter.Condition{cond(filter.ScopeAny, "request.id", filter.OpNotEq, str("x"))}}},
		{"empty route", filter.Request{Conditions: []filter.Condition{cond(filter.ScopeSpan, "http.route", filter.OpEq, str(""))}}},
		{"zero status code", filter.Request{Conditions: []filter.Condition{cond(filter.ScopeAny, "http.response.status_code", filter.OpLt, i64(1))}}},
		{"route as int", filter.Request{Conditions: []filter.Condition{cond(filter.ScopeAny, "http.route", filter.OpEq, str("5"))}}},
		{"route int compare", filter.Request{Conditions: []filter.Condition{cond(filter.ScopeSpan, "http.route", filter.OpGe, i64(5))}}},
		{"double attr", filter.Request{Conditions: []filter.Condition{cond(filter.ScopeSpan, "ratio", filter.OpLt, model.DoubleValue(0.5))}}},
		{"bytes attr", filter.Request{Conditions: []filter.Condition{cond(filter.ScopeAny, "blob", filter.OpExists, model.Value{})}}},
		{"missing key", filter.Request{Conditions: []filter.Condition{cond(filter.ScopeSpan, "no.such.key", filter.OpEq, str("x"))}}},
		{"missing key not eq", filter.Request{Conditions: []filter.Condition{cond(filter.ScopeSpan, "no.such.key", filter.OpNotEq, str("x"))}, Limit: 3}},
		{"resource attr", filter.Request{Conditions: []filter.Condition{cond(filter.ScopeResource, "host.name", filter.OpEq, str("bench-host-1"))}, Limit: 5}},
		{"resource attr via any", filter.Request{Conditions: []filter.Condition{cond(filter.ScopeAny, "deployment.environment.name", filter.OpRegex, str("^be"))}, Limit: 4}},
		{"int attr", filter.Request{Conditions: []filter.Condition{cond(filter.ScopeAny, "retry.count", filter.OpLe, i64(0))}, Limit: 9}},
		{"time range", filter.Request{StartUnixNano: mid - 5_000_000, EndUnixNano: mid + 5_000_000}},
		{"time start only", filter.Request{StartUnixNano: mid}},
		{"durations", filter.Request{MinDurationNano: 1_000_000, MaxDurationNano: 2_000_000}},
		{"combined", filter.Request{
			StartUnixNano: mid - 50_000_000, EndUnixNano: mid + 50_000_000, MinDurationNano: 100_000,
			Conditions: []filter.Condition{
				cond(filter.ScopeResource, "service.name", filter.OpNotEq, str("service-0")),
				cond(filter.ScopeSpan, "http.route", filter.OpNotRegex, str("orders")),
				cond(filter.ScopeIntrinsic, filter.IntrinsicKind, filter.OpEq, str("server")),
				cond(filter.ScopeSpan, "http.response.status_code", filter.OpLt, model.DoubleValue(450.5)),
			},
		}},
	}
}

func TestSearch(t *testing.T) {
	spans := newWorkload(21, true).traces(1500)
	// A few spans that stress scope resolution: span attributes named like
	// resource keys, and odd types in dedicated keys.
	spans[10].Attributes = append(spans[10].Attributes, model.Attribute{Key: "service.name", Value: model.StringValue("service-3")})
	spans[20].Attributes[2].Value = model.StringValue("404")
	spans[30].Resource = &model.Resource{ServiceName: "service-9", Attributes: model.Attributes{{Key: "http.route", Value: model.StringValue("/api/v1/carts/{id}")}}}
	spans[40].Attributes = spans[40].Attributes[3:]
	spans[50].Resource = nil
	spans[70].Attributes[1].Value = model.IntValue(5)     // a route that is no string: a generic entry
	spans[90].Attributes[1].Value = model.StringValue("") // an empty route: a generic entry
	spans[91].Attributes[2].Value = model.IntValue(0)     // a zero status code: a generic entry
	spans[80].Attributes = append(spans[80].Attributes, model.Attribute{Key: "ratio", Value: model.DoubleValue(0.25)},
		model.Attribute{Key: "blob", Value: model.Value{Type: model.ValueBytes, Str: "\x00\x01"}})
	// The newest traces have equal start times: trace IDs order them.
	for i := len(spans) - 40; i < len(spans); i++ {
		spans[i].StartTimeUnixNano = spans[len(spans)-41].StartTimeUnixNano
	}
	sorted := sortedCopy(spans)
	for _, rgs := range []int{0, 1000} {
		b := writeOpen(t, newBucket(t), spans, WriteOptions{RowGroupSpans: rgs, DedicatedAttributes: []string{"user.tier"}})
		for _, tc := range searchCases(sorted) {
			for _, limit := range []int{-1, 1, 13} {
				name := fmt.Sprintf("%s rg %d", tc.name, rgs)
				req := tc.req
				if limit >= 0 {
					name, req.Limit = fmt.Sprintf("%s limit %d", name, limit), limit
				}
				t.Run(name, func(t *testing.T) {
					testSearch(t, b, req, sorted)
				})
			}
		}
	}
}

// testSearch compares b.Search with expectSearch.
func testSearch(t *testing.T, b *Block, req filter.Request, sorted []model.Span) {
	t.Helper()
	if err := req.Compile(); err != nil {
		t.Fatal(err)
	}
	want := expectSearch(&req, sorted)
	var got []filter.Match
	if err := b.Search(context.Background(), &req, func(m filter.Match) bool {
		got = append(got, m)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d traces, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("trace %d: got %s with %d spans, want %s with %d spans", i, got[i].TraceID, len(got[i].Spans), want[i].TraceID, len(want[i].Spans))
		}
	}
}

func TestSearchStops(t *testing.T) {
	spans := newWorkload(22, false).traces(300)
	b := writeOpen(t, newBucket(t), spans, WriteOptions{RowGroupSpans: 100})
	req := filter.Request{}
	calls := 0
	if err := b.Search(context.Background(), &req, func(filter.Match) bool {
		calls++
		return calls < 3
	}); err != nil {
		t.Fatal(err)
	}
	if calls != 3 {
		t.Fatalf("fn called %d times after returning false at 3", calls)
	}
}
