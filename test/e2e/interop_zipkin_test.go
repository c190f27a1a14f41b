package e2e

import (
	"encoding/binary"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	zipkingo "github.com/openzipkin/zipkin-go"
	zipkinmodel "github.com/openzipkin/zipkin-go/model"
	"github.com/openzipkin/zipkin-go/proto/zipkin_proto3"
	zipkinreporter "github.com/openzipkin/zipkin-go/reporter"
	zipkinhttp "github.com/openzipkin/zipkin-go/reporter/http"
	"google.golang.org/protobuf/proto"
)

func (s *server) zipkinSpansURL() string {
	return "http://127.0.0.1:" + strconv.Itoa(s.ports.Zipkin) + "/api/v2/spans"
}

// zipkinSent is the trace zipkinGoTrace sent.
type zipkinSent struct {
	traceID                   zipkinmodel.TraceID
	shared, local, producerID string // span IDs, 16 hex
	start                     time.Time
}

// zipkinGoTrace records, with the zipkin-go tracer, a frontend client span
// and the cart server span that shares its span ID (as Brave and Envoy do
// by default), a local span under the server, and a producer span; rep
// sends them.
func zipkinGoTrace(t *testing.T, rep zipkinreporter.Reporter, traceID128 bool, start time.Time) zipkinSent {
	t.Helper()
	tracer := func(service, hostPort string) *zipkingo.Tracer {
		ep, err := zipkingo.NewEndpoint(service, hostPort)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := zipkingo.NewTracer(rep, zipkingo.WithLocalEndpoint(ep), zipkingo.WithSharedSpans(true), zipkingo.WithTraceID128Bit(traceID128))
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	frontend, cart := tracer("frontend", "10.1.0.1:8080"), tracer("cart", "10.1.0.2:9000")
	kafka, err := zipkingo.NewEndpoint("kafka", "10.1.0.9:9092")
	if err != nil {
		t.Fatal(err)
	}

	client := frontend.StartSpan("get /cart", zipkingo.Kind(zipkinmodel.Client), zipkingo.StartTime(start))
	client.Tag("http.path", "/cart")
	client.Tag("http.method", "GET")
	client.Annotate(start.Add(time.Millisecond), "wire.send")

	server := cart.StartSpan("get /cart", zipkingo.Kind(zipkinmodel.Server), zipkingo.Parent(client.Context()), zipkingo.StartTime(start.Add(2*time.Millisecond)))
	server.Tag("error", "out of stock")
	local := cart.StartSpan("load cart", zipkingo.Parent(server.Context()), zipkingo.StartTime(start.Add(3*time.Millisecond)))
	local.Tag("cart.items", "3")
	local.FinishedWithDuration(4 * time.Millisecond)
	producer := cart.StartSpan("send", zipkingo.Kind(zipkinmodel.Producer), zipkingo.Parent(server.Context()),
		zipkingo.StartTime(start.Add(8*time.Millisecond)), zipkingo.RemoteEndpoint(kafka))
	producer.FinishedWithDuration(500 * time.Microsecond)
	server.FinishedWithDuration(7 * time.Millisecond)
	client.FinishedWithDuration(10 * time.Millisecond)
	if err := rep.Close(); err != nil {
		t.Fatalf("zipkin reporter: %v", err)
	}
	if server.Context().ID != client.Context().ID {
		t.Fatalf("zipkin-go did not share the span ID: client %s, server %s", client.Context().ID, server.Context().ID)
	}
	return zipkinSent{traceID: client.Context().TraceID, shared: client.Context().ID.String(),
		local: local.Context().ID.String(), producerID: producer.Context().ID.String(), start: start}
}

// wantZipkinGoTrace is how the spans of zipkinGoTrace read back.
func wantZipkinGoTrace(z zipkinSent) []wantSpan {
	us := z.start.UnixMicro()
	return []wantSpan{
		{id: z.shared, name: "get /cart", kind: "client", service: "frontend", startUS: us, durUS: 10_000,
			tags: []jaegerTag{str("http.path", "/cart"), str("http.method", "GET"), str("network.local.address", "10.1.0.1"), i64("net.host.port", 8080)},
			logs: []wantLog{{us + 1_000, []jaegerTag{str("event", "wire.send")}}}},
		// The translator keeps an error tag that is not "true" as an
		// attribute and sets status ERROR without a message.
		{id: z.shared, name: "get /cart", kind: "server", service: "cart", startUS: us + 2_000, durUS: 7_000,
			status: "ERROR", tags: []jaegerTag{str("error", "out of stock")}},
		// A Zipkin span without a kind is a local span: unspecified kind.
		{id: z.local, parent: z.shared, name: "load cart", service: "cart", startUS: us + 3_000, durUS: 4_000,
			tags: []jaegerTag{str("cart.items", "3")}},
		{id: z.producerID, parent: z.shared, name: "send", kind: "producer", service: "cart", startUS: us + 8_000, durUS: 500,
			tags: []jaegerTag{str("network.local.address", "10.1.0.2"), str("service.peer.name", "kafka"), str("network.peer.address", "10.1.0.9"), i64("net.peer.port", 9092)}},
	}
}

// TestZipkinGoReporter sends traces with zipkin-go's HTTP reporter, in JSON
// and in protobuf, with Envoy's default 64-bit trace IDs and with 128-bit
// ones, and reads them back by their 32- and 16-hex IDs.
func TestZipkinGoReporter(t *testing.T) {
	s := startServer(t)
	cases := []struct {
		name       string
		traceID128 bool
		opts       []zipkinhttp.ReporterOption
	}{
		{"json 64-bit", false, nil},
		{"json 128-bit", true, nil},
		{"protobuf 64-bit", false, []zipkinhttp.ReporterOption{zipkinhttp.Serializer(zipkin_proto3.SpanSerializer{})}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep := zipkinhttp.NewReporter(s.zipkinSpansURL(), tc.opts...)
			start := time.Now().Add(-time.Minute - time.Duration(i)*time.Second).Truncate(time.Microsecond)
			sent := zipkinGoTrace(t, rep, tc.traceID128, start)
			full := fmt.Sprintf("%016x%016x", sent.traceID.High, sent.traceID.Low)
			want := wantZipkinGoTrace(sent)
			// The HTTP reporter sends in the background and never reports
			// the answer, so wait until the spans are readable.
			awaitTrace(t, s, full, len(want))
			checkSpans(t, readTrace(t, s, full), full, want)
			if !tc.traceID128 {
				short := sent.traceID.String()
				if len(short) != 16 {
					t.Fatalf("zipkin-go made a %d-hex trace ID, want 16", len(short))
				}
				checkSpans(t, readTrace(t, s, short), full, want)
			}
		})
	}
}

// TestZipkinEnvoyProto posts a zipkin2.proto3.ListOfSpans as Envoy's
// HTTP_PROTO collector does: 8-byte trace IDs, a client and a server span
// sharing one span ID, endpoints with addresses and ports, annotations and
// tags.
func TestZipkinEnvoyProto(t *testing.T) {
	s := startServer(t)
	start := time.Now().Add(-time.Minute).Truncate(time.Microsecond)
	us := uint64(start.UnixMicro())
	traceID, rootID, childID := uint64(0x8e3ac35c9f6413ad), uint64(0xa2fb4a1d1a96d312), uint64(0xf3a1b2c3d4e5f607)
	id := func(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
	list := &zipkin_proto3.ListOfSpans{Spans: []*zipkin_proto3.Span{
		{TraceId: id(traceID), Id: id(rootID), Kind: zipkin_proto3.Span_SERVER, Name: "ingress", Timestamp: us, Duration: 25_000,
			LocalEndpoint:  &zipkin_proto3.Endpoint{ServiceName: "front-proxy", Ipv4: []byte{10, 0, 0, 1}, Port: 10000},
			RemoteEndpoint: &zipkin_proto3.Endpoint{Ipv4: []byte{192, 0, 2, 7}, Port: 51234},
			Tags:           map[string]string{"http.method": "GET", "http.url": "http://shop/cart", "http.status_code": "200", "node_id": "front"}},
		{TraceId: id(traceID), Id: id(childID), ParentId: id(rootID), Kind: zipkin_proto3.Span_CLIENT, Name: "router cart egress",
			Timestamp: us + 1_000, Duration: 20_000,
			LocalEndpoint: &zipkin_proto3.Endpoint{ServiceName: "front-proxy", Ipv4: []byte{10, 0, 0, 1}},
			Tags:          map[string]string{"upstream_cluster": "cart", "http.status_code": "503", "error": "true"},
			Annotations:   []*zipkin_proto3.Annotation{{Timestamp: us + 2_000, Value: "retry"}}},
		{TraceId: id(traceID), Id: id(childID), ParentId: id(rootID), Kind: zipkin_proto3.Span_SERVER, Name: "ingress cart",
			Timestamp: us + 1_500, Duration: 18_000, Shared: true,
			LocalEndpoint: &zipkin_proto3.Endpoint{ServiceName: "cart-sidecar", Ipv6: []byte{0x20, 0x01, 0x0d, 0xb8, 15: 1}},
			Tags:          map[string]string{"response_flags": "UF"}},
	}}
	body, err := proto.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	if code, msg := post(t, s.zipkinSpansURL(), "application/x-protobuf", body); code != http.StatusAccepted {
		t.Fatalf("POST protobuf: status %d %q, want 202", code, msg)
	}
	short := fmt.Sprintf("%016x", traceID)
	full := "0000000000000000" + short
	root, child := fmt.Sprintf("%016x", rootID), fmt.Sprintf("%016x", childID)
	want := []wantSpan{
		{id: root, name: "ingress", kind: "server", service: "front-proxy", startUS: int64(us), durUS: 25_000,
			tags: []jaegerTag{str("http.method", "GET"), str("http.url", "http://shop/cart"), str("http.response.status_code", "200"), str("node_id", "front"),
				str("network.local.address", "10.0.0.1"), i64("net.host.port", 10000), str("network.peer.address", "192.0.2.7"), i64("net.peer.port", 51234)}},
		{id: child, parent: root, name: "router cart egress", kind: "client", service: "front-proxy", startUS: int64(us) + 1_000, durUS: 20_000,
			status: "ERROR", tags: []jaegerTag{str("upstream_cluster", "cart"), str("http.response.status_code", "503")},
			logs: []wantLog{{int64(us) + 2_000, []jaegerTag{str("event", "retry")}}}},
		{id: child, parent: root, name: "ingress cart", kind: "server", service: "cart-sidecar", startUS: int64(us) + 1_500, durUS: 18_000,
			tags: []jaegerTag{str("response_flags", "UF"), str("network.local.address", "2001:db8::1")}},
	}
	for _, id := range []string{short, full} {
		t.Run("read by "+id, func(t *testing.T) {
			checkSpans(t, readTrace(t, s, id), full, want)
		})
	}
}
