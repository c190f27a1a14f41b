package traceql

import (
	"slices"
	"testing"

	"waymark/internal/model"
)

// TestObserveMatchesEval checks that Observe reports exactly the distinct
// spans of Eval's spansets, in trace order, with the first value of each
// requested field.
func TestObserveMatchesEval(t *testing.T) {
	traces := genDataset(60)
	fields := []*Field{
		{Scope: ScopeResource, Name: "service.name"},
		{Intrinsic: IntrinsicDuration},
		{Scope: ScopeNone, Name: "dc"},
		{Scope: ScopeSpan, Name: "no.such.attribute"},
		{Intrinsic: IntrinsicTraceRootService},
	}
	for _, tc := range []struct{ name, query string }{
		{"all", `{ }`},
		{"filter", `{ status = error || duration > 50ms }`},
		{"unscoped", `{ .dc = "us-west" }`},
		{"and", `{ kind = server } && { kind = client }`},
		{"union_overlap", `{ kind = server } &>> { }`},
		{"or_overlap", `{ } || { kind = server }`},
		{"structural", `{ resource.service.name = "gateway" } >> { }`},
		{"pipeline", `{ } | by(resource.service.name) | count() > 1`},
		{"nothing", `{ name = "no such span" }`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := Parse(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			observed := 0
			for _, tr := range traces {
				sets, err := q.Eval(tr)
				if err != nil {
					t.Fatal(err)
				}
				var want []int
				for _, set := range sets {
					for _, m := range set.Spans {
						want = append(want, spanIndex(tr, m.Span))
					}
				}
				slices.Sort(want)
				want = slices.Compact(want)
				var got []int
				err = q.Observe(tr, fields, func(s *model.Span, values []Static) {
					i := spanIndex(tr, s)
					got = append(got, i)
					checkValues(t, tr, i, values)
				})
				if err != nil {
					t.Fatal(err)
				}
				observed += len(got)
				if !slices.IsSorted(got) {
					t.Errorf("trace %s: spans not in trace order: %v", tr[0].TraceID, got)
				}
				if !slices.Equal(got, want) {
					t.Errorf("trace %s: observed %v, Eval matched %v", tr[0].TraceID, got, want)
				}
			}
			if tc.name != "nothing" && observed == 0 {
				t.Error("no span observed; the case tests nothing")
			}
		})
	}
}

func spanIndex(tr []model.Span, s *model.Span) int {
	for i := range tr {
		if &tr[i] == s {
			return i
		}
	}
	return -1
}

// checkValues compares Observe's field values with the span's own data.
func checkValues(t *testing.T, tr []model.Span, i int, values []Static) {
	t.Helper()
	s := &tr[i]
	if len(values) != 5 {
		t.Fatalf("%d values, want 5", len(values))
	}
	if !same(values[0], StringStatic(s.Resource.ServiceName)) {
		t.Errorf("service.name = %v, want %q", values[0], s.Resource.ServiceName)
	}
	if !same(values[1], DurationStatic(int64(s.DurationNano()))) {
		t.Errorf("duration = %v, want %d", values[1], s.DurationNano())
	}
	wantDC := Static{}
	if v, ok := s.Attributes.Get("dc"); ok {
		wantDC = staticFromValue(v)
	} else if v, ok := s.Resource.Attributes.Get("dc"); ok {
		wantDC = staticFromValue(v)
	}
	if !same(values[2], wantDC) {
		t.Errorf(".dc = %v, want %v", values[2], wantDC)
	}
	if values[3].Type != TypeNil {
		t.Errorf("missing attribute = %v, want nil", values[3])
	}
	var root *model.Span
	for k := range tr {
		if tr[k].ParentSpanID.IsZero() && (root == nil || tr[k].StartTimeUnixNano < root.StartTimeUnixNano) {
			root = &tr[k]
		}
	}
	if root != nil && !same(values[4], StringStatic(root.Resource.ServiceName)) {
		t.Errorf("trace:rootService = %v, want %q", values[4], root.Resource.ServiceName)
	}
}

func same(a, b Static) bool {
	return a.Type == b.Type && a.Str == b.Str && a.Int == b.Int && a.Float == b.Float
}
