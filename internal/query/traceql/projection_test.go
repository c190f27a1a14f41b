package traceql

import (
	"reflect"
	"testing"

	"waymark/internal/model"
	"waymark/internal/store/filter"
)

func TestProjection(t *testing.T) {
	svc := []string{"service.name"}
	for _, tc := range []struct {
		name, query string
		want        *filter.Projection // nil: whole spans
	}{
		{"empty", `{ }`, &filter.Projection{}},
		{"rate_by_service", `{ } | rate() by (resource.service.name)`,
			&filter.Projection{Fields: filter.FieldServiceName, ResourceAttributes: svc}},
		{"intrinsics", `{ name = "a" && status = error && kind = server && span:statusMessage != "" } | count_over_time()`,
			&filter.Projection{Fields: filter.FieldName | filter.FieldStatus | filter.FieldKind}},
		{"duration_argument", `{ } | quantile_over_time(duration, .5)`, &filter.Projection{Fields: filter.FieldDuration}},
		{"ids", `{ span:id != "00" && span:parentID != nil && trace:id != "00" }`,
			&filter.Projection{Fields: filter.FieldSpanID | filter.FieldParentSpanID}},
		{"attributes", `{ span.http.route = "/" && resource.k8s.pod = "p" } | avg_over_time(span.size) by (span.http.route)`,
			&filter.Projection{SpanAttributes: []string{"http.route", "size"}, ResourceAttributes: []string{"k8s.pod"}}},
		{"unscoped", `{ .dc = "x" } | rate() by (.service.name)`,
			&filter.Projection{Fields: filter.FieldServiceName, SpanAttributes: []string{"dc", "service.name"}, ResourceAttributes: []string{"dc", "service.name"}}},
		{"arithmetic_and_not", `{ !(span.a + span.b > 3) && -duration < 0 }`,
			&filter.Projection{Fields: filter.FieldDuration, SpanAttributes: []string{"a", "b"}}},
		{"pipeline", `{ } | by(resource.service.name) | avg(duration) > 1ms | select(span.x)`,
			&filter.Projection{Fields: filter.FieldServiceName | filter.FieldDuration, ResourceAttributes: svc, SpanAttributes: []string{"x"}}},
		{"structural", `{ } > { } | rate()`, nil},
		{"and", `{ kind = server } && { kind = client }`, nil},
		{"child_count", `{ span:childCount > 1 }`, nil},
		{"root_service", `{ } | rate() by (trace:rootService)`, nil},
		{"trace_duration", `{ traceDuration > 1s }`, nil},
		{"event", `{ event.exception.message != nil }`, nil},
		{"event_name", `{ event:name = "x" }`, nil},
		{"link", `{ link:traceID != "" }`, nil},
		{"instrumentation", `{ instrumentation.x = 1 }`, nil},
		{"instrumentation_name", `{ instrumentation:name = "x" }`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := Parse(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := q.Projection()
			if tc.want == nil {
				if ok {
					t.Fatalf("Projection() = %+v, want whole spans", got)
				}
				return
			}
			if !ok {
				t.Fatal("Projection() wants whole spans")
			}
			if !reflect.DeepEqual(got, *tc.want) {
				t.Fatalf("Projection() = %+v, want %+v", got, *tc.want)
			}
		})
	}
}

// TestProjectionObserve checks that Observe gives the same spans and
// values on spans holding only a query's projection as on whole spans.
func TestProjectionObserve(t *testing.T) {
	traces := genDataset(80)
	for _, query := range []string{
		`{ } | rate() by (resource.service.name)`,
		`{ status = error } | count_over_time() by (resource.service.name, span.http.status_code)`,
		`{ .dc = "us-west" || name =~ "GET.*" } | quantile_over_time(duration, .9) by (.dc)`,
		`{ kind = server && duration > 20ms } | avg_over_time(duration) by (span:statusMessage)`,
		`{ span:parentID = nil } | count_over_time() by (span:id)`,
		`{ resource.service.name != "gateway" } | max_over_time(resource.replicas) by (name, span.retry)`,
		`{ } | by(resource.service.name) | count() > 2`,
	} {
		t.Run(query, func(t *testing.T) {
			q, err := Parse(query)
			if err != nil {
				t.Fatal(err)
			}
			p, ok := q.Projection()
			if !ok {
				t.Fatal("Projection() wants whole spans")
			}
			var fields []*Field
			if q.Metrics != nil {
				fields = append(fields, q.Metrics.By...)
				if q.Metrics.Field != nil {
					fields = append(fields, q.Metrics.Field)
				}
			}
			observed := 0
			for _, tr := range traces {
				light := make([]model.Span, len(tr))
				for i := range tr {
					light[i] = p.Apply(&tr[i])
				}
				want := observeAll(t, q, tr, fields)
				got := observeAll(t, q, light, fields)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("trace %s: projected spans observe\n%v\nwhole spans\n%v", tr[0].TraceID, got, want)
				}
				observed += len(want)
			}
			if observed == 0 {
				t.Fatal("no span observed; the case tests nothing")
			}
		})
	}
}

// observation is one span Observe reported: its start and values.
type observation struct {
	start  uint64
	values []Static
}

func observeAll(t *testing.T, q *Query, trace []model.Span, fields []*Field) []observation {
	t.Helper()
	var out []observation
	err := q.Observe(trace, fields, func(s *model.Span, values []Static) {
		out = append(out, observation{s.StartTimeUnixNano, append([]Static(nil), values...)})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
