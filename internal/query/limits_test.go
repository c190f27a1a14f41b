package query

import (
	"cmp"
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"waymark/internal/model"
	"waymark/internal/query/traceql"
	"waymark/internal/store/filter"
)

// limitsBase is the start of the traces of the limits tests.
const limitsBase = uint64(1_700_000_000) * uint64(time.Second)

// wideTrace returns a trace of n spans of service svc, numbered from 1:
// span 1 is the root, the others a 4-ary tree below it. Each span starts
// after its parent, at a shuffled offset, so that storage order and start
// order differ.
// Trace i starts at limitsBase + i seconds.
func wideTrace(i, n int, svc string) []model.Span {
	res := &model.Resource{ServiceName: svc, Attributes: model.Attributes{{Key: "service.name", Value: model.StringValue(svc)}}}
	tid := model.TraceID{0xaa, byte(i), byte(i >> 8), 1}
	start := limitsBase + uint64(i)*uint64(time.Second)
	order := rand.New(rand.NewPCG(uint64(i), 3)).Perm(n - 1)
	spans := make([]model.Span, n)
	for j := range spans {
		sp := model.Span{TraceID: tid, SpanID: spanID(j + 1), Name: "op", Resource: res, Kind: model.KindInternal}
		if j == 0 {
			sp.StartTimeUnixNano, sp.EndTimeUnixNano = start, start+uint64(time.Second)-1
			sp.Kind = model.KindServer
		} else {
			parent := (j - 1) / 4
			sp.ParentSpanID = spans[parent].SpanID
			sp.StartTimeUnixNano = spans[parent].StartTimeUnixNano + 1000 + uint64(order[j-1])*1000
			sp.EndTimeUnixNano = sp.StartTimeUnixNano + 500
		}
		spans[j] = sp
	}
	return spans
}

func spanID(n int) model.SpanID { return model.SpanID{0xbb, byte(n), byte(n >> 8), byte(n >> 16), 1} }

// counter returns the value of the counter name in reg (0 if absent).
func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return 0
}

func TestTruncate(t *testing.T) {
	tr := wideTrace(1, 40, "svc")
	// A second root (a parent not yet received is no root: only a zero
	// parent counts) started last.
	late := tr[39]
	late.ParentSpanID = model.SpanID{}
	tr[39] = late
	// The non-root spans, earliest first.
	others := slices.Clone(tr[1:39])
	slices.SortFunc(others, func(a, b model.Span) int { return cmp.Compare(a.StartTimeUnixNano, b.StartTimeUnixNano) })
	cases := []struct {
		name  string
		limit int
		want  int
	}{
		{name: "no limit", limit: 0, want: 40},
		{name: "under the limit", limit: 41, want: 40},
		{name: "at the limit", limit: 40, want: 40},
		{name: "cut", limit: 10, want: 10},
		{name: "roots only", limit: 2, want: 2},
		{name: "one", limit: 1, want: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tr)
			rand.New(rand.NewPCG(9, 9)).Shuffle(len(in), func(i, j int) { in[i], in[j] = in[j], in[i] })
			got := Truncate(in, tc.limit)
			if len(got) != tc.want {
				t.Fatalf("kept %d spans, want %d", len(got), tc.want)
			}
			if tc.want == len(tr) {
				return
			}
			// The roots come first, the first-started one first.
			if got[0].SpanID != tr[0].SpanID || (tc.want > 1 && got[1].SpanID != late.SpanID) {
				t.Errorf("first spans %s, %s; want the roots %s, %s", got[0].SpanID, got[min(1, len(got)-1)].SpanID, tr[0].SpanID, late.SpanID)
			}
			// Then the earliest of the others, in start order; every kept
			// span's parent is kept.
			kept := map[model.SpanID]bool{}
			for _, s := range got {
				kept[s.SpanID] = true
			}
			for i := 2; i < len(got); i++ {
				if got[i].SpanID != others[i-2].SpanID {
					t.Errorf("span %d is %s, want the next earliest %s", i, got[i].SpanID, others[i-2].SpanID)
				}
				if !kept[got[i].ParentSpanID] {
					t.Errorf("span %s kept without its parent %s", got[i].SpanID, got[i].ParentSpanID)
				}
			}
			// The same spans in another input order give the same answer.
			again := Truncate(slices.Clone(tr), tc.limit)
			if !slices.EqualFunc(got, again, func(a, b model.Span) bool { return a.SpanID == b.SpanID }) {
				t.Error("truncation depends on the input order")
			}
		})
	}
}

func TestFindTraceLimit(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	small, big, split := wideTrace(1, 5, "a"), wideTrace(2, 50, "a"), wideTrace(3, 30, "b")
	consume(t, st, "t", append(append(slices.Clone(small), big...), split[:10]...))
	if err := st.CutHead(ctx); err != nil {
		t.Fatal(err)
	}
	consume(t, st, "t", split[10:]) // one trace across a block and the head
	reg := prometheus.NewRegistry()
	q := New(st, Options{MaxTraceSpans: 20, Registerer: reg})
	cases := []struct {
		name      string
		trace     []model.Span
		wantSpans int
	}{
		{name: "under the limit", trace: small, wantSpans: 5},
		{name: "over the limit", trace: big, wantSpans: 20},
		{name: "over the limit across block and head", trace: split, wantSpans: 20},
	}
	truncated := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := q.FindTrace(ctx, "t", tc.trace[0].TraceID, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(tr.Spans) != tc.wantSpans || tr.StoredSpans != len(tc.trace) || tr.ID != tc.trace[0].TraceID {
				t.Fatalf("got %d of %d spans of %s, want %d of %d", len(tr.Spans), tr.StoredSpans, tr.ID, tc.wantSpans, len(tc.trace))
			}
			cut := len(tc.trace) > tc.wantSpans
			if tr.Truncated() != cut || (tr.Warning() != "") != cut {
				t.Fatalf("Truncated() = %v, Warning() = %q; want truncated %v", tr.Truncated(), tr.Warning(), cut)
			}
			if !cut {
				return
			}
			truncated++
			if want := Truncate(slices.Clone(tc.trace), tc.wantSpans); !slices.EqualFunc(tr.Spans, want, func(a, b model.Span) bool { return a.SpanID == b.SpanID }) {
				t.Error("the stored trace is cut differently from Truncate of its spans")
			}
			for _, s := range []string{"truncated", "query.max_trace_spans", "20"} {
				if !strings.Contains(tr.Warning(), s) {
					t.Errorf("warning %q lacks %q", tr.Warning(), s)
				}
			}
		})
	}
	if got := counter(t, reg, "waymark_query_traces_truncated_total"); got != float64(truncated) {
		t.Errorf("waymark_query_traces_truncated_total = %v, want %d", got, truncated)
	}
	if _, err := q.FindTrace(ctx, "t", model.TraceID{9}, 0, 0); !errors.Is(err, ErrTraceNotFound) {
		t.Errorf("unknown trace: %v, want ErrTraceNotFound", err)
	}
}

// budgetStore stores five traces of 10 spans for tenant "t", the newest
// last, and returns a querier with the given span budget.
func budgetStore(t *testing.T, budget int) (*Querier, *prometheus.Registry, [][]model.Span) {
	t.Helper()
	st := openStore(t)
	var traces [][]model.Span
	for i := range 5 {
		tr := wideTrace(10+i, 10, "shop")
		traces = append(traces, tr)
		consume(t, st, "t", tr)
	}
	reg := prometheus.NewRegistry()
	return New(st, Options{MaxTraceSpans: 10, MaxSpansPerQuery: budget, Registerer: reg}), reg, traces
}

func TestSearchBudget(t *testing.T) {
	ctx := context.Background()
	window := filter.Request{StartUnixNano: limitsBase, EndUnixNano: limitsBase + 100*uint64(time.Second)}
	shop := window
	shop.Conditions = []filter.Condition{{Scope: filter.ScopeResource, Key: "service.name", Op: filter.OpEq, Value: model.StringValue("shop")}}
	tq, err := traceql.Parse(`{ resource.service.name = "shop" }`)
	if err != nil {
		t.Fatal(err)
	}
	type answer struct {
		traces  int
		warning string
	}
	searches := []struct {
		name string
		run  func(q *Querier, traces [][]model.Span) (answer, error)
		// spans is how many spans each trace costs the budget.
		spans int
	}{
		{name: "Search", spans: 10, run: func(q *Querier, _ [][]model.Span) (answer, error) {
			r, err := q.Search(ctx, "t", shop)
			return answer{len(r.Matches), r.Warning}, err
		}},
		{name: "SearchTraces", spans: 10, run: func(q *Querier, _ [][]model.Span) (answer, error) {
			r, err := q.SearchTraces(ctx, "t", shop)
			return answer{len(r.Traces), r.Warning}, err
		}},
		{name: "FindTraces", spans: 10, run: func(q *Querier, traces [][]model.Span) (answer, error) {
			var ids []model.TraceID
			for _, tr := range traces {
				ids = append(ids, tr[0].TraceID)
			}
			r, err := q.FindTraces(ctx, "t", ids)
			return answer{len(r.Traces), r.Warning}, err
		}},
		{name: "SearchSummaries all matched spans", spans: 10, run: func(q *Querier, _ [][]model.Span) (answer, error) {
			r, err := q.SearchSummaries(ctx, "t", shop, 0)
			return answer{len(r.Summaries), r.Warning}, err
		}},
		{name: "SearchSummaries 5 spans per set", spans: 5, run: func(q *Querier, _ [][]model.Span) (answer, error) {
			r, err := q.SearchSummaries(ctx, "t", shop, 5)
			return answer{len(r.Summaries), r.Warning}, err
		}},
		{name: "SearchTraceQL", spans: 10, run: func(q *Querier, _ [][]model.Span) (answer, error) {
			r, err := q.SearchTraceQL(ctx, "t", TraceQLRequest{Query: tq, StartUnixNano: window.StartUnixNano, EndUnixNano: window.EndUnixNano, Limit: 100, SpansPerSet: 1 << 20})
			return answer{len(r.Results), r.Warning}, err
		}},
	}
	for _, s := range searches {
		budgets := []struct {
			name   string
			budget int
			want   int
		}{
			{name: "ample", budget: 1000, want: 5},
			{name: "exact", budget: 5 * s.spans, want: 5},
			{name: "two and a half traces", budget: 5*s.spans/2 + 1, want: 2},
			{name: "one trace", budget: s.spans, want: 1},
		}
		for _, b := range budgets {
			t.Run(s.name+"/"+b.name, func(t *testing.T) {
				q, reg, traces := budgetStore(t, max(b.budget, 10))
				if b.budget < 10 {
					q.maxQuerySpans = b.budget // below one whole trace: only for per-set searches
				}
				got, err := s.run(q, traces)
				if err != nil {
					t.Fatal(err)
				}
				partial := b.want < 5
				if got.traces != b.want || (got.warning != "") != partial {
					t.Fatalf("got %d traces, warning %q; want %d, partial %v", got.traces, got.warning, b.want, partial)
				}
				if partial && !strings.Contains(got.warning, "query.max_spans_per_query") {
					t.Errorf("warning %q does not name the setting", got.warning)
				}
				wantCount := 0.0
				if partial {
					wantCount = 1
				}
				if c := counter(t, reg, "waymark_query_searches_partial_total"); c != wantCount {
					t.Errorf("waymark_query_searches_partial_total = %v, want %v", c, wantCount)
				}
			})
		}
	}
}

// TestSearchTraceQLKeepsFewSpans checks that a TraceQL result holds its
// kept spans (copied out of the whole trace) intact.
func TestSearchTraceQLKeepsFewSpans(t *testing.T) {
	q, _, traces := budgetStore(t, 1000)
	tq, err := traceql.Parse(`{ name = "op" }`)
	if err != nil {
		t.Fatal(err)
	}
	res, err := q.SearchTraceQL(context.Background(), "t", TraceQLRequest{Query: tq, StartUnixNano: limitsBase, EndUnixNano: limitsBase + 100*uint64(time.Second), Limit: 5, SpansPerSet: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Results) != len(traces) {
		t.Fatalf("got %d results, want %d", len(res.Results), len(traces))
	}
	for _, r := range res.Results {
		if r.MatchedCount != 10 || len(r.SpanSets) != 1 || len(r.SpanSets[0].Spans) != 2 {
			t.Fatalf("result %s: matched %d, spansets %d", r.TraceID, r.MatchedCount, len(r.SpanSets))
		}
		for _, m := range r.SpanSets[0].Spans {
			i := slices.IndexFunc(traces, func(tr []model.Span) bool { return tr[0].TraceID == r.TraceID })
			j := slices.IndexFunc(traces[i], func(s model.Span) bool { return s.SpanID == m.Span.SpanID })
			if m.Span.TraceID != r.TraceID || j < 0 || traces[i][j].StartTimeUnixNano != m.Span.StartTimeUnixNano {
				t.Errorf("result %s: kept span %s is not a copy of a stored span", r.TraceID, m.Span.SpanID)
			}
		}
	}
}

func TestSmallestFirst(t *testing.T) {
	cases := []struct {
		name     string
		n, k     int
		distinct int // values drawn from [0, distinct)
	}{
		{name: "small", n: 10, k: 3, distinct: 100},
		{name: "first", n: 1000, k: 1, distinct: 1 << 30},
		{name: "all but one", n: 1000, k: 999, distinct: 1 << 30},
		{name: "all", n: 1000, k: 1000, distinct: 1 << 30},
		{name: "many repeats", n: 5000, k: 700, distinct: 3},
		{name: "all equal", n: 500, k: 250, distinct: 1},
		{name: "distinct", n: 20000, k: 1234, distinct: 1 << 30},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tc.n), uint64(tc.k)))
			for _, order := range []string{"random", "ascending", "descending"} {
				s := make([]int, tc.n)
				for i := range s {
					s[i] = rng.IntN(tc.distinct)
				}
				switch order {
				case "ascending":
					slices.Sort(s)
				case "descending":
					slices.Sort(s)
					slices.Reverse(s)
				}
				want := slices.Clone(s)
				slices.Sort(want)
				smallestFirst(s, tc.k, cmp.Compare[int])
				if !slices.Equal(s[:tc.k], want[:tc.k]) {
					t.Fatalf("%s input: first %d differ from the sorted smallest", order, tc.k)
				}
				slices.Sort(s)
				if !slices.Equal(s, want) {
					t.Fatalf("%s input: elements lost or duplicated", order)
				}
			}
		})
	}
}
