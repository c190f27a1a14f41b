package traceql

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"waymark/internal/model"
)

// expectation says how many traces of the dataset a query must match, so
// that every case exercises the dataset: some but not all, all, or none.
type expectation int

const (
	someTraces expectation = iota
	allTraces
	noTraces
)

type evalCase struct {
	name   string
	query  string
	want   oracle
	expect expectation
}

func evalCases(traces [][]model.Span) []evalCase {
	// IDs of particular spans, to query by ID.
	tr0 := traces[3]
	gwIdx := slices.IndexFunc(tr0, func(s model.Span) bool { return s.Name == "route" })
	someSpan := tr0[gwIdx].SpanID
	someTrace := tr0[0].TraceID
	shortTraceID := strings.ToUpper(strings.TrimLeft(someTrace.String(), "0"))
	var someLink model.SpanID
	for _, tr := range traces {
		for i := range tr {
			if len(tr[i].Links) > 0 && someLink.IsZero() {
				someLink = tr[i].Links[0].SpanID
			}
		}
	}

	isErr := func(s *model.Span) bool { return s.StatusCode == model.StatusError }
	kindIs := func(k model.SpanKind) func(s *model.Span) bool {
		return func(s *model.Span) bool { return s.Kind == k }
	}
	svcIs := func(name string) func(s *model.Span) bool {
		return func(s *model.Span) bool { return service(s) == name }
	}
	dbIs := func(system string) func(s *model.Span) bool {
		return func(s *model.Span) bool { v, ok := spanStr(s, "db.system"); return ok && v == system }
	}
	all := func(*model.Span) bool { return true }

	return []evalCase{
		// Intrinsics.
		{"empty filter", `{}`, where(all), allTraces},
		{"true", `{ true }`, where(all), allTraces},
		{"false", `{ false }`, where(func(*model.Span) bool { return false }), noTraces},
		{"name equals", `{ name = "ingress" }`, where(func(s *model.Span) bool { return s.Name == "ingress" }), someTraces},
		{"scoped name regex", `{ span:name =~ "GET.*" }`, where(func(s *model.Span) bool { return strings.HasPrefix(s.Name, "GET") }), someTraces},
		{"name not regex", `{ name !~ "(GET|POST|PUT) .*" }`, where(func(s *model.Span) bool {
			return !strings.HasPrefix(s.Name, "GET ") && !strings.HasPrefix(s.Name, "POST ") && !strings.HasPrefix(s.Name, "PUT ")
		}), allTraces},
		{"status error", `{ status = error }`, where(isErr), someTraces},
		{"status not ok", `{ span:status != ok }`, where(func(s *model.Span) bool { return s.StatusCode != model.StatusOK }), allTraces},
		{"kind client", `{ kind = client && resource.service.name = "checkout" }`, where(func(s *model.Span) bool { return s.Kind == model.KindClient && service(s) == "checkout" }), someTraces},
		{"kind producer", `{ kind = producer }`, where(kindIs(model.KindProducer)), someTraces},
		{"duration greater", `{ duration > 100ms }`, where(func(s *model.Span) bool { return dur(s) > 100e6 }), someTraces},
		{"duration at most", `{ span:duration <= 5ms }`, where(func(s *model.Span) bool { return dur(s) <= 5e6 }), someTraces},
		{"duration range", `{ duration >= 1s && duration < 1500ms }`, where(func(s *model.Span) bool { return dur(s) >= 1e9 && dur(s) < 1500e6 }), someTraces},
		{"status message", `{ statusMessage = "timeout" }`, where(func(s *model.Span) bool { return s.StatusMessage == "timeout" }), someTraces},
		{"status message set", `{ statusMessage != "" }`, where(func(s *model.Span) bool { return s.StatusMessage != "" }), someTraces},
		{"root service", `{ trace:rootService = "edge" && kind = client }`, whereT(func(tr []model.Span, i int) bool {
			return rootOf(tr) >= 0 && tr[i].Kind == model.KindClient
		}), someTraces},
		{"root name missing", `{ rootName = nil }`, whereT(func(tr []model.Span, i int) bool { return rootOf(tr) < 0 }), someTraces},
		{"root name", `{ trace:rootName = "ingress" && name = "route" }`, whereT(func(tr []model.Span, i int) bool {
			return rootOf(tr) >= 0 && tr[i].Name == "route"
		}), someTraces},
		{"trace duration", `{ traceDuration > 1s }`, whereT(func(tr []model.Span, i int) bool { return traceDur(tr) > 1e9 }), someTraces},
		{"trace duration and name", `{ trace:duration < 100ms && name = "route" }`, whereT(func(tr []model.Span, i int) bool {
			return traceDur(tr) < 100e6 && tr[i].Name == "route"
		}), someTraces},
		{"span id", fmt.Sprintf(`{ span:id = "%s" }`, someSpan), where(func(s *model.Span) bool { return s.SpanID == someSpan }), someTraces},
		{"span id not", fmt.Sprintf(`{ span:id != "%s" && name = "route" }`, someSpan), where(func(s *model.Span) bool { return s.SpanID != someSpan && s.Name == "route" }), someTraces},
		{"trace id stripped and upper case", fmt.Sprintf(`{ trace:id = "%s" }`, shortTraceID), where(func(s *model.Span) bool { return s.TraceID == someTrace }), someTraces},
		{"parent id nil", `{ span:parentID = nil }`, where(func(s *model.Span) bool { return s.ParentSpanID.IsZero() }), someTraces},
		{"parent id", fmt.Sprintf(`{ span:parentID = "%s" }`, someSpan), where(func(s *model.Span) bool { return s.ParentSpanID == someSpan }), someTraces},
		{"child count", `{ span:childCount > 2 }`, whereT(func(tr []model.Span, i int) bool { return childCount(tr, i) > 2 }), someTraces},
		{"leaf servers", `{ childCount = 0 && kind = server }`, whereT(func(tr []model.Span, i int) bool {
			return childCount(tr, i) == 0 && tr[i].Kind == model.KindServer
		}), someTraces},
		{"event name", `{ event:name = "exception" }`, where(func(s *model.Span) bool {
			return hasEvent(s, func(e *model.Event) bool { return e.Name == "exception" })
		}), someTraces},
		{"event attribute regex", `{ event.exception.message =~ ".*refused" }`, where(func(s *model.Span) bool {
			return hasEvent(s, func(e *model.Event) bool {
				v, ok := e.Attributes.Get("exception.message")
				return ok && strings.HasSuffix(v.Str, "refused")
			})
		}), someTraces},
		{"event time since start", `{ event:timeSinceStart >= 2ms }`, where(func(s *model.Span) bool {
			return hasEvent(s, func(e *model.Event) bool { return e.TimeUnixNano-s.StartTimeUnixNano >= 2e6 })
		}), someTraces},
		{"link present", `{ link:traceID != nil }`, where(func(s *model.Span) bool { return len(s.Links) > 0 }), someTraces},
		{"link attribute", `{ link.kind = "follows" && kind = producer }`, where(func(s *model.Span) bool {
			return s.Kind == model.KindProducer && len(s.Links) > 0 && s.Links[0].Attributes[0].Value.Str == "follows"
		}), someTraces},
		{"link span id", fmt.Sprintf(`{ link:spanID = "%s" }`, someLink), where(func(s *model.Span) bool {
			return len(s.Links) > 0 && s.Links[0].SpanID == someLink
		}), someTraces},
		{"instrumentation name", `{ instrumentation:name = "otel-java" && resource.service.name = "cart" }`, where(func(s *model.Span) bool {
			return s.Scope.Name == "otel-java" && service(s) == "cart"
		}), someTraces},
		{"instrumentation attribute", `{ instrumentation.lang != "go" }`, where(func(s *model.Span) bool { return s.Scope.Name == "otel-java" }), someTraces},

		// Attributes and literals.
		{"service", `{ resource.service.name = "cart" }`, where(svcIs("cart")), someTraces},
		{"datacenter and status code", `{ resource.dc = "eu-central" && span.http.status_code >= 500 }`, where(func(s *model.Span) bool {
			dc, _ := resStr(s, "dc")
			code, ok := spanInt(s, "http.status_code")
			return dc == "eu-central" && ok && code >= 500
		}), someTraces},
		{"unscoped span value", `{ .dc = "override" }`, where(func(s *model.Span) bool { v, ok := spanStr(s, "dc"); return ok && v == "override" }), someTraces},
		{"unscoped span or resource", `{ .dc = "us-west" && name = "route" }`, where(func(s *model.Span) bool {
			dc, _ := resStr(s, "dc")
			return dc == "us-west" && s.Name == "route"
		}), someTraces},
		{"int equals", `{ span.http.status_code = 404 }`, where(func(s *model.Span) bool { v, ok := spanInt(s, "http.status_code"); return ok && v == 404 }), someTraces},
		{"int range", `{ span.http.status_code > 399 && span.http.status_code < 500 }`, where(func(s *model.Span) bool {
			v, ok := spanInt(s, "http.status_code")
			return ok && v > 399 && v < 500
		}), someTraces},
		{"float greater", `{ span.ratio > 1.5 }`, where(func(s *model.Span) bool { v, ok := spanFloat(s, "ratio"); return ok && v > 1.5 }), someTraces},
		{"float against int", `{ span.ratio >= 1 }`, where(func(s *model.Span) bool { v, ok := spanFloat(s, "ratio"); return ok && v >= 1 }), someTraces},
		{"int against float", `{ span.bytes < 100.5 }`, where(func(s *model.Span) bool { v, ok := spanInt(s, "bytes"); return ok && float64(v) < 100.5 }), someTraces},
		{"bool", `{ span.cache_hit = true }`, where(func(s *model.Span) bool { v, ok := spanBool(s, "cache_hit"); return ok && v }), someTraces},
		{"bool not equal", `{ span.cache_hit != true }`, where(func(s *model.Span) bool { v, ok := spanBool(s, "cache_hit"); return ok && !v }), someTraces},
		{"not equal skips missing", `{ span.http.method != "GET" }`, where(func(s *model.Span) bool { v, ok := spanStr(s, "http.method"); return ok && v != "GET" }), someTraces},
		{"nil means missing", `{ span.cache_hit = nil && kind = server }`, where(func(s *model.Span) bool { return !has(s, "cache_hit") && s.Kind == model.KindServer }), allTraces},
		{"not nil means present", `{ span.http.method != nil }`, where(func(s *model.Span) bool { return has(s, "http.method") }), someTraces},
		{"quoted name", `{ span."retry count" >= 2 }`, where(func(s *model.Span) bool { v, ok := spanInt(s, "retry count"); return ok && v >= 2 }), someTraces},
		{"array any element", `{ span.tags = "beta" }`, where(func(s *model.Span) bool { t, _ := tags(s); return slices.Contains(t, "beta") }), someTraces},
		{"array no element", `{ span.tags != "beta" }`, where(func(s *model.Span) bool { t, ok := tags(s); return ok && !slices.Contains(t, "beta") }), someTraces},
		{"array regex", `{ span.tags =~ "al.*" }`, where(func(s *model.Span) bool { t, _ := tags(s); return slices.Contains(t, "alpha") }), someTraces},
		{"array not regex", `{ span.tags !~ "al.*" }`, where(func(s *model.Span) bool { t, ok := tags(s); return ok && !slices.Contains(t, "alpha") }), someTraces},
		{"or", `{ span.db.system = "redis" || span.db.system = "postgresql" }`, where(func(s *model.Span) bool { return has(s, "db.system") }), allTraces},
		{"not", `{ !(resource.service.name = "edge") }`, where(func(s *model.Span) bool { return service(s) != "edge" }), allTraces},
		{"not of missing", `{ !(span.http.method = "GET") }`, where(func(s *model.Span) bool { v, _ := spanStr(s, "http.method"); return v != "GET" }), allTraces},
		{"type mismatch equals", `{ span.http.status_code = "200" }`, where(func(*model.Span) bool { return false }), noTraces},
		{"type mismatch not equals", `{ span.http.status_code != "200" }`, where(func(s *model.Span) bool { return has(s, "http.status_code") }), someTraces},
		{"regex on int text", `{ span.http.status_code =~ "5.." }`, where(func(s *model.Span) bool { v, ok := spanInt(s, "http.status_code"); return ok && v >= 500 }), someTraces},
		{"regex anchored", `{ resource.service.name =~ "c.*" }`, where(func(s *model.Span) bool { return strings.HasPrefix(service(s), "c") }), someTraces},
		{"regex anchored no partial", `{ resource.service.name =~ "art" }`, where(func(*model.Span) bool { return false }), noTraces},
		{"string order", `{ resource.service.name > "c" && resource.service.name < "d" }`, where(func(s *model.Span) bool { return strings.HasPrefix(service(s), "c") }), someTraces},
		{"resource int", `{ resource.replicas = 2 }`, where(func(s *model.Span) bool {
			v, ok := s.Resource.Attributes.Get("replicas")
			return ok && v.Int == 2
		}), someTraces},

		// Arithmetic.
		{"multiply", `{ span.bytes * 2 > 8000 }`, where(func(s *model.Span) bool { v, ok := spanInt(s, "bytes"); return ok && v*2 > 8000 }), someTraces},
		{"duration divided", `{ duration / 1000000 > 500 }`, where(func(s *model.Span) bool { return float64(dur(s))/1e6 > 500 }), someTraces},
		{"subtract", `{ span.http.status_code - 400 >= 100 }`, where(func(s *model.Span) bool { v, ok := spanInt(s, "http.status_code"); return ok && v >= 500 }), someTraces},
		{"modulo", `{ span.bytes % 2 = 0 }`, where(func(s *model.Span) bool { v, ok := spanInt(s, "bytes"); return ok && v%2 == 0 }), someTraces},
		{"constant product", `{ span.bytes > 4 * 1024 }`, where(func(s *model.Span) bool { v, ok := spanInt(s, "bytes"); return ok && v > 4096 }), someTraces},
		{"power", `{ 2 ^ 10 = 1024 && kind = internal }`, where(kindIs(model.KindInternal)), someTraces},
		{"negation", `{ -span.bytes < -8000 }`, where(func(s *model.Span) bool { v, ok := spanInt(s, "bytes"); return ok && v > 8000 }), someTraces},
		{"and binds tighter than or", `{ status = error || kind = client && duration > 50ms }`, where(func(s *model.Span) bool {
			return isErr(s) || (s.Kind == model.KindClient && dur(s) > 50e6)
		}), someTraces},
		{"duration sum", `{ duration + 10ms > 200ms }`, where(func(s *model.Span) bool { return dur(s)+10e6 > 200e6 }), someTraces},

		// Spanset operators.
		{"spanset and", `{ resource.service.name = "cart" } && { status = error }`, both(where(svcIs("cart")), where(isErr)), someTraces},
		{"spanset or", `{ resource.service.name = "auth" } || { kind = producer }`, either(where(svcIs("auth")), where(kindIs(model.KindProducer))), someTraces},
		{"trace across datacenters", `{ resource.dc = "us-east" } && { resource.dc = "eu-central" }`, both(
			where(func(s *model.Span) bool { v, _ := resStr(s, "dc"); return v == "us-east" }),
			where(func(s *model.Span) bool { v, _ := resStr(s, "dc"); return v == "eu-central" })), someTraces},
		{"one span cannot be in two datacenters", `{ resource.dc = "us-east" && resource.dc = "eu-central" }`, where(func(*model.Span) bool { return false }), noTraces},

		// Structural operators.
		{"child", `{ resource.service.name = "gateway" } > { kind = server }`, structural(where(svcIs("gateway")), where(kindIs(model.KindServer)), isChild, plain), allTraces},
		{"descendant", `{ resource.service.name = "edge" } >> { span.db.system = "redis" }`, structural(where(svcIs("edge")), where(dbIs("redis")), isDescendant, plain), someTraces},
		{"parent", `{ span.db.system != nil } < { kind = server }`, structural(where(func(s *model.Span) bool { return has(s, "db.system") }), where(kindIs(model.KindServer)), isParent, plain), allTraces},
		{"ancestor", `{ status = error } << { resource.service.name = "edge" }`, structural(where(isErr), where(svcIs("edge")), isAncestor, plain), someTraces},
		{"sibling", `{ span.db.system = "redis" } ~ { span.db.system = "postgresql" }`, structural(where(dbIs("redis")), where(dbIs("postgresql")), isSibling, plain), someTraces},
		{"leaf clients", `{ } !< { kind = client }`, structural(where(all), where(kindIs(model.KindClient)), isParent, negated), someTraces},
		{"error origins", `{ status = error } !> { status = error }`, structural(where(isErr), where(isErr), isChild, negated), someTraces},
		{"not descendant", `{ resource.service.name = "edge" } !>> { kind = server }`, structural(where(svcIs("edge")), where(kindIs(model.KindServer)), isDescendant, negated), allTraces},
		{"not ancestor", `{ status = error } !<< { kind = server }`, structural(where(isErr), where(kindIs(model.KindServer)), isAncestor, negated), someTraces},
		{"not sibling", `{ kind = client } !~ { kind = client }`, structural(where(kindIs(model.KindClient)), where(kindIs(model.KindClient)), isSibling, negated), someTraces},
		{"union child", `{ resource.service.name = "gateway" } &> { kind = server }`, structural(where(svcIs("gateway")), where(kindIs(model.KindServer)), isChild, unioned), allTraces},
		{"union descendant", `{ name = "ingress" } &>> { status = error }`, structural(where(func(s *model.Span) bool { return s.Name == "ingress" }), where(isErr), isDescendant, unioned), someTraces},
		{"union parent", `{ kind = internal } &< { kind = server }`, structural(where(kindIs(model.KindInternal)), where(kindIs(model.KindServer)), isParent, unioned), someTraces},
		{"union ancestor", `{ span.db.system = "redis" } &<< { resource.service.name = "gateway" }`, structural(where(dbIs("redis")), where(svcIs("gateway")), isAncestor, unioned), someTraces},
		{"union sibling", `{ span.db.system = "redis" } &~ { span.db.system = "postgresql" }`, structural(where(dbIs("redis")), where(dbIs("postgresql")), isSibling, unioned), someTraces},
		{"chained children", `{ name = "ingress" } > { name = "route" } > { kind = client }`, structural(
			structural(where(func(s *model.Span) bool { return s.Name == "ingress" }), where(func(s *model.Span) bool { return s.Name == "route" }), isChild, plain),
			where(kindIs(model.KindClient)), isChild, plain), someTraces},
		{"structural inside and", `({ status = error } > { kind = client }) && { resource.service.name = "auth" }`, both(
			structural(where(isErr), where(kindIs(model.KindClient)), isChild, plain), where(svcIs("auth"))), someTraces},
		{"negated with empty left side", `{ kind = consumer } !> { kind = producer }`, where(kindIs(model.KindProducer)), someTraces},

		// Pipelines.
		{"count", `{ kind = client } | count() > 3`, filterSets(where(kindIs(model.KindClient)), func(_ []model.Span, set []int) bool { return len(set) > 3 }), someTraces},
		{"average duration", `{ } | avg(duration) > 100ms`, filterSets(where(all), func(tr []model.Span, set []int) bool {
			var sum float64
			for _, d := range durs(tr, set) {
				sum += float64(d)
			}
			return sum/float64(len(set)) > 100e6
		}), someTraces},
		{"max duration", `{ span.db.system != nil } | max(duration) >= 80ms`, filterSets(where(func(s *model.Span) bool { return has(s, "db.system") }), func(tr []model.Span, set []int) bool {
			return slices.Max(durs(tr, set)) >= 80e6
		}), someTraces},
		{"min duration", `{ kind = client } | min(duration) < 2ms`, filterSets(where(kindIs(model.KindClient)), func(tr []model.Span, set []int) bool {
			return slices.Min(durs(tr, set)) < 2e6
		}), someTraces},
		{"sum of attribute", `{ } | sum(span.bytes) > 6000`, filterSets(where(all), func(tr []model.Span, set []int) bool {
			var sum int64
			for _, i := range set {
				v, _ := spanInt(&tr[i], "bytes")
				sum += v
			}
			return sum > 6000
		}), someTraces},
		{"group then count", `{ status = error } | by(resource.service.name) | count() > 1`, filterSets(groupBy(where(isErr), service),
			func(_ []model.Span, set []int) bool { return len(set) > 1 }), someTraces},
		{"group by datacenter", `{ } | by(resource.dc) | count() >= 5`, filterSets(groupBy(where(all), func(s *model.Span) string { v, _ := resStr(s, "dc"); return v }),
			func(_ []model.Span, set []int) bool { return len(set) >= 5 }), someTraces},
		{"select", `{ span.db.system = "redis" } | select(span.db.statement)`, where(dbIs("redis")), someTraces},
		{"filter stage", `{ kind = server } | { status = error }`, where(func(s *model.Span) bool { return s.Kind == model.KindServer && isErr(s) }), someTraces},
		{"coalesce", `{ kind = producer } || { kind = internal } | coalesce()`, where(func(s *model.Span) bool {
			return s.Kind == model.KindProducer || s.Kind == model.KindInternal
		}), someTraces},
		{"wrapped pipeline", `({ kind = client } | count() > 2) && { kind = producer }`, both(
			filterSets(where(kindIs(model.KindClient)), func(_ []model.Span, set []int) bool { return len(set) > 2 }),
			where(kindIs(model.KindProducer))), someTraces},
		{"scalar arithmetic", `{ } | count() * 2 > 20`, filterSets(where(all), func(_ []model.Span, set []int) bool { return len(set)*2 > 20 }), someTraces},
		{"average of attribute", `{ span.bytes != nil } | avg(span.bytes) > 4000`, filterSets(where(func(s *model.Span) bool { return has(s, "bytes") }),
			func(tr []model.Span, set []int) bool {
				var sum float64
				for _, i := range set {
					v, _ := spanInt(&tr[i], "bytes")
					sum += float64(v)
				}
				return sum/float64(len(set)) > 4000
			}), someTraces},
		{"count on the right", `{ kind = client } | 3 < count()`, filterSets(where(kindIs(model.KindClient)), func(_ []model.Span, set []int) bool { return len(set) > 3 }), someTraces},
		{"group by condition", `{ kind = client } | by(duration > 20ms) | count() > 2`, filterSets(groupBy(where(kindIs(model.KindClient)), func(s *model.Span) string {
			return fmt.Sprint(dur(s) > 20e6)
		}), func(_ []model.Span, set []int) bool { return len(set) > 2 }), someTraces},

		// Metrics and hints: Eval returns the search part.
		{"metrics search part", `{ status = error } | rate() by (resource.service.name)`, where(isErr), someTraces},
		{"hint", `{ kind = producer } with (most_recent=true)`, where(kindIs(model.KindProducer)), someTraces},
	}
}

// engineSets runs q on tr and returns its spansets as span indices.
func engineSets(t *testing.T, q *Query, tr []model.Span) [][]int {
	t.Helper()
	res, err := q.Eval(tr)
	if err != nil {
		t.Fatalf("Eval: %v", err)
	}
	index := make(map[*model.Span]int, len(tr))
	for i := range tr {
		index[&tr[i]] = i
	}
	var out [][]int
	for _, ss := range res {
		var set []int
		for _, m := range ss.Spans {
			i, ok := index[m.Span]
			if !ok {
				t.Fatalf("Eval returned a span that is not in the trace")
			}
			set = append(set, i)
		}
		out = append(out, set)
	}
	return out
}

func TestEvalAgainstOracle(t *testing.T) {
	traces := genDataset(300)
	cases := evalCases(traces)
	if len(cases) < 60 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q, err := Parse(c.query)
			if err != nil {
				t.Fatalf("Parse(%q): %v", c.query, err)
			}
			req := q.Conditions()
			if err := req.Compile(); err != nil {
				t.Fatalf("Compile pushdown: %v", err)
			}
			matched := 0
			for ti, tr := range traces {
				got, want := engineSets(t, q, tr), c.want(tr)
				if !slices.EqualFunc(got, want, slices.Equal[[]int]) {
					t.Fatalf("trace %d: %s\n got %v\nwant %v", ti, c.query, got, want)
				}
				if len(want) > 0 {
					matched++
				}
				for _, set := range got {
					for _, i := range set {
						if !req.MatchSpan(&tr[i]) {
							t.Fatalf("trace %d span %d: pushed-down conditions %+v reject a matched span", ti, i, req.Conditions)
						}
					}
				}
			}
			switch {
			case c.expect == allTraces && matched != len(traces):
				t.Errorf("matched %d of %d traces, want all", matched, len(traces))
			case c.expect == noTraces && matched != 0:
				t.Errorf("matched %d traces, want none", matched)
			case c.expect == someTraces && (matched == 0 || matched == len(traces)):
				t.Errorf("matched %d of %d traces, want some but not all", matched, len(traces))
			}
		})
	}
}
