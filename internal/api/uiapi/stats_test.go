package uiapi

import (
	"math"
	"testing"
	"time"

	"waymark/internal/model"
	"waymark/internal/store/filter"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestPercentile(t *testing.T) {
	tests := []struct {
		name   string
		values []uint64
		p      float64
		want   uint64
	}{
		{"single", []uint64{7}, 0.99, 7},
		{"median of odd", []uint64{1, 2, 3, 4, 5}, 0.5, 3},
		{"median of even is lower middle", []uint64{1, 2, 3, 4}, 0.5, 2},
		{"p90 of ten", []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.9, 9},
		{"p99 of hundred", seq(100), 0.99, 99},
		{"p0 is the minimum", []uint64{3, 4}, 0, 3},
		{"p100 is the maximum", []uint64{3, 4}, 1, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.values, tt.p); got != tt.want {
				t.Fatalf("percentile(%v, %v) = %d, want %d", tt.values, tt.p, got, tt.want)
			}
		})
	}
}

func seq(n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = uint64(i + 1)
	}
	return out
}

func TestTwoProportionZ(t *testing.T) {
	tests := []struct {
		name           string
		e1, n1, e2, n2 int
		want           float64
	}{
		{"higher rate is positive", 30, 100, 10, 200, 6.004805767690768},
		{"lower rate is negative", 10, 200, 30, 100, -6.004805767690768},
		{"equal rates", 5, 100, 10, 200, 0},
		{"empty side", 5, 10, 0, 0, 0},
		{"no errors anywhere", 0, 10, 0, 10, 0},
		{"all errors everywhere", 10, 10, 10, 10, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := twoProportionZ(tt.e1, tt.n1, tt.e2, tt.n2); !near(got, tt.want, 1e-9) {
				t.Fatalf("z = %v, want %v", got, tt.want)
			}
		})
	}
}

func moments(ns ...uint64) logMoments {
	var m logMoments
	for _, d := range ns {
		m.add(d)
	}
	return m
}

func TestLatencyDeviation(t *testing.T) {
	tests := []struct {
		name      string
		g, rest   logMoments
		wantRatio float64
		wantZSign int
	}{
		{"twice as slow", moments(200, 220, 180), moments(100, 110, 90), 2, 1},
		{"faster", moments(50, 55, 45), moments(100, 110, 90), 0.5, -1},
		{"constant but slower is capped", moments(300, 300), moments(100, 100), 3, 1},
		{"same", moments(100, 100), moments(100, 100), 1, 0},
		{"empty rest", moments(100), logMoments{}, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ratio, z := latencyDeviation(tt.g, tt.rest)
			if !near(ratio, tt.wantRatio, 0.01) {
				t.Errorf("ratio = %v, want %v", ratio, tt.wantRatio)
			}
			if sign(z) != tt.wantZSign {
				t.Errorf("z = %v, want sign %d", z, tt.wantZSign)
			}
			if math.IsInf(z, 0) || math.IsNaN(z) || math.Abs(z) > maxZ {
				t.Errorf("z = %v is not a bounded number", z)
			}
		})
	}
}

func sign(f float64) int {
	switch {
	case f > 0:
		return 1
	case f < 0:
		return -1
	}
	return 0
}

func matchesOf(traces [][]model.Span, keep func(*model.Span) bool) []filter.Match {
	var out []filter.Match
	for _, tr := range traces {
		var spans []model.Span
		for i := range tr {
			if keep == nil || keep(&tr[i]) {
				spans = append(spans, tr[i])
			}
		}
		if len(spans) > 0 {
			out = append(out, filter.Match{TraceID: tr[0].TraceID, StartUnixNano: tr[0].StartTimeUnixNano, Spans: spans})
		}
	}
	return out
}

func TestBreakdownSinglesOutFailingDatacenter(t *testing.T) {
	w := newWorkload(time.Unix(1_700_000_000, 0))
	traces := w.requests(300)
	app := func(s *model.Span) bool { return s.ServiceName() == "app" }
	b := BreakdownOf(matchesOf(traces, app), "datacenter", 0)

	if len(b.Groups) != 3 {
		t.Fatalf("got %d groups, want 3: %+v", len(b.Groups), b.Groups)
	}
	top := b.Groups[0]
	if top.Value != "dc-2" {
		t.Fatalf("most deviant = %q, want dc-2; groups %+v", top.Value, b.Groups)
	}
	if top.Count != 100 || top.Errors != 34 {
		t.Errorf("dc-2 count/errors = %d/%d, want 100/34", top.Count, top.Errors)
	}
	if !near(top.ErrorRate, 0.34, 1e-9) {
		t.Errorf("dc-2 error rate = %v, want 0.34", top.ErrorRate)
	}
	if top.P50Us != 60000 || top.P99Us != 60000 {
		t.Errorf("dc-2 latency = %+v, want 60ms everywhere", top.Latency)
	}
	if !near(top.LatencyRatio, 3, 1e-9) {
		t.Errorf("dc-2 latency ratio = %v, want 3", top.LatencyRatio)
	}
	// 34/100 against 0/200, pooled.
	if want := twoProportionZ(34, 100, 0, 200); !near(top.ErrorZ, want, 1e-9) || top.ErrorZ < 5 {
		t.Errorf("dc-2 error z = %v, want %v (> 5)", top.ErrorZ, want)
	}
	for _, g := range b.Groups[1:] {
		if g.Errors != 0 || g.ErrorZ >= 0 || g.LatencyZ >= 0 || g.Score != 0 {
			t.Errorf("healthy group %q: errors %d, errorZ %v, latencyZ %v, score %v; want 0, <0, <0, 0", g.Value, g.Errors, g.ErrorZ, g.LatencyZ, g.Score)
		}
	}
	if b.Total.Count != 300 || b.Total.Errors != 34 || b.Traces != 300 {
		t.Errorf("total = %+v over %d traces, want 300 spans, 34 errors, 300 traces", b.Total, b.Traces)
	}
}

func TestBreakdownGroups(t *testing.T) {
	res := &model.Resource{ServiceName: "svc", Attributes: model.Attributes{{Key: "region", Value: model.StringValue("eu")}}}
	span := func(attrs model.Attributes, durMs uint64, failed bool) model.Span {
		s := model.Span{Name: "op", StartTimeUnixNano: 1e9, EndTimeUnixNano: 1e9 + durMs*1e6, Resource: res, Attributes: attrs}
		if failed {
			s.StatusCode = model.StatusError
		}
		return s
	}
	status := func(code int64) model.Attributes {
		return model.Attributes{{Key: "http.status_code", Value: model.IntValue(code)}}
	}
	tests := []struct {
		name      string
		spans     []model.Span
		attribute string
		maxGroups int
		want      []string // group values in order; "-" for the missing group
		other     int
	}{
		{
			name:      "span attribute, int rendered as text",
			spans:     []model.Span{span(status(200), 1, false), span(status(500), 1, true), span(status(200), 1, false)},
			attribute: "http.status_code",
			want:      []string{"500", "200"},
		},
		{
			name:      "resource attribute when the span lacks it",
			spans:     []model.Span{span(nil, 1, false), span(nil, 2, false)},
			attribute: "region",
			want:      []string{"eu"},
		},
		{
			name:      "spans without the attribute form their own group",
			spans:     []model.Span{span(status(200), 1, false), span(nil, 1, true), span(nil, 1, true), span(status(200), 1, false)},
			attribute: "http.status_code",
			want:      []string{"-", "200"},
		},
		{
			name:      "ties sort by count then value",
			spans:     []model.Span{span(status(404), 1, false), span(status(201), 1, false), span(status(200), 1, false), span(status(200), 1, false)},
			attribute: "http.status_code",
			want:      []string{"200", "201", "404"},
		},
		{
			name:      "group cap counts the rest",
			spans:     []model.Span{span(status(404), 1, false), span(status(201), 1, false), span(status(200), 1, false), span(status(200), 1, false)},
			attribute: "http.status_code",
			maxGroups: 1,
			want:      []string{"200"},
			other:     2,
		},
		{
			name:      "jaeger error tag counts as failure",
			spans:     []model.Span{span(model.Attributes{{Key: "error", Value: model.BoolValue(true)}, {Key: "k", Value: model.StringValue("a")}}, 1, false), span(model.Attributes{{Key: "k", Value: model.StringValue("b")}}, 1, false)},
			attribute: "k",
			want:      []string{"a", "b"},
		},
		{
			name:      "no spans",
			attribute: "k",
			want:      []string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := BreakdownOf([]filter.Match{{Spans: tt.spans}}, tt.attribute, tt.maxGroups)
			got := make([]string, len(b.Groups))
			for i, g := range b.Groups {
				got[i] = g.Value
				if g.Missing {
					got[i] = "-"
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("groups = %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("groups = %v, want %v", got, tt.want)
				}
			}
			if b.OtherGroups != tt.other {
				t.Errorf("other groups = %d, want %d", b.OtherGroups, tt.other)
			}
		})
	}
}

func TestServiceStats(t *testing.T) {
	w := newWorkload(time.Unix(1_700_000_000, 0))
	st := ServiceStatsOf(matchesOf(w.requests(300), nil), 300)
	names := make([]string, len(st.Services))
	byName := make(map[string]ServiceStat)
	for i, s := range st.Services {
		names[i] = s.Service
		byName[s.Service] = s
	}
	if got, want := names, []string{"app", "db", "edge", "gateway"}; len(got) != 4 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] || got[3] != want[3] {
		t.Fatalf("services = %v, want %v", got, want)
	}
	edge := byName["edge"]
	if edge.Entry.Count != 300 || edge.Entry.Errors != 34 || !near(edge.Entry.Rate, 1, 1e-9) {
		t.Errorf("edge entry = %+v, want 300 requests, 34 errors, 1/s", edge.Entry)
	}
	if len(edge.Operations) != 1 || edge.Operations[0].Name != "GET /checkout" || edge.Operations[0].Kind != "server" {
		t.Errorf("edge operations = %+v", edge.Operations)
	}
	// 200 requests take 30ms at the edge, 100 take 70ms.
	if edge.Entry.P50Us != 30000 || edge.Entry.P90Us != 70000 || edge.Entry.P99Us != 70000 {
		t.Errorf("edge latency = %+v, want p50 30ms, p90 and p99 70ms", edge.Entry.Latency)
	}
	if db := byName["db"]; db.Entry.Count != 300 || db.Entry.Errors != 0 || db.Entry.ErrorRate != 0 {
		t.Errorf("db entry = %+v, want 300 calls without errors", db.Entry)
	}
}

func TestServiceStatsEntrySpans(t *testing.T) {
	a := &model.Resource{ServiceName: "a"}
	b := &model.Resource{ServiceName: "b"}
	tid := traceID(1)
	spans := []model.Span{
		{TraceID: tid, SpanID: spanID(1, 0), Name: "root", Resource: a},
		{TraceID: tid, SpanID: spanID(1, 1), ParentSpanID: spanID(1, 0), Name: "internal", Resource: a},
		{TraceID: tid, SpanID: spanID(1, 2), ParentSpanID: spanID(1, 1), Name: "serve", Resource: b},
		{TraceID: tid, SpanID: spanID(1, 3), ParentSpanID: spanID(1, 2), Name: "work", Resource: b},
		{TraceID: tid, SpanID: spanID(1, 4), ParentSpanID: spanID(9, 9), Name: "orphan", Resource: b},
	}
	st := ServiceStatsOf([]filter.Match{{TraceID: tid, Spans: spans}}, 0)
	want := map[string]int{"a": 1, "b": 2}
	for _, s := range st.Services {
		if s.Entry.Count != want[s.Service] {
			t.Errorf("service %s: %d entry spans, want %d", s.Service, s.Entry.Count, want[s.Service])
		}
		if s.Entry.Rate != 0 {
			t.Errorf("service %s: rate %v over an empty window, want 0", s.Service, s.Entry.Rate)
		}
	}
}

func TestSummarize(t *testing.T) {
	w := newWorkload(time.Unix(1_700_000_000, 0))
	failing := w.request(1) // dc-2, request 0 of dc-2 fails
	res := &model.Resource{ServiceName: "s"}
	sp := func(id, parent int, start, end uint64) model.Span {
		s := model.Span{TraceID: traceID(5), SpanID: spanID(5, id), Name: "op", StartTimeUnixNano: start, EndTimeUnixNano: end, Resource: res}
		if parent >= 0 {
			s.ParentSpanID = spanID(5, parent)
		}
		return s
	}
	tests := []struct {
		name        string
		spans       []model.Span
		wantRoot    string
		wantMissing bool
		wantSpans   int
		wantErrors  int
		wantDepth   int
		wantOrphans int
		wantDurUs   float64
	}{
		{"request", failing, "edge", false, 4, 3, 4, 0, 70000},
		{"missing root takes earliest orphan", []model.Span{sp(1, 0, 2000, 5000), sp(2, 1, 3000, 4000), sp(3, 7, 1000, 1500)}, "s", true, 3, 0, 2, 2, 4},
		{"cycle does not hang", []model.Span{sp(1, 2, 1000, 2000), sp(2, 1, 1500, 3000)}, "s", true, 2, 0, 2, 0, 2},
		{"end before start counts as zero length", []model.Span{sp(1, -1, 5000, 4000)}, "s", false, 1, 0, 1, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Summarize(tt.spans[0].TraceID, tt.spans)
			if s.RootService != tt.wantRoot || s.RootMissing != tt.wantMissing {
				t.Errorf("root = %q (missing %v), want %q (missing %v)", s.RootService, s.RootMissing, tt.wantRoot, tt.wantMissing)
			}
			if s.SpanCount != tt.wantSpans || s.ErrorCount != tt.wantErrors || s.Depth != tt.wantDepth || s.OrphanCount != tt.wantOrphans {
				t.Errorf("spans/errors/depth/orphans = %d/%d/%d/%d, want %d/%d/%d/%d", s.SpanCount, s.ErrorCount, s.Depth, s.OrphanCount, tt.wantSpans, tt.wantErrors, tt.wantDepth, tt.wantOrphans)
			}
			if s.DurationUs != tt.wantDurUs {
				t.Errorf("duration = %vµs, want %v", s.DurationUs, tt.wantDurUs)
			}
		})
	}
	// The request trace's root operation and start.
	s := Summarize(failing[0].TraceID, failing)
	if s.RootOperation != "GET /checkout" || s.StartUs != int64(failing[0].StartTimeUnixNano/1e3) || s.TraceID != failing[0].TraceID.String() {
		t.Errorf("summary = %+v", s)
	}
	if len(s.Services) != 4 || s.Services[0].Name != "app" || s.Services[0].ErrorCount != 1 {
		t.Errorf("services = %+v, want 4 sorted by count then name, app first with 1 error", s.Services)
	}
}
