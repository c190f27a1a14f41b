package main

import (
	"fmt"

	"waymark/internal/loadgen"
)

// namedQuery is one TraceQL query bench times, with a short name for the table.
type namedQuery struct {
	name, q string
	// wantMatches: a run fails if the query finds nothing, since its
	// latency would then not measure a real answer.
	wantMatches bool
}

// workload is a load shape and the queries bench times over it.
type workload struct {
	name  string
	shape loadgen.Shape
	// service and tagKey/tagValue: the search by service + attribute
	// (limit 20), which has many matches in the range.
	service, tagKey, tagValue string
	// rareKey/rareValue: an attribute value no span has, of a key with few
	// values, which block summaries rule out without reading blocks.
	rareKey, rareValue string
	// scanKey/scanValue (optional): a value no span has of a key with too
	// many values for block summaries (a request ID), which only the
	// blocks' value filters rule out.
	scanKey, scanValue string
	// traceql are searches (limit 20) through the Tempo API.
	traceql []namedQuery
	// metrics is a TraceQL metrics query over the whole range (query_range).
	metrics string
}

// rateByService counts spans per second per service over the range.
const rateByService = `{ } | rate() by (resource.service.name)`

// workloadFor returns the workload named shape ("reference" or "platform").
func workloadFor(shape string, varied bool) (workload, error) {
	switch shape {
	case "reference":
		w := workload{name: "reference", shape: loadgen.ReferenceShape(),
			service: "bench-service", tagKey: "http.route", tagValue: "/api/v1/orders/{id}",
			rareKey: "user.tier", rareValue: "platinum",
			traceql: []namedQuery{
				{"service + status code", `{ resource.service.name = "bench-service" && span.http.response.status_code = 200 }`, true},
				{"attribute regex", `{ span.http.route =~ "/api/v1/orders/.*" }`, true},
				{"structural", `{ kind = server } >> { span.db.system.name = "postgresql" }`, true},
			},
			metrics: rateByService}
		if varied {
			w.name = "reference, varied values"
			w.shape.Varied = true
			// Varied routes include /api/v1/cart (1 in 6 spans).
			w.tagValue = "/api/v1/cart"
			w.traceql[0].q = `{ resource.service.name = "bench-service" && span.http.response.status_code = 503 }`
		}
		return w, nil
	case "platform":
		return workload{name: "platform (edge → gateway → sidecar → checkout → payments → db; varied Envoy-like values, 1% errors)",
			shape:   loadgen.PlatformShape(),
			service: "checkout", tagKey: "http.route", tagValue: "/api/v1/cart",
			rareKey: "user.tier", rareValue: "platinum",
			scanKey: loadgen.RequestIDKey, scanValue: "00000000-0000-4000-8000-000000000000",
			traceql: []namedQuery{
				{"service + status", `{ resource.service.name = "checkout" && status = error }`, true},
				{"attribute regex", `{ span.http.route =~ "/api/v1/(cart|payments)" }`, true},
				{"structural", `{ resource.service.name = "edge" } >> { status = error }`, true},
			},
			metrics: rateByService}, nil
	}
	return workload{}, fmt.Errorf("unknown shape %q (want reference or platform)", shape)
}
