package zipkinapi

import (
	"waymark/internal/model"
)

// Times of the fixture traces: 2023-11-14T22:13:20Z and later, in ns.
const (
	t0 = uint64(1_700_000_000_000_000_000)
	us = uint64(1_000)
	ms = uint64(1_000_000)
)

func mustTraceID(s string) model.TraceID {
	id, err := model.ParseTraceID(s)
	if err != nil {
		panic(err)
	}
	return id
}

func mustSpanID(s string) model.SpanID {
	id, err := model.ParseSpanID(s)
	if err != nil {
		panic(err)
	}
	return id
}

const (
	traceA = "4bf92f3577b34da6a3ce929d0e0e4736"
	traceB = "463ac35c9f6413ad" // a 64-bit ID
)

// fixture returns two traces: A, a frontend → cart → mysql call chain with
// a shared client/server span ID, an error and an event; B, one 64-bit
// trace of the cart service. Each call returns fresh slices.
func fixture() (a, b []model.Span) {
	front := &model.Resource{ServiceName: "frontend", Attributes: model.Attributes{
		{Key: "service.name", Value: model.StringValue("frontend")},
		{Key: "host.name", Value: model.StringValue("web-1")},
	}}
	cart := &model.Resource{ServiceName: "cart", Attributes: model.Attributes{
		{Key: "service.name", Value: model.StringValue("cart")},
	}}
	scope := &model.Scope{Name: "io.opentelemetry.http", Version: "1.2.0"}
	ta, tb := mustTraceID(traceA), mustTraceID(traceB)
	a = []model.Span{
		{
			TraceID: ta, SpanID: mustSpanID("0000000000000001"), Name: "get /cart", Kind: model.KindServer,
			StartTimeUnixNano: t0, EndTimeUnixNano: t0 + 50*ms, StatusCode: model.StatusOK,
			Attributes: model.Attributes{
				{Key: "http.method", Value: model.StringValue("GET")},
				{Key: "http.status_code", Value: model.IntValue(200)},
				{Key: "net.host.ip", Value: model.StringValue("10.0.0.1")},
				{Key: "net.host.port", Value: model.IntValue(8080)},
			},
			Resource: front, Scope: scope,
		},
		{
			TraceID: ta, SpanID: mustSpanID("0000000000000002"), ParentSpanID: mustSpanID("0000000000000001"),
			Name: "get /items", Kind: model.KindClient,
			StartTimeUnixNano: t0 + 1*ms, EndTimeUnixNano: t0 + 40*ms,
			Attributes: model.Attributes{
				{Key: "peer.service", Value: model.StringValue("cart")},
				{Key: "network.peer.address", Value: model.StringValue("2001:db8::1")},
				{Key: "network.peer.port", Value: model.IntValue(9000)},
			},
			Resource: front, Scope: scope,
		},
		{
			// The server half of a shared span: same span ID as its client.
			TraceID: ta, SpanID: mustSpanID("0000000000000002"), ParentSpanID: mustSpanID("0000000000000001"),
			Name: "get /items", Kind: model.KindServer,
			StartTimeUnixNano: t0 + 2*ms, EndTimeUnixNano: t0 + 39*ms,
			StatusCode: model.StatusError, StatusMessage: "out of stock",
			Events: []model.Event{
				{TimeUnixNano: t0 + 3*ms, Name: "retried"},
				{TimeUnixNano: t0 + 4*ms, Name: "exception", Attributes: model.Attributes{
					{Key: "exception.type", Value: model.StringValue("OutOfStock")},
					{Key: "attempt", Value: model.IntValue(2)},
				}},
			},
			Resource: cart,
		},
		{
			TraceID: ta, SpanID: mustSpanID("0000000000000003"), ParentSpanID: mustSpanID("0000000000000002"),
			Name: "select", Kind: model.KindClient,
			StartTimeUnixNano: t0 + 5*ms, EndTimeUnixNano: t0 + 5*ms + 500, // 0.5 µs
			Attributes: model.Attributes{
				{Key: "server.address", Value: model.StringValue("mysql")},
				{Key: "db.statement", Value: model.StringValue("select \"x\"\n")},
			},
			TraceState: "rojo=00f067aa0ba902b7",
			Resource:   cart,
		},
	}
	b = []model.Span{
		{
			TraceID: tb, SpanID: mustSpanID("00000000000000b1"), Name: "checkout", Kind: model.KindInternal,
			StartTimeUnixNano: t0 + 10*ms, EndTimeUnixNano: t0 + 20*ms,
			Attributes: model.Attributes{{Key: "retried", Value: model.BoolValue(true)}},
			Resource:   cart,
		},
	}
	return a, b
}
