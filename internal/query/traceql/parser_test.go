package traceql

import (
	"errors"
	"math"
	"testing"

	"waymark/internal/model"
)

func TestParseCanonical(t *testing.T) {
	cases := []struct {
		name, query, want string
	}{
		{"empty", `{ }`, `{}`},
		{"grafana builder", `{resource.service.name="checkout" && name="GET /cart" && status=error && duration>100ms}`, `{ resource.service.name = "checkout" && span:name = "GET /cart" && span:status = error && span:duration > 100ms }`},
		{"grafana regex", `{resource.service.name=~"cart|checkout" && span.http.status_code>=500}`, `{ resource.service.name =~ "cart|checkout" && span.http.status_code >= 500 }`},
		{"trace duration", `{traceDuration>2s}`, `{ trace:duration > 2s }`},
		{"escaped regex", `{name=~"api/v2/variants/by-upc/(?P<upc>[\\s\\S]*)/$"}`, `{ span:name =~ "api/v2/variants/by-upc/(?P<upc>[\\s\\S]*)/$" }`},
		{"kind and status scoped", `{span:kind=server && span:status=error}`, `{ span:kind = server && span:status = error }`},
		{"legacy intrinsics", `{ statusMessage = "x" && rootName = "a" && rootServiceName = "b" && childCount > 1 }`, `{ span:statusMessage = "x" && trace:rootName = "a" && trace:rootService = "b" && span:childCount > 1 }`},
		{"raw string", "{ name = `a\\b` }", `{ span:name = "a\\b" }`},
		{"quoted names", `{ span."a b" = 1 && span.attribute."x y" != nil && ."5xx" = true }`, `{ span."a b" = 1 && span."attribute.x y" != nil && ."5xx" = true }`},
		{"name with punctuation", `{ span.http/url-path:x = "a" }`, `{ span.http/url-path:x = "a" }`},
		{"unicode name", `{ resource."naïve key" = "é" }`, `{ resource."naïve key" = "é" }`},
		{"durations", `{ duration > 1.5s && duration < 1h30m && duration != 90000000ns && trace:duration >= 1d }`, `{ span:duration > 1500ms && span:duration < 90m && span:duration != 90ms && trace:duration >= 24h }`},
		{"negative duration", `{ event:timeSinceStart > -5s }`, `{ event:timeSinceStart > -5s }`},
		{"floats", `{ span.a = 1.0 && span.b = .5 && span.c = 1e3 && span.d = -2.5e-3 }`, `{ span.a = 1.0 && span.b = 0.5 && span.c = 1000.0 && span.d = -0.0025 }`},
		{"min and max int", `{ span.a > minInt && span.a < maxInt }`, `{ span.a > -9223372036854775808 && span.a < 9223372036854775807 }`},
		{"arithmetic precedence", `{ span.a + span.b * 2 > 10 * 1024 * 1024 - 1 }`, `{ span.a + span.b * 2 > 10 * 1024 * 1024 - 1 }`},
		{"arithmetic parentheses", `{ (span.a + span.b) * 2 = 4 }`, `{ (span.a + span.b) * 2 = 4 }`},
		{"power", `{ 2 ^ 3 ^ 2 = 512 && (2 ^ 3) ^ 2 = 64 && -2 ^ 2 = -4 && (-2) ^ 2 = 4 }`, `{ 2 ^ 3 ^ 2 = 512 && (2 ^ 3) ^ 2 = 64 && -(2 ^ 2) = -4 && (-2) ^ 2 = 4 }`},
		{"subtract negative", `{ span.b - -3 > 2 }`, `{ span.b - -3 > 2 }`},
		{"and binds tighter", `{ status = error || kind = client && duration > 50ms }`, `{ span:status = error || (span:kind = client && span:duration > 50ms) }`},
		{"or in parentheses", `{ (status = error || kind = client) && duration > 50ms }`, `{ (span:status = error || span:kind = client) && span:duration > 50ms }`},
		{"not", `{ !(span.a = 1) && !span.flag }`, `{ !(span.a = 1) && !span.flag }`},
		{"nil", `{ span.a = nil || span.b != nil }`, `{ span.a = nil || span.b != nil }`},
		{"spanset precedence", `{ .a = 1 } || { .b = 1 } && { .c = 1 } > { .d = 1 }`, `{ .a = 1 } || ({ .b = 1 } && { .c = 1 } > { .d = 1 })`},
		{"spanset parentheses", `({ .a = 1 } || { .b = 1 }) && { .c = 1 }`, `({ .a = 1 } || { .b = 1 }) && { .c = 1 }`},
		{"structural chain", `{ .a = 1 } > { .b = 1 } >> { .c = 1 }`, `{ .a = 1 } > { .b = 1 } >> { .c = 1 }`},
		{"structural right grouping", `{ .a = 1 } > ({ .b = 1 } >> { .c = 1 })`, `{ .a = 1 } > ({ .b = 1 } >> { .c = 1 })`},
		{"negated and union", `{ } !< { .a = 1 } &>> { .b = 1 } !~ { .c = 1 } &~ { .d = 1 }`, `{} !< { .a = 1 } &>> { .b = 1 } !~ { .c = 1 } &~ { .d = 1 }`},
		{"pipeline", `{ status = error } | by(resource.service.name) | count() > 1 | select(span.http.url, resource.dc)`, `{ span:status = error } | by(resource.service.name) | count() > 1 | select(span.http.url, resource.dc)`},
		{"aggregates", `{ } | avg(duration) > 20ms | min(span.a) < 1 | max(span.b) >= 2.5 | sum(span.c) != 3 | 3 < count()`, `{} | avg(span:duration) > 20ms | min(span.a) < 1 | max(span.b) >= 2.5 | sum(span.c) != 3 | 3 < count()`},
		{"scalar arithmetic", `{ } | count() * 2 > (sum(span.a) + 1) / 2`, `{} | count() * 2 > (sum(span.a) + 1) / 2`},
		{"wrapped pipeline", `({ .a = 1 } | count() > 1) && { .b = 1 }`, `({ .a = 1 } | count() > 1) && { .b = 1 }`},
		{"coalesce", `{ .a = 1 } || { .b = 1 } | coalesce()`, `{ .a = 1 } || { .b = 1 } | coalesce()`},
		{"filter stage", `{ } | { .a = 1 } > { .b = 1 }`, `{} | { .a = 1 } > { .b = 1 }`},
		{"rate", `{ status = error } | rate() by (resource.service.name)`, `{ span:status = error } | rate() by (resource.service.name)`},
		{"count over time", `{ } | count_over_time()`, `{} | count_over_time()`},
		{"over time", `{ } | avg_over_time(duration) by (resource.service.name, span.http.route)`, `{} | avg_over_time(span:duration) by (resource.service.name, span.http.route)`},
		{"quantiles", `{ } | quantile_over_time(duration, .5, .99, 1) by (resource.service.name) | topk(5)`, `{} | quantile_over_time(span:duration, 0.5, 0.99, 1) by (resource.service.name) | topk(5)`},
		{"histogram", `{ } | histogram_over_time(span:duration)`, `{} | histogram_over_time(span:duration)`},
		{"metrics filter", `{} | rate() by (span.x) > 10 | bottomk(3)`, `{} | rate() by (span.x) > 10 | bottomk(3)`},
		{"compare", `{ } | compare({status = error})`, `{} | compare({ span:status = error }, 10)`},
		{"compare full", `{ } | compare({ status = error }, 20, 1700000000000000000, 1700000600000000000)`, `{} | compare({ span:status = error }, 20, 1700000000000000000, 1700000600000000000)`},
		{"hints", `{ } with (most_recent=true, span_sample=0.1, note="x")`, `{} with (most_recent=true, span_sample=0.1, note="x")`},
		{"ids", `{ trace:id = "ABC" && span:id = "00ff" && span:parentID != nil }`, `{ trace:id = "ABC" && span:id = "00ff" && span:parentID != nil }`},
		{"events and links", `{ event:name = "exception" && event.exception.message =~ ".*" && link:traceID != nil && link.kind = "f" }`, `{ event:name = "exception" && event.exception.message =~ ".*" && link:traceID != nil && link.kind = "f" }`},
		{"instrumentation", `{ instrumentation:name = "x" && instrumentation:version = "1" && instrumentation.lang = "go" }`, `{ instrumentation:name = "x" && instrumentation:version = "1" && instrumentation.lang = "go" }`},
		{"multi line", "{\n  resource.service.name = \"a\"\n  && duration > 1s\n}", `{ resource.service.name = "a" && span:duration > 1s }`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q, err := Parse(c.query)
			if err != nil {
				t.Fatalf("Parse(%q): %v", c.query, err)
			}
			got := q.String()
			if got != c.want {
				t.Fatalf("String()\n got %s\nwant %s", got, c.want)
			}
			again, err := Parse(got)
			if err != nil {
				t.Fatalf("Parse(String()) = %v", err)
			}
			if again.String() != got {
				t.Fatalf("canonical form is not stable: %s -> %s", got, again.String())
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, query       string
		pos, line, column int
		msg               string
	}{
		{"empty query", ``, 0, 1, 1, `unexpected end of query at 1:1, expected a spanset filter such as { resource.service.name = "api" }`},
		{"only an open brace", `{`, 1, 1, 2, `unexpected end of query at 1:2, expected a condition or '}' to close '{' at 1:1`},
		{"stray close brace", `}`, 0, 1, 1, `unexpected '}' at 1:1, expected a spanset filter such as { resource.service.name = "api" }`},
		{"missing value", `{ .a = }`, 7, 1, 8, `unexpected '}' at 1:8, expected a value`},
		{"unclosed filter", `{ name = "x" `, 13, 1, 14, `unexpected end of query at 1:14, expected an operator or '}' to close '{' at 1:1`},
		{"scope without name", `{ span. = 1 }`, 7, 1, 8, `expected an attribute name after 'span.' at 1:8`},
		{"unscoped identifier", `{ foo = 1 }`, 2, 1, 3, `unknown identifier 'foo' at 1:3, expected a value; attributes need a scope, as in span.foo or .foo`},
		{"unknown intrinsic", `{ span:nmae = "x" }`, 2, 1, 3, `unknown intrinsic span:nmae at 1:3`},
		{"unterminated string", `{ name = "x }`, 9, 1, 10, `unterminated string at 1:10`},
		{"bad regex", `{ name =~ "(" }`, 10, 1, 11, "invalid regular expression \"(\" at 1:11, error parsing regexp: missing closing ): `(`"},
		{"bad duration", `{ duration > 10xs }`, 13, 1, 14, `invalid duration "10xs" at 1:14, use a number with ns, us, ms, s, m, h, d or w, as in 150ms`},
		{"string against int", `{ name = 1 }`, 7, 1, 8, `cannot compare a string with an int at 1:8`},
		{"quoted status", `{ status = "error" }`, 9, 1, 10, `cannot compare a status with a string at 1:10, write status values without quotes: error, ok or unset`},
		{"quoted kind", `{ kind = "server" }`, 7, 1, 8, `cannot compare a kind with a string at 1:8, write kinds without quotes: unspecified, internal, server, client, producer or consumer`},
		{"filter without condition", `{ 1 }`, 2, 1, 3, `a spanset filter needs a condition, found an int value at 1:3, as in { span.http.status_code >= 500 }`},
		{"error on third line", "{\n  name = \n}", 12, 3, 1, `unexpected '}' at 3:1, expected a value`},
		{"aggregate without comparison", `{ kind = server } | count()`, 27, 1, 28, `unexpected end of query at 1:28, expected a comparison such as count() > 3`},
		{"single ampersand", `{ .a = 1 } &`, 11, 1, 12, `unexpected '&' at 1:12, did you mean &&?`},
		{"int out of range", `{ .a = 9223372036854775808 }`, 7, 1, 8, `integer 9223372036854775808 is out of range at 1:8`},
		{"column counts characters", `{ name = "é" && = }`, 17, 1, 17, `unexpected '=' at 1:17, expected a value`},
		{"unknown escape", `{ name = "\d" }`, 9, 1, 10, `invalid string "\d" at 1:10, unknown escape \d; write \\d for a literal backslash`},
		{"by with two fields", `{ } | by(span.a, span.b)`, 15, 1, 16, `by() takes one field at 1:16, chain groups as in | by(a) | by(b)`},
		{"filters without operator", `{ .a = 1 } { .b = 2 }`, 11, 1, 12, `unexpected '{' at 1:12, expected '|' or the end of the query; join spanset filters with an operator such as && or >`},
		{"structural against number", `{ .a = 1 } > 3`, 13, 1, 14, `unexpected number 3 at 1:14, expected '{' or '('`},
		{"ordering status", `{ status > ok }`, 9, 1, 10, `cannot order status values at 1:10, use = or !=`},
		{"ordering nil", `{ .a > nil }`, 5, 1, 6, `nil can only be compared with = or != at 1:6`},
		{"and with int", `{ .a = 1 && 2 }`, 9, 1, 10, `&& needs a condition on both sides, found an int value at 1:10`},
		{"arithmetic on string", `{ name + 1 > 2 }`, 7, 1, 8, `'+' needs numbers, found a string value at 1:8`},
		{"not of string", `{ !name }`, 2, 1, 3, `'!' needs a condition, found a string value at 1:3`},
		{"regex against field", `{ name =~ span.x }`, 10, 1, 11, `the right side of =~ must be a string literal at 1:11, as in name =~ "GET .*"`},
		{"regex on duration", `{ duration =~ "1" }`, 11, 1, 12, `cannot match a duration value against a regular expression at 1:12`},
		{"aggregate inside filter", `{ count() > 1 }`, 2, 1, 3, `count() is only allowed after '|' at 1:3, as in { } | count() > 3`},
		{"stage after metrics", `{ } | rate() | count() > 1`, 13, 1, 14, `unexpected '|' at 1:14, expected the end of the query; only by(), a comparison, topk() or bottomk() may follow a metrics function`},
		{"topk without metrics", `{ } | topk(5)`, 6, 1, 7, `topk() must follow a metrics function at 1:7, as in { } | rate() by (resource.service.name) | topk(5)`},
		{"metrics first", `rate()`, 0, 1, 1, `rate() must follow a spanset filter at 1:1, as in { } | rate()`},
		{"quantile without quantiles", `{ } | quantile_over_time(duration)`, 33, 1, 34, `unexpected ')' at 1:34, expected ',' and the quantiles, as in quantile_over_time(span:duration, 0.5, 0.99)`},
		{"quantile out of range", `{ } | quantile_over_time(duration, 2)`, 35, 1, 36, `quantile 2 is not between 0 and 1 at 1:36`},
		{"avg of string", `{ } | avg(name) > 1`, 10, 1, 11, `avg() needs a number, found a string value at 1:11`},
		{"empty select", `{ } | select()`, 13, 1, 14, `select() needs at least one field at 1:14, as in select(resource.service.name)`},
		{"select of number", `{ } | select(1)`, 13, 1, 14, `select() takes attributes or intrinsics at 1:14, as in select(span.http.url)`},
		{"hint without value", `{ } with (most_recent)`, 21, 1, 22, `unexpected ')' at 1:22, expected '='`},
		{"stage after hints", `{ } with (most_recent=true) | count() > 1`, 28, 1, 29, `unexpected '|' at 1:29, expected the end of the query; with(...) comes last`},
		{"hint with field", `{ } with (x=span.a)`, 12, 1, 13, `a hint value must be a literal at 1:13, as in with(most_recent=true)`},
		{"unknown scope", `{ parent.x = 1 }`, 2, 1, 3, `unknown attribute scope "parent" at 1:3, use span., resource., event., link., instrumentation. or a leading '.'`},
		{"bad escape in name", `{ span."a\x" = 1 }`, 9, 1, 10, `invalid escape in quoted attribute name at 1:10, only \" and \\ are allowed`},
		{"unterminated name", `{ span."abc = 1 }`, 7, 1, 8, `unterminated quoted attribute name at 1:8`},
		{"unexpected character", `{ .a = 1 } # x`, 11, 1, 12, `unexpected character '#' at 1:12`},
		{"float out of range", `{ .a = 1e999 }`, 7, 1, 8, `number 1e999 is out of range at 1:8`},
		{"newline in string", "{ .a = \"line\nbreak\" }", 7, 1, 8, `unterminated string at 1:8`},
		{"bottomk zero", `{ } | rate() by (span.a) > 1 | bottomk(0)`, 39, 1, 40, `bottomk() needs a positive integer at 1:40`},
		{"metrics in parentheses", `({ .a = 1 } | rate())`, 14, 1, 15, `rate() is only allowed at the end of the whole query at 1:15, not inside parentheses`},
		{"dangling and", `{ name = "a" } && `, 18, 1, 19, `unexpected end of query at 1:19, expected '{' or '('`},
		{"negated string", `{ .a = -"x" }`, 7, 1, 8, `'-' needs a number, found a string value at 1:8`},
		{"sum without field", `{ } | sum() > 1`, 10, 1, 11, `sum() needs a field at 1:11, as in sum(duration)`},
		{"scalar filter without aggregate", `{ .a = 1 } | 1 > 0`, 13, 1, 14, `a scalar filter must compare an aggregate at 1:14, as in count() > 3 or avg(duration) > 20ms`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q, err := Parse(c.query)
			if err == nil {
				t.Fatalf("Parse(%q) = %s, want an error", c.query, q)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ParseError", err)
			}
			want := ParseError{Pos: c.pos, Line: c.line, Column: c.column, Msg: c.msg}
			if *pe != want {
				t.Fatalf("got  %+v\nwant %+v", *pe, want)
			}
			if pe.Error() != c.msg {
				t.Fatalf("Error() = %q", pe.Error())
			}
		})
	}
}

func mustParse(t *testing.T, q string) *Query {
	t.Helper()
	p, err := Parse(q)
	if err != nil {
		t.Fatalf("Parse(%q): %v", q, err)
	}
	return p
}

// filterExpr returns the expression of a query that is one spanset filter.
func filterExpr(t *testing.T, q string) Expr {
	t.Helper()
	f, ok := mustParse(t, q).Pipeline.Stages[0].(*SpansetFilter)
	if !ok {
		t.Fatalf("%q: first stage is not a spanset filter", q)
	}
	return f.Expr
}

func TestParseLiteralsAndFields(t *testing.T) {
	cases := []struct {
		name  string
		query string
		field Field
		value Static
	}{
		{"legacy name", `{ name = "x" }`, Field{Intrinsic: IntrinsicName}, StringStatic("x")},
		{"scoped name", `{ span:name = "x" }`, Field{Intrinsic: IntrinsicName}, StringStatic("x")},
		{"root service", `{ rootServiceName = "x" }`, Field{Intrinsic: IntrinsicTraceRootService}, StringStatic("x")},
		{"status", `{ status = error }`, Field{Intrinsic: IntrinsicStatus}, StatusStatic(model.StatusError)},
		{"kind", `{ span:kind = consumer }`, Field{Intrinsic: IntrinsicKind}, KindStatic(model.KindConsumer)},
		{"negative duration", `{ event:timeSinceStart = -5s }`, Field{Intrinsic: IntrinsicEventTimeSinceStart}, DurationStatic(-5e9)},
		{"compound duration", `{ duration = 1h30m15.5s }`, Field{Intrinsic: IntrinsicDuration}, DurationStatic(5415500e6)},
		{"microseconds", `{ duration = 3µs }`, Field{Intrinsic: IntrinsicDuration}, DurationStatic(3000)},
		{"days", `{ trace:duration = 2d }`, Field{Intrinsic: IntrinsicTraceDuration}, DurationStatic(48 * 3600e9)},
		{"max int", `{ span.a = maxInt }`, Field{Scope: ScopeSpan, Name: "a"}, IntStatic(math.MaxInt64)},
		{"min int literal", `{ span.a = -9223372036854775808 }`, Field{Scope: ScopeSpan, Name: "a"}, IntStatic(math.MinInt64)},
		{"float", `{ span.a = -2.5e-3 }`, Field{Scope: ScopeSpan, Name: "a"}, FloatStatic(-2.5e-3)},
		{"bool", `{ resource.a = false }`, Field{Scope: ScopeResource, Name: "a"}, BoolStatic(false)},
		{"string escapes", `{ .a = "tab\there \"q\" \u00e9" }`, Field{Name: "a"}, StringStatic("tab\there \"q\" é")},
		{"quoted name", `{ span."a b" = 1 }`, Field{Scope: ScopeSpan, Name: "a b"}, IntStatic(1)},
		{"mixed quoted name", `{ span.attribute."x y" = 1 }`, Field{Scope: ScopeSpan, Name: "attribute.x y"}, IntStatic(1)},
		{"quoted name escapes", `{ event."a\"b\\c" = 1 }`, Field{Scope: ScopeEvent, Name: `a"b\c`}, IntStatic(1)},
		{"unscoped digit name", `{ ."5xx" = 1 }`, Field{Name: "5xx"}, IntStatic(1)},
		{"dashes and slashes", `{ link.x-forwarded/for = 1 }`, Field{Scope: ScopeLink, Name: "x-forwarded/for"}, IntStatic(1)},
		{"instrumentation", `{ instrumentation.lang = 1 }`, Field{Scope: ScopeInstrumentation, Name: "lang"}, IntStatic(1)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, ok := filterExpr(t, c.query).(*BinaryExpr)
			if !ok || b.Op != OpEq {
				t.Fatalf("not an = comparison")
			}
			f, ok := b.LHS.(*Field)
			if !ok || *f != c.field {
				t.Errorf("field = %+v, want %+v", b.LHS, c.field)
			}
			s, ok := b.RHS.(*Static)
			if !ok {
				t.Fatalf("value %T is not a literal", b.RHS)
			}
			if eq, _ := equal(*s, c.value); !eq || s.Type != c.value.Type {
				t.Errorf("value = %+v, want %+v", *s, c.value)
			}
		})
	}
}

func TestParsePrecedence(t *testing.T) {
	// || binds loosest, then &&, then comparisons, + -, * / %, unary, ^.
	or, ok := filterExpr(t, `{ .a = 1 || .b = 2 && .c = 3 }`).(*BinaryExpr)
	if !ok || or.Op != OpOr {
		t.Fatalf("top operator is not ||")
	}
	if and, ok := or.RHS.(*BinaryExpr); !ok || and.Op != OpAnd {
		t.Fatalf("right of || is not &&")
	}
	cmp := filterExpr(t, `{ .a + 2 * 3 > 4 }`).(*BinaryExpr)
	add := cmp.LHS.(*BinaryExpr)
	if add.Op != OpAdd || add.RHS.(*BinaryExpr).Op != OpMul {
		t.Fatalf("+ and * grouped wrongly: %s", cmp)
	}
	neg := filterExpr(t, `{ -.a ^ 2 < 0 }`).(*BinaryExpr).LHS.(*UnaryExpr)
	if neg.Op != OpNeg || neg.Expr.(*BinaryExpr).Op != OpPow {
		t.Fatalf("-a ^ 2 is not -(a ^ 2)")
	}
	pow := filterExpr(t, `{ 2 ^ 3 ^ 2 = 512 }`).(*BinaryExpr).LHS.(*BinaryExpr)
	if _, ok := pow.RHS.(*BinaryExpr); !ok {
		t.Fatalf("^ is not right-associative")
	}

	// Spanset ||, then &&, then the structural operators.
	top := mustParse(t, `{ .a = 1 } && { .b = 1 } > { .c = 1 } >> { .d = 1 }`).Pipeline.Stages[0].(*SpansetOperation)
	if top.Op != SpansetAnd {
		t.Fatalf("top spanset operator %s, want &&", top.Op)
	}
	desc := top.RHS.(*SpansetOperation)
	if desc.Op != SpansetDescendant || desc.LHS.(*SpansetOperation).Op != SpansetChild {
		t.Fatalf("structural operators are not left-associative")
	}
}

func TestParsePipelineAndMetrics(t *testing.T) {
	q := mustParse(t, `({ .a = 1 } | count() > 1) && { } | by(resource.dc) | avg(duration) > 2ms | select(span.u, span:status) | coalesce()`)
	if q.IsMetrics() {
		t.Fatalf("a search is reported as a metrics query")
	}
	stages := q.Pipeline.Stages
	if len(stages) != 5 {
		t.Fatalf("%d stages, want 5", len(stages))
	}
	op := stages[0].(*SpansetOperation)
	if inner, ok := op.LHS.(*Pipeline); !ok || len(inner.Stages) != 2 {
		t.Fatalf("wrapped pipeline lost: %T", op.LHS)
	}
	if g := stages[1].(*GroupBy); g.Expr.(*Field).Name != "dc" {
		t.Fatalf("by() field = %s", g.Expr)
	}
	sf := stages[2].(*ScalarFilter)
	if agg := sf.LHS.(*Aggregate); agg.Func != AggregateAvg || sf.Op != OpGt || sf.RHS.(*Static).Int != 2e6 {
		t.Fatalf("scalar filter = %s", sf)
	}
	if sel := stages[3].(*Select); len(sel.Fields) != 2 || sel.Fields[1].Intrinsic != IntrinsicStatus {
		t.Fatalf("select = %s", sel)
	}
	if _, ok := stages[4].(*Coalesce); !ok {
		t.Fatalf("last stage %T is not coalesce()", stages[4])
	}

	m := mustParse(t, `{ status = error } | quantile_over_time(duration, .5, 0.99) by (resource.service.name, span.route) > 0.2 | topk(3) with (most_recent=true, span_sample=0.5)`)
	if !m.IsMetrics() {
		t.Fatalf("metrics query not recognised")
	}
	ms := m.Metrics
	if ms.Func != MetricsQuantileOverTime || ms.Field.Intrinsic != IntrinsicDuration || len(ms.Quantiles) != 2 || ms.Quantiles[1] != 0.99 {
		t.Fatalf("metrics function = %s", ms)
	}
	if len(ms.By) != 2 || ms.By[1].Name != "route" || ms.Filter.Op != OpGt || ms.Filter.Value != 0.2 || ms.TopK.N != 3 || ms.TopK.Bottom {
		t.Fatalf("metrics modifiers = %s", ms)
	}
	if v, ok := m.Hint("most_recent"); !ok || !v.Bool() {
		t.Fatalf("most_recent hint = %+v, %v", v, ok)
	}
	if v, ok := m.Hint("span_sample"); !ok || v.Float != 0.5 {
		t.Fatalf("span_sample hint = %+v, %v", v, ok)
	}
	if _, ok := m.Hint("absent"); ok {
		t.Fatalf("absent hint found")
	}
	c := mustParse(t, `{ } | compare({ status = error }, 5, 10, 20)`).Metrics.Compare
	if c.TopN != 5 || c.StartUnixNano != 10 || c.EndUnixNano != 20 || c.Selection.Expr == nil {
		t.Fatalf("compare args = %+v", c)
	}
}
