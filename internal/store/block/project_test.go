package block

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"waymark/internal/model"
	"waymark/internal/store/filter"
)

// normalize drops the service.name resource attribute of spans with a
// service name, which a projection may leave out.
func normalize(s model.Span) model.Span {
	if s.Resource != nil && s.Resource.ServiceName != "" {
		r := *s.Resource
		r.Attributes = nil
		for _, a := range s.Resource.Attributes {
			if a.Key != keyServiceName {
				r.Attributes = append(r.Attributes, a)
			}
		}
		s.Resource = &r
	}
	if len(s.Attributes) == 0 {
		s.Attributes = nil
	}
	if s.Resource != nil && len(s.Resource.Attributes) == 0 {
		s.Resource.Attributes = nil
	}
	return s
}

func projectionCases() []filter.Projection {
	return []filter.Projection{
		{Fields: filter.FieldServiceName},
		{},
		{Fields: filter.FieldDuration | filter.FieldName | filter.FieldKind | filter.FieldStatus | filter.FieldSpanID | filter.FieldParentSpanID},
		{SpanAttributes: []string{"http.route", "user.tier", "request.id", "service.name", "http.response.status_code", "ratio", "blob"},
			ResourceAttributes: []string{"host.name", "service.name", "http.route"}},
		{SpanAttributes: []string{"http.route"}},
		{SpanAttributes: []string{"no.such.key"}, ResourceAttributes: []string{"no.such.key"}},
		{Fields: filter.FieldDuration, ResourceAttributes: []string{"service.name"}},
	}
}

// TestSearchProjection runs searches with and without a projection and
// checks that the projected spans are the whole spans' projected fields,
// trace by trace.
func TestSearchProjection(t *testing.T) {
	spans := newWorkload(23, true).traces(1200)
	spans[10].Attributes = append(spans[10].Attributes, model.Attribute{Key: "service.name", Value: model.StringValue("service-3")})
	spans[20].Attributes[2].Value = model.StringValue("404")
	spans[30].Resource = &model.Resource{ServiceName: "service-9", Attributes: model.Attributes{{Key: "http.route", Value: model.StringValue("/api/v1/carts/{id}")}}}
	spans[40].Attributes = spans[40].Attributes[3:]
	spans[50].Resource = nil
	spans[60].Resource = &model.Resource{ServiceName: "", Attributes: model.Attributes{{Key: "service.name", Value: model.StringValue("")}}}
	spans[61].Resource = &model.Resource{ServiceName: ""}
	spans[62].Resource = &model.Resource{ServiceName: "", Attributes: model.Attributes{{Key: "service.name", Value: model.IntValue(7)}}}
	spans[70].Attributes[1].Value = model.IntValue(5)
	spans[90].Attributes[1].Value = model.StringValue("")
	spans[80].Attributes = append(spans[80].Attributes, model.Attribute{Key: "ratio", Value: model.DoubleValue(0.25)},
		model.Attribute{Key: "blob", Value: model.Value{Type: model.ValueBytes, Str: "\x00\x01"}},
		model.Attribute{Key: "http.route", Value: model.StringValue("second")})
	sorted := sortedCopy(spans)
	mid := sorted[len(sorted)/2].StartTimeUnixNano
	reqs := map[string]filter.Request{
		"everything": {},
		"time range": {StartUnixNano: mid - 50_000_000, EndUnixNano: mid + 50_000_000},
		"service":    {Conditions: []filter.Condition{cond(filter.ScopeResource, "service.name", filter.OpEq, model.StringValue("service-2"))}},
		"errors":     {Conditions: []filter.Condition{cond(filter.ScopeIntrinsic, filter.IntrinsicStatus, filter.OpEq, model.StringValue("error"))}},
		"route":      {Conditions: []filter.Condition{cond(filter.ScopeAny, "http.route", filter.OpRegex, model.StringValue("carts|items"))}},
	}
	for _, rgs := range []int{0, 700} {
		b := writeOpen(t, newBucket(t), spans, WriteOptions{RowGroupSpans: rgs, DedicatedAttributes: []string{"user.tier"}})
		for rname, req := range reqs {
			if err := req.Compile(); err != nil {
				t.Fatal(err)
			}
			for i, p := range projectionCases() {
				t.Run(fmt.Sprintf("%s rg %d projection %d", rname, rgs, i), func(t *testing.T) {
					checkProjection(t, b, req, p)
				})
			}
		}
	}
}

// checkProjection searches b with req with and without projection p and
// checks that the projected spans are p applied to the whole spans, trace
// by trace. req must be compiled.
func checkProjection(t *testing.T, b *Block, req filter.Request, p filter.Projection) {
	t.Helper()
	whole := searchAll(t, b, req)
	req.Projection = &p
	got := searchAll(t, b, req)
	if len(got) != len(whole) {
		t.Fatalf("got %d traces, want %d", len(got), len(whole))
	}
	for k, w := range whole {
		g := got[k]
		if g.TraceID != w.TraceID || g.StartUnixNano != w.StartUnixNano || len(g.Spans) != len(w.Spans) {
			t.Fatalf("trace %d: got %s from %d with %d spans, want %s from %d with %d spans",
				k, g.TraceID, g.StartUnixNano, len(g.Spans), w.TraceID, w.StartUnixNano, len(w.Spans))
		}
		for j := range w.Spans {
			want := normalize(p.Apply(&w.Spans[j]))
			if gs := normalize(g.Spans[j]); !reflect.DeepEqual(gs, want) {
				t.Fatalf("trace %d span %d:\n got %+v %+v\nwant %+v %+v", k, j, gs, gs.Resource, want, want.Resource)
			}
		}
	}
}

// searchAll returns every match of req, with copies of the spans.
func searchAll(t *testing.T, b *Block, req filter.Request) []filter.Match {
	t.Helper()
	var out []filter.Match
	if err := b.Search(context.Background(), &req, func(m filter.Match) bool {
		m.Spans = filter.CloneSpans(m.Spans)
		out = append(out, m)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return out
}
