package block

import (
	"fmt"
	"math/rand/v2"

	"waymark/internal/model"
)

// workload generates spans of the reference benchmark shape: traces of a
// root and 4 children, 4 resource attributes and 6 span attributes. With
// varied set, routes, status codes, durations and a per-span request ID vary.
type workload struct {
	rng    *rand.Rand
	varied bool
	now    uint64
	res    []*model.Resource
	scope  *model.Scope
}

func newWorkload(seed uint64, varied bool) *workload {
	w := &workload{rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), varied: varied, now: 1_760_000_000_000_000_000}
	for i := range 5 {
		name := fmt.Sprintf("service-%d", i)
		w.res = append(w.res, &model.Resource{ServiceName: name, Attributes: model.Attributes{
			{Key: "service.name", Value: model.StringValue(name)},
			{Key: "deployment.environment.name", Value: model.StringValue("bench")},
			{Key: "host.name", Value: model.StringValue("bench-host-1")},
			{Key: "service.version", Value: model.StringValue("1.2.3")},
		}})
	}
	w.scope = &model.Scope{Name: "telemetrygen", Version: "v0.1.0"}
	return w
}

var statusCodes = []int64{200, 200, 200, 200, 201, 204, 301, 400, 404, 500, 503}

// traces returns n traces of 5 spans.
func (w *workload) traces(n int) []model.Span {
	spans := make([]model.Span, 0, n*5)
	for range n {
		var tid model.TraceID
		for i := range tid {
			tid[i] = byte(w.rng.UintN(256))
		}
		w.now += uint64(w.rng.IntN(200_000)) // ~5k traces/s
		start := w.now
		var root model.SpanID
		for i := range 5 {
			var sid model.SpanID
			for j := range sid {
				sid[j] = byte(w.rng.UintN(256))
			}
			sid[0] |= 1
			s := model.Span{
				TraceID:           tid,
				SpanID:            sid,
				Name:              "okey-dokey-0",
				Kind:              model.KindServer,
				StartTimeUnixNano: start + uint64(i)*1000 + uint64(w.rng.IntN(1000)),
				Resource:          w.res[0],
				Scope:             w.scope,
				Flags:             1,
			}
			dur := uint64(123_000 + w.rng.IntN(1000))
			route, code := "/api/v1/orders/{id}", int64(200)
			if w.varied {
				dur = uint64(w.rng.ExpFloat64() * 2e6)
				route = fmt.Sprintf("/api/v1/%s/{id}", []string{"orders", "users", "carts", "items", "payments"}[w.rng.IntN(5)])
				code = statusCodes[w.rng.IntN(len(statusCodes))]
				s.Resource = w.res[w.rng.IntN(len(w.res))]
			}
			s.EndTimeUnixNano = s.StartTimeUnixNano + dur
			if i == 0 {
				root = sid
				s.Name = "lets-go"
				s.Kind = model.KindClient
			} else {
				s.ParentSpanID = root
			}
			s.Attributes = model.Attributes{
				{Key: "http.request.method", Value: model.StringValue("GET")},
				{Key: "http.route", Value: model.StringValue(route)},
				{Key: "http.response.status_code", Value: model.IntValue(code)},
				{Key: "db.system.name", Value: model.StringValue("postgresql")},
				{Key: "user.tier", Value: model.StringValue("gold")},
				{Key: "retry.count", Value: model.IntValue(0)},
			}
			if w.varied {
				s.Attributes = append(s.Attributes, model.Attribute{Key: "request.id", Value: model.StringValue(fmt.Sprintf("%016x", w.rng.Uint64()))})
				if code >= 500 {
					s.StatusCode = model.StatusError
				}
			}
			spans = append(spans, s)
		}
	}
	return spans
}
