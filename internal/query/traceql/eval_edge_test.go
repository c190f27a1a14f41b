package traceql

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"waymark/internal/model"
	"waymark/internal/store/filter"
)

// smallTrace is a hand-built trace for the cases the generated dataset
// does not reach: an api root with two children, one of which failed.
func smallTrace() []model.Span {
	tid := model.TraceID{0, 0, 0, 1}
	api := &model.Resource{ServiceName: "api", Attributes: model.Attributes{
		{Key: "service.name", Value: model.StringValue("api")},
		{Key: "x", Value: model.StringValue("res")},
	}}
	db := &model.Resource{ServiceName: "db", Attributes: model.Attributes{{Key: "service.name", Value: model.StringValue("db")}}}
	return []model.Span{
		{TraceID: tid, SpanID: model.SpanID{1}, Name: "GET /", Kind: model.KindServer, StartTimeUnixNano: 1000, EndTimeUnixNano: 5_001_000,
			Resource: api, Attributes: model.Attributes{
				{Key: "http.status_code", Value: model.IntValue(500)},
				{Key: "http.url", Value: model.StringValue("/a")},
				{Key: "x", Value: model.StringValue("span")},
				{Key: "arr", Value: model.Value{Type: model.ValueArray, Str: `[1,"a",[2],{"k":1},true,2.5,null]`}},
				{Key: "n", Value: model.IntValue(5)},
			}, StatusCode: model.StatusError},
		{TraceID: tid, SpanID: model.SpanID{2}, ParentSpanID: model.SpanID{1}, Name: "query", Kind: model.KindClient, StartTimeUnixNano: 2000, EndTimeUnixNano: 3_002_000,
			Resource: api, Attributes: model.Attributes{{Key: "http.status_code", Value: model.IntValue(503)}, {Key: "raw", Value: model.Value{Type: model.ValueBytes, Str: "\x01b"}}},
			Events: []model.Event{{TimeUnixNano: 1000, Name: "early"}}},
		{TraceID: tid, SpanID: model.SpanID{3}, ParentSpanID: model.SpanID{1}, Name: "query", Kind: model.KindServer, StartTimeUnixNano: 3000, EndTimeUnixNano: 1_003_000,
			Resource: db},
	}
}

func spanNames(res []Spanset) [][]model.SpanID {
	var out [][]model.SpanID
	for _, ss := range res {
		var ids []model.SpanID
		for _, m := range ss.Spans {
			ids = append(ids, m.Span.SpanID)
		}
		out = append(out, ids)
	}
	return out
}

func TestEvalEdgeCases(t *testing.T) {
	s1, s2, s3 := model.SpanID{1}, model.SpanID{2}, model.SpanID{3}
	cycle := []model.Span{
		{TraceID: model.TraceID{9}, SpanID: s1, ParentSpanID: s2},
		{TraceID: model.TraceID{9}, SpanID: s2, ParentSpanID: s1},
		{TraceID: model.TraceID{9}, SpanID: s3, ParentSpanID: s3},
		{TraceID: model.TraceID{9}, SpanID: s3},
	}
	bare := []model.Span{{TraceID: model.TraceID{8}, SpanID: s1, Name: "bare"}}
	cases := []struct {
		name  string
		trace []model.Span
		query string
		want  [][]model.SpanID
	}{
		{"unscoped matches span value", smallTrace(), `{ .x = "span" }`, [][]model.SpanID{{s1}}},
		{"unscoped matches resource value", smallTrace(), `{ .x = "res" }`, [][]model.SpanID{{s1, s2}}},
		{"unscoped not equal is any value", smallTrace(), `{ .x != "span" }`, [][]model.SpanID{{s1, s2}}},
		{"unscoped nil", smallTrace(), `{ .x = nil }`, [][]model.SpanID{{s3}}},
		{"array int element", smallTrace(), `{ span.arr = 1 }`, [][]model.SpanID{{s1}}},
		{"array nested elements skipped", smallTrace(), `{ span.arr = 2 }`, nil},
		{"array float element", smallTrace(), `{ span.arr > 2.4 }`, [][]model.SpanID{{s1}}},
		{"array bool element", smallTrace(), `{ span.arr = true }`, [][]model.SpanID{{s1}}},
		{"array string element", smallTrace(), `{ span.arr =~ "a" }`, [][]model.SpanID{{s1}}},
		{"int equals duration numerically", smallTrace(), `{ span.n = 5ns }`, [][]model.SpanID{{s1}}},
		{"division by zero is no value", smallTrace(), `{ span.n / 0 > 1 || span.n % 0 = 0 }`, nil},
		{"negated division by zero", smallTrace(), `{ !(span.n / 0 > 1) }`, [][]model.SpanID{{s1, s2, s3}}},
		{"bytes compare as strings", smallTrace(), `{ span.raw = "\x01b" }`, [][]model.SpanID{{s2}}},
		{"event before span start", smallTrace(), `{ event:timeSinceStart < 0s }`, [][]model.SpanID{{s2}}},
		{"string order", smallTrace(), `{ name < "h" }`, [][]model.SpanID{{s1}}},
		{"trace duration", smallTrace(), `{ trace:duration = 5ms && span:parentID = nil }`, [][]model.SpanID{{s1}}},
		{"bool attribute as condition", smallTrace(), `{ span.arr }`, nil},
		{"or concatenates spansets", smallTrace(), `{ kind = server } || { kind = server }`, [][]model.SpanID{{s1, s3}, {s1, s3}}},
		{"and pairs spansets", smallTrace(), `({ } | by(kind)) && { status = error }`, [][]model.SpanID{{s1, s3}, {s1, s2}}},
		{"by on missing groups nil", smallTrace(), `{ } | by(span.http.url)`, [][]model.SpanID{{s1}, {s2, s3}}},
		{"sibling needs a distinct span", smallTrace(), `{ name = "query" } ~ { name = "query" }`, [][]model.SpanID{{s2, s3}}},
		{"no resource or scope", bare, `{ resource.service.name = nil && instrumentation:name = nil && trace:rootService = nil && trace:rootName = "bare" }`, [][]model.SpanID{{s1}}},
		{"parent cycle descendants terminate", cycle, `{ } >> { }`, [][]model.SpanID{{s1, s2}}},
		{"parent cycle ancestors terminate", cycle, `{ } << { }`, [][]model.SpanID{{s1, s2}}},
		{"self parent is not a child", cycle, `{ span:id = "03" } > { }`, nil},
		{"duplicate span id counts first", cycle, `{ span:childCount > 0 }`, [][]model.SpanID{{s1, s2}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := mustParse(t, c.query).Eval(c.trace)
			if err != nil {
				t.Fatal(err)
			}
			if got := spanNames(res); !slices.EqualFunc(got, c.want, slices.Equal[[]model.SpanID]) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestEvalResultAttributes(t *testing.T) {
	tr := smallTrace()
	cases := []struct {
		name  string
		query string
		// spans lists, per matched span, its attributes as name=value.
		spans [][]string
		// set lists the spanset's attributes as name=value.
		set []string
	}{
		{"conditions and select", `{ resource.service.name = "api" && span.http.status_code >= 500 } | select(span.http.url, span:status, span:name)`,
			[][]string{
				{"resource.service.name=api", "span.http.status_code=500", "span.http.url=/a", "span:status=error", "span:name=GET /"},
				{"resource.service.name=api", "span.http.status_code=503", "span:status=unset", "span:name=query"},
			}, nil},
		{"intrinsics reported by name", `{ span:kind = client && duration > 1ms && trace:rootName != nil }`,
			[][]string{{"span:kind=client"}}, nil},
		{"group and count", `{ } | by(resource.service.name) | count() > 1`,
			[][]string{nil, nil}, []string{"by(resource.service.name)=api", "count()=2"}},
		{"average", `{ status = error } | avg(duration) > 1ms`,
			[][]string{{"span:status=error"}}, []string{"avg(span:duration)=5e+06"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := mustParse(t, c.query).Eval(tr)
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != 1 {
				t.Fatalf("%d spansets, want 1", len(res))
			}
			if got := attrStrings(res[0].Attributes); !slices.Equal(got, c.set) {
				t.Errorf("spanset attributes %q, want %q", got, c.set)
			}
			if len(res[0].Spans) != len(c.spans) {
				t.Fatalf("%d spans, want %d", len(res[0].Spans), len(c.spans))
			}
			for i, m := range res[0].Spans {
				if got := attrStrings(m.Attributes); !slices.Equal(got, c.spans[i]) {
					t.Errorf("span %d attributes %q, want %q", i, got, c.spans[i])
				}
			}
		})
	}
}

func attrStrings(attrs []Attribute) []string {
	var out []string
	for _, a := range attrs {
		out = append(out, a.Name+"="+a.Value.AsString())
	}
	return out
}

func TestEvalInput(t *testing.T) {
	q := mustParse(t, `{}`)
	if res, err := q.Eval(nil); err != nil || res != nil {
		t.Fatalf("empty trace: %v, %v", res, err)
	}
	mixed := []model.Span{{TraceID: model.TraceID{1}, SpanID: model.SpanID{1}}, {TraceID: model.TraceID{2}, SpanID: model.SpanID{2}}}
	if _, err := q.Eval(mixed); err == nil || !strings.Contains(err.Error(), "span 1 is of trace") {
		t.Fatalf("spans of two traces: err = %v", err)
	}
}

func TestEvalConcurrent(t *testing.T) {
	traces := genDataset(40)
	q := mustParse(t, `{ resource.service.name = "edge" } >> { status = error } | by(resource.service.name) | count() >= 1`)
	want := make([][][]model.SpanID, len(traces))
	for i, tr := range traces {
		res, err := q.Eval(tr)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = spanNames(res)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, tr := range traces {
				res, err := q.Eval(tr)
				if err != nil || !slices.EqualFunc(spanNames(res), want[i], slices.Equal[[]model.SpanID]) {
					errs <- "concurrent Eval differs"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

func TestConditions(t *testing.T) {
	cases := []struct {
		name  string
		query string
		want  []string
	}{
		{"grafana builder", `{resource.service.name="checkout" && name="GET /cart" && status=error && duration>100ms}`,
			[]string{"resource service.name = checkout", "intrinsic name = GET /cart", "intrinsic status = error", "intrinsic duration > 100000000"}},
		{"reversed and regex", `{ 5ms <= duration && name =~ "GET.*" && kind != client && statusMessage !~ "x" }`,
			[]string{"intrinsic duration >= 5000000", "intrinsic name =~ ^(?:GET.*)$", "intrinsic kind != client", "intrinsic statusMessage !~ ^(?:x)$"}},
		{"existence only for attributes", `{ span.a != nil && resource.b != nil && .c != nil && span.d = 1 && span.e = nil }`,
			[]string{"span a exists", "resource b exists", "any c exists"}},
		{"nested and", `{ (status = error && (kind = server)) && span.x = 1 }`, []string{"intrinsic status = error", "intrinsic kind = server"}},
		{"pipeline after filter", `{ status = error } | count() > 2`, []string{"intrinsic status = error"}},
		{"metrics", `{ status = error } | rate() by (resource.service.name)`, []string{"intrinsic status = error"}},
		{"or gives nothing", `{ status = error || kind = server }`, nil},
		{"not gives nothing", `{ !(status = error) }`, nil},
		{"spanset and gives nothing", `{ status = error } && { kind = server }`, nil},
		{"structural gives nothing", `{ status = error } > { kind = server }`, nil},
		{"event and trace fields are not pushed", `{ event:name = "x" && trace:rootService = "a" && resource.service.name = 1 }`, nil},
		{"empty filter", `{}`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := mustParse(t, c.query).Conditions()
			if err := req.Compile(); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, cond := range req.Conditions {
				got = append(got, conditionString(cond))
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("got %q\nwant %q", got, c.want)
			}
		})
	}
}

func conditionString(c filter.Condition) string {
	scope := [...]string{"any", "span", "resource", "intrinsic"}[c.Scope]
	op := [...]string{"=", "!=", "=~", "!~", ">", ">=", "<", "<=", "exists"}[c.Op]
	if c.Op == filter.OpExists {
		return scope + " " + c.Key + " " + op
	}
	return scope + " " + c.Key + " " + op + " " + c.Value.AsString()
}

func TestEvalTooManySpansets(t *testing.T) {
	var trace []model.Span
	for i := 1; i <= 30; i++ {
		trace = append(trace, model.Span{TraceID: model.TraceID{1}, SpanID: model.SpanID{byte(i)}, ParentSpanID: model.SpanID{byte(i - 1)}})
	}
	perSpan := `({} | by(span:id))`
	cases := []struct {
		name    string
		query   string
		wantErr bool
		sets    int
	}{
		{"pairs within the limit", perSpan + " && " + perSpan, false, 900},
		{"structural pairs within the limit", perSpan + " > " + perSpan, false, 29},
		{"pairs of pairs", perSpan + " && " + perSpan + " && " + perSpan, true, 0},
		{"structural pairs of pairs", perSpan + " >> " + perSpan + " >> " + perSpan, true, 0},
		{"pairs inside a pipeline", `{} | ` + perSpan + " && " + perSpan + " && " + perSpan + ` | count() > 0`, true, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := mustParse(t, c.query).Eval(trace)
			if c.wantErr {
				if !errors.Is(err, ErrTooManySpansets) {
					t.Fatalf("err = %v, want ErrTooManySpansets", err)
				}
				return
			}
			if err != nil || len(res) != c.sets {
				t.Fatalf("%d spansets, %v; want %d", len(res), err, c.sets)
			}
		})
	}
}
