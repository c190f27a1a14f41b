package traceql

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"waymark/internal/model"
)

// The test dataset: traces shaped edge → gateway → app → db, with varied
// services, datacenters, statuses, durations and attribute types. It is
// generated from a fixed seed, so every run sees the same spans.

var (
	datacenters = []string{"us-east", "us-west", "eu-central"}
	apps        = []string{"cart", "checkout", "catalog", "auth"}
	routes      = map[string]string{"cart": "/api/cart", "checkout": "/api/checkout", "catalog": "/api/catalog", "auth": "/api/login"}
)

type traceBuilder struct {
	rng       *rand.Rand
	resources map[string]*model.Resource
	scopes    []*model.Scope
	spans     []model.Span
	traceID   model.TraceID
}

func (b *traceBuilder) resource(service, dc string) *model.Resource {
	key := service + "/" + dc
	if r, ok := b.resources[key]; ok {
		return r
	}
	attrs := model.Attributes{
		{Key: "service.name", Value: model.StringValue(service)},
		{Key: "dc", Value: model.StringValue(dc)},
		{Key: "host.name", Value: model.StringValue(fmt.Sprintf("%s-%s-%d", service, dc, len(b.resources)%3))},
	}
	if service != "edge" && service != "gateway" {
		attrs = append(attrs, model.Attribute{Key: "replicas", Value: model.IntValue(int64(1 + len(service)%4))})
	}
	r := &model.Resource{ServiceName: service, Attributes: attrs}
	b.resources[key] = r
	return r
}

func (b *traceBuilder) id() model.SpanID {
	var id model.SpanID
	for id.IsZero() {
		v := b.rng.Uint64()
		for i := range id {
			id[i] = byte(v >> (8 * i))
		}
	}
	return id
}

// span appends a span and returns its index.
func (b *traceBuilder) span(parent int, res *model.Resource, name string, kind model.SpanKind, start, dur uint64, attrs model.Attributes) int {
	s := model.Span{
		TraceID:           b.traceID,
		SpanID:            b.id(),
		Name:              name,
		Kind:              kind,
		StartTimeUnixNano: start,
		EndTimeUnixNano:   start + dur,
		Attributes:        attrs,
		Resource:          res,
		Scope:             b.scopes[b.rng.IntN(len(b.scopes))],
	}
	if parent >= 0 {
		s.ParentSpanID = b.spans[parent].SpanID
	}
	switch b.rng.IntN(3) {
	case 0:
		s.StatusCode = model.StatusOK
	default:
		s.StatusCode = model.StatusUnset
	}
	b.spans = append(b.spans, s)
	return len(b.spans) - 1
}

func (b *traceBuilder) fail(i int, msg string) {
	b.spans[i].StatusCode = model.StatusError
	b.spans[i].StatusMessage = msg
}

func ms(f float64) uint64 { return uint64(f * 1e6) }

// genDataset builds n traces.
func genDataset(n int) [][]model.Span {
	b := &traceBuilder{
		rng:       rand.New(rand.NewPCG(42, 7)),
		resources: map[string]*model.Resource{},
		scopes: []*model.Scope{
			{Name: "waymark-go", Version: "1.2.0", Attributes: model.Attributes{{Key: "lang", Value: model.StringValue("go")}}},
			{Name: "otel-java", Version: "2.0.1", Attributes: model.Attributes{{Key: "lang", Value: model.StringValue("java")}}},
		},
	}
	traces := make([][]model.Span, 0, n)
	for t := 0; t < n; t++ {
		traces = append(traces, b.trace(t))
	}
	return traces
}

func (b *traceBuilder) trace(t int) []model.Span {
	r := b.rng
	b.spans = nil
	for i := range b.traceID {
		b.traceID[i] = byte(r.Uint32())
	}
	b.traceID[0] = byte(t)
	b.traceID[1] = byte(t >> 8)
	dc := datacenters[r.IntN(len(datacenters))]
	app := apps[r.IntN(len(apps))]
	method := []string{"GET", "POST", "PUT"}[r.IntN(3)]
	base := uint64(1_700_000_000_000_000_000) + uint64(t)*uint64(3e9)
	total := ms(20 + r.Float64()*1500)

	status := []int64{200, 200, 200, 201, 404, 500, 503}[r.IntN(7)]
	edgeAttrs := model.Attributes{
		{Key: "http.method", Value: model.StringValue(method)},
		{Key: "http.route", Value: model.StringValue(routes[app])},
		{Key: "http.status_code", Value: model.IntValue(status)},
		{Key: "http.url", Value: model.StringValue("https://shop.example" + routes[app] + fmt.Sprintf("?t=%d", t))},
	}
	edge := b.span(-1, b.resource("edge", dc), "ingress", model.KindServer, base, total, edgeAttrs)

	gwAttrs := model.Attributes{{Key: "retry count", Value: model.IntValue(int64(r.IntN(4)))}}
	if r.IntN(5) == 0 {
		gwAttrs = append(gwAttrs, model.Attribute{Key: "dc", Value: model.StringValue("override")})
	}
	gwDur := total * 9 / 10
	gw := b.span(edge, b.resource("gateway", dc), "route", model.KindServer, base+ms(1), gwDur, gwAttrs)
	callDur := gwDur * 9 / 10
	call := b.span(gw, b.resource("gateway", dc), "call "+app, model.KindClient, base+ms(2), callDur,
		model.Attributes{{Key: "peer.service", Value: model.StringValue(app)}})
	if r.IntN(8) == 0 {
		// A retried call: a sibling of the first one.
		b.span(gw, b.resource("gateway", dc), "call "+app, model.KindClient, base+ms(3), callDur/2,
			model.Attributes{{Key: "peer.service", Value: model.StringValue(app)}, {Key: "retry", Value: model.BoolValue(true)}})
	}

	appDC := dc
	if r.IntN(5) == 0 {
		appDC = datacenters[(indexOf(datacenters, dc)+1)%len(datacenters)]
	}
	appRes := b.resource(app, appDC)
	appAttrs := model.Attributes{
		{Key: "bytes", Value: model.IntValue(int64(r.IntN(8192)))},
		{Key: "ratio", Value: model.DoubleValue(float64(r.IntN(200)) / 100)},
	}
	if r.IntN(2) == 0 {
		appAttrs = append(appAttrs, model.Attribute{Key: "cache_hit", Value: model.BoolValue(r.IntN(2) == 0)})
	}
	if r.IntN(3) == 0 {
		tags := [][]string{{"alpha"}, {"beta", "gamma"}, {"alpha", "beta"}, {}}[r.IntN(4)]
		appAttrs = append(appAttrs, model.Attribute{Key: "tags", Value: arrayValue(tags)})
	}
	appDur := callDur * 8 / 10
	appStart := base + ms(3)
	appSpan := b.span(call, appRes, method+" "+routes[app], model.KindServer, appStart, appDur, appAttrs)

	if r.IntN(3) == 0 {
		c := b.span(appSpan, appRes, "compute", model.KindInternal, appStart+ms(0.5), appDur/10, nil)
		b.spans[c].Events = []model.Event{{TimeUnixNano: appStart + ms(0.5) + uint64(r.IntN(5))*1e6, Name: "checkpoint",
			Attributes: model.Attributes{{Key: "step", Value: model.IntValue(int64(r.IntN(3)))}}}}
	}
	dbs := 1 + r.IntN(4)
	appFailed := false
	for d := 0; d < dbs; d++ {
		system, name, server := "postgresql", "SELECT orders", "postgres"
		if r.IntN(2) == 0 {
			system, name, server = "redis", "GET session", "redis"
		}
		dur := ms(0.5 + r.Float64()*float64(appDur)/1e6/float64(dbs+1))
		start := appStart + ms(1) + uint64(d)*dur
		db := b.span(appSpan, appRes, name, model.KindClient, start, dur, model.Attributes{
			{Key: "db.system", Value: model.StringValue(system)},
			{Key: "db.statement", Value: model.StringValue(strings.ToLower(name) + " where id = ?")},
		})
		if r.IntN(8) == 0 {
			msg := []string{"connection refused", "timeout"}[r.IntN(2)]
			b.fail(db, msg)
			b.spans[db].Events = append(b.spans[db].Events, model.Event{TimeUnixNano: start + dur/2, Name: "exception",
				Attributes: model.Attributes{{Key: "exception.message", Value: model.StringValue("dial tcp: " + msg)}}})
			if r.IntN(2) == 0 {
				appFailed = true
			}
		}
		if r.IntN(2) == 0 {
			b.span(db, b.resource(server, appDC), "query", model.KindServer, start+ms(0.1), dur*8/10, model.Attributes{
				{Key: "db.system", Value: model.StringValue(system)},
			})
		}
	}
	if r.IntN(4) == 0 {
		p := b.span(appSpan, appRes, "publish order", model.KindProducer, appStart+appDur/2, ms(1), model.Attributes{{Key: "messaging.system", Value: model.StringValue("kafka")}})
		var other model.TraceID
		other[15] = byte(t%200 + 1)
		b.spans[p].Links = []model.Link{{TraceID: other, SpanID: model.SpanID{7, byte(t)}, Attributes: model.Attributes{{Key: "kind", Value: model.StringValue("follows")}}}}
	}
	if appFailed {
		b.fail(appSpan, "upstream failed")
		if r.IntN(2) == 0 {
			b.fail(gw, "bad gateway")
		}
	}
	if status >= 500 && b.spans[edge].StatusCode != model.StatusError {
		b.fail(edge, fmt.Sprintf("HTTP %d", status))
	}
	spans := b.spans
	if r.IntN(20) == 0 {
		// The root was not received.
		spans = spans[1:]
	}
	// Shuffle so that evaluation cannot rely on parents coming first.
	r.Shuffle(len(spans), func(i, j int) { spans[i], spans[j] = spans[j], spans[i] })
	return spans
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

func arrayValue(elems []string) model.Value {
	quoted := make([]string, len(elems))
	for i, e := range elems {
		quoted[i] = `"` + e + `"`
	}
	return model.Value{Type: model.ValueArray, Str: "[" + strings.Join(quoted, ",") + "]"}
}
