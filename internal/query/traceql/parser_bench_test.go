package traceql

import "testing"

var benchQueries = []struct{ name, query string }{
	{"grafana_search", `{resource.service.name="checkout" && name="GET /cart" && status=error && duration>100ms}`},
	{"regex", `{resource.service.name=~"cart|checkout" && span.http.status_code>=500}`},
	{"structural", `{ resource.service.name = "edge" } >> { span.db.system = "redis" && status = error }`},
	{"pipeline", `{ status = error } | by(resource.service.name) | count() > 1 | select(span.http.url)`},
	{"metrics", `{ kind = server } | quantile_over_time(duration, .5, .99) by (resource.service.name)`},
}

func BenchmarkParse(b *testing.B) {
	for _, bq := range benchQueries {
		b.Run(bq.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bq.query)))
			for b.Loop() {
				if _, err := Parse(bq.query); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
