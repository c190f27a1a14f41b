package apitest

import (
	"waymark/internal/model"
)

// Times of the fixture traces, in ns: T0 is 2023-11-14T22:13:20Z.
const (
	T0 = uint64(1_700_000_000_000_000_000)
	US = uint64(1_000)
	MS = uint64(1_000_000)
)

// MustTraceID parses a trace ID and panics on a bad one.
func MustTraceID(s string) model.TraceID {
	id, err := model.ParseTraceID(s)
	if err != nil {
		panic(err)
	}
	return id
}

// MustSpanID parses a span ID and panics on a bad one.
func MustSpanID(s string) model.SpanID {
	id, err := model.ParseSpanID(s)
	if err != nil {
		panic(err)
	}
	return id
}

// IDs of the fixture traces.
const (
	TraceA = "4bf92f3577b34da6a3ce929d0e0e4736"
	TraceB = "463ac35c9f6413ad" // a 64-bit ID
)

// Fixture returns two traces: A, a frontend → cart → mysql call chain with
// a shared client/server span ID, an error and an event; B, one 64-bit
// trace of the cart service. Each call returns fresh slices.
func Fixture() (a, b []model.Span) {
	front := &model.Resource{ServiceName: "frontend", Attributes: model.Attributes{
		{Key: "service.name", Value: model.StringValue("frontend")},
		{Key: "host.name", Value: model.StringValue("web-1")},
	}}
	cart := &model.Resource{ServiceName: "cart", Attributes: model.Attributes{
		{Key: "service.name", Value: model.StringValue("cart")},
	}}
	scope := &model.Scope{Name: "io.opentelemetry.http", Version: "1.2.0"}
	ta, tb := MustTraceID(TraceA), MustTraceID(TraceB)
	a = []model.Span{
		{
			TraceID: ta, SpanID: MustSpanID("0000000000000001"), Name: "get /cart", Kind: model.KindServer,
			StartTimeUnixNano: T0, EndTimeUnixNano: T0 + 50*MS, StatusCode: model.StatusOK,
			Attributes: model.Attributes{
				{Key: "http.method", Value: model.StringValue("GET")},
				{Key: "http.status_code", Value: model.IntValue(200)},
				{Key: "net.host.ip", Value: model.StringValue("10.0.0.1")},
				{Key: "net.host.port", Value: model.IntValue(8080)},
			},
			Resource: front, Scope: scope,
		},
		{
			TraceID: ta, SpanID: MustSpanID("0000000000000002"), ParentSpanID: MustSpanID("0000000000000001"),
			Name: "get /items", Kind: model.KindClient,
			StartTimeUnixNano: T0 + 1*MS, EndTimeUnixNano: T0 + 40*MS,
			Attributes: model.Attributes{
				{Key: "peer.service", Value: model.StringValue("cart")},
				{Key: "network.peer.address", Value: model.StringValue("2001:db8::1")},
				{Key: "network.peer.port", Value: model.IntValue(9000)},
			},
			Resource: front, Scope: scope,
		},
		{
			// The server half of a shared span: same span ID as its client.
			TraceID: ta, SpanID: MustSpanID("0000000000000002"), ParentSpanID: MustSpanID("0000000000000001"),
			Name: "get /items", Kind: model.KindServer,
			StartTimeUnixNano: T0 + 2*MS, EndTimeUnixNano: T0 + 39*MS,
			StatusCode: model.StatusError, StatusMessage: "out of stock",
			Events: []model.Event{
				{TimeUnixNano: T0 + 3*MS, Name: "retried"},
				{TimeUnixNano: T0 + 4*MS, Name: "exception", Attributes: model.Attributes{
					{Key: "exception.type", Value: model.StringValue("OutOfStock")},
					{Key: "attempt", Value: model.IntValue(2)},
				}},
			},
			Resource: cart,
		},
		{
			TraceID: ta, SpanID: MustSpanID("0000000000000003"), ParentSpanID: MustSpanID("0000000000000002"),
			Name: "select", Kind: model.KindClient,
			StartTimeUnixNano: T0 + 5*MS, EndTimeUnixNano: T0 + 5*MS + 500, // 0.5 µs
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
			TraceID: tb, SpanID: MustSpanID("00000000000000b1"), Name: "checkout", Kind: model.KindInternal,
			StartTimeUnixNano: T0 + 10*MS, EndTimeUnixNano: T0 + 20*MS,
			Attributes: model.Attributes{{Key: "retried", Value: model.BoolValue(true)}},
			Resource:   cart,
		},
	}
	return a, b
}
