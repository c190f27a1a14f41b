package traceql

import (
	"errors"
	"testing"
)

// FuzzParse checks that Parse never panics, that every error is a
// *ParseError inside the query, and that a parsed query prints to a
// canonical form that parses back to the same form. It also evaluates
// each query on a small trace with parent cycles and duplicate IDs, and
// extracts its pushdown conditions, which must not panic either.
func FuzzParse(f *testing.F) {
	seeds := []string{
		`{}`, `{ true }`, `{resource.service.name="checkout" && name="GET /cart" && status=error && duration>100ms}`,
		`{resource.service.name=~"cart|checkout" && span.http.status_code>=500}`, `{traceDuration>2s}`,
		`{name=~"api/v2/variants/by-upc/(?P<upc>[\\s\\S]*)/$"}`, `{span:kind=server && span:status=error}`,
		`{ span."a b" = 1 && span.attribute."x y" != nil && ."5xx" = true }`, `{ duration > 1h30m && trace:duration < -5s }`,
		`{ span.a + span.b * 2 > 10 * 1024 * 1024 - 1 }`, `{ -2 ^ 2 = -4 && (-2) ^ 2 = 4 && span.a = -9223372036854775808 }`,
		`{ !(span.a = 1) || span.b - -3 > 2 }`, `{ .a = 1 } || { .b = 1 } && { .c = 1 } > { .d = 1 }`,
		`{ } !< { .a = 1 } &>> { .b = 1 } !~ { .c = 1 } &~ { .d = 1 } !>> { } &< { } !> { } &<< { } << { } ~ { }`,
		`{ status = error } | by(resource.service.name) | count() > 1 | select(span.http.url, resource.dc)`,
		`{ } | avg(duration) > 20ms | min(span.a) < 1 | max(span.b) >= 2.5 | sum(span.c) != 3 | 3 < count()`,
		`({ .a = 1 } | count() > 1) && { .b = 1 } | coalesce()`, `{ } | quantile_over_time(duration, .5, .99) by (resource.service.name) | topk(5)`,
		`{} | rate() by (span.x) > 10 | bottomk(3)`, `{ } | compare({ status = error }, 20, 1, 2)`, `{ } with (most_recent=true, x=1.5)`,
		`{ trace:id = "ABC" && span:id = "00ff" && span:parentID != nil && link:spanID != "1" && link:traceID = "2" }`,
		`{ event:name = "exception" && event.exception.message =~ ".*" && event:timeSinceStart > 1ms }`,
		`{ span.arr = 1 || span.arr != "a" || span.arr !~ "b" || .x = "res" }`, "{ name = `raw\\` }", `{ name = "\u00e9\t" }`,
		"{\n  name = \n}", `{ .a = }`, `{ name = "x" `, `{ span. = 1 }`, `{ 1 }`, `{ status = "error" }`, `((({`,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	trace := smallTrace()
	trace = append(trace, trace[0])
	trace[len(trace)-1].ParentSpanID = trace[2].SpanID
	f.Fuzz(func(t *testing.T, src string) {
		q, err := Parse(src)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ParseError", err)
			}
			if pe.Pos < 0 || pe.Pos > len(src) || pe.Line < 1 || pe.Column < 1 || pe.Msg == "" {
				t.Fatalf("bad error position %+v for %q", *pe, src)
			}
			return
		}
		canon := q.String()
		again, err := Parse(canon)
		if err != nil {
			t.Fatalf("%q prints as %q, which does not parse: %v", src, canon, err)
		}
		if got := again.String(); got != canon {
			t.Fatalf("%q prints as %q, which prints as %q", src, canon, got)
		}
		if _, err := q.Eval(trace); err != nil {
			t.Fatalf("Eval: %v", err)
		}
		req := q.Conditions()
		if err := req.Compile(); err != nil {
			t.Fatalf("pushdown conditions do not compile: %v", err)
		}
	})
}
