package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
	"github.com/openzipkin/zipkin-go/proto/zipkin_proto3"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"waymark/internal/receive"
	"waymark/internal/receive/receivetest"
)

// garbageLimit is the request size limit the garbage test runs with.
const garbageLimit = 64 << 10

// zipkinJSON is one valid Zipkin v2 span with a 64-bit trace ID.
const zipkinJSON = `[{"traceId":"5af7183fb1d4cf5f","id":"6b221d5bc9e6496c","name":"get /","kind":"SERVER",
 "timestamp":1700000000000000,"duration":2000,"localEndpoint":{"serviceName":"zipkin-garbage"}}]`

func half(b []byte) []byte { return b[:len(b)/2] }

// garbageBodies are the valid bodies of every HTTP receiver, to truncate.
type garbageBodies struct {
	otlpProto, zipkinProto, jaegerThrift, jaegerProto, agentCompact []byte
}

func newGarbageBodies(t *testing.T) garbageBodies {
	t.Helper()
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID([16]byte{1, 2, 3})
	sp.SetSpanID([8]byte{4, 5, 6})
	sp.SetName("truncated")
	otlpProto, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	zipkinProto, err := proto.Marshal(&zipkin_proto3.ListOfSpans{Spans: []*zipkin_proto3.Span{{
		TraceId: []byte{1, 2, 3, 4, 5, 6, 7, 8}, Id: []byte{1, 2, 3, 4, 5, 6, 7, 8}, Name: "truncated", Timestamp: 1_700_000_000_000_000, Duration: 10,
		LocalEndpoint: &zipkin_proto3.Endpoint{ServiceName: "garbage"}}}})
	if err != nil {
		t.Fatal(err)
	}
	batch := lokiBatch(0, 99, time.Now())
	jaegerThrift, err := thrift.NewTSerializer().Write(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	req := &api_v2.PostSpansRequest{Batch: protoFromThrift(batch)}
	jaegerProto, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return garbageBodies{otlpProto: otlpProto, zipkinProto: zipkinProto, jaegerThrift: jaegerThrift, jaegerProto: jaegerProto,
		agentCompact: receivetest.JaegerAgentMessage(t, batch, true)}
}

// TestGarbageOnEveryPort sends malformed input to every port and path of
// the real binary: truncated bodies, wrong content types and encodings,
// wrong methods, unknown paths, bytes that are not HTTP or HTTP/2, bad
// gRPC messages and bad or oversized UDP datagrams. Each gets a clear
// error or is counted as dropped, and afterwards every receiver still
// takes valid spans.
func TestGarbageOnEveryPort(t *testing.T) {
	s := startServer(t, "--receivers.max_request_bytes="+strconv.Itoa(garbageLimit))
	b := newGarbageBodies(t)
	addr := func(port int) string { return "http://127.0.0.1:" + strconv.Itoa(port) }
	otlp, zipkin, thriftURL := addr(s.ports.OTLPHTTP), addr(s.ports.Zipkin), addr(s.ports.JaegerThrift)
	query, tempo := addr(s.ports.Query), addr(s.ports.Tempo)
	big := bytes.Repeat([]byte("x"), garbageLimit+1)

	httpCases := []struct {
		name     string
		req      receivetest.Request
		want     int
		receiver string // whose failed_requests_total must count it; "" for the query ports
	}{
		{"otlp truncated protobuf", receivetest.Request{URL: otlp + "/v1/traces", ContentType: "application/x-protobuf", Body: half(b.otlpProto)}, 400, "otlp_http"},
		{"otlp truncated json", receivetest.Request{URL: otlp + "/v1/traces", ContentType: "application/json", Body: half([]byte(validJSON))}, 400, "otlp_http"},
		{"otlp json sent as protobuf", receivetest.Request{URL: otlp + "/v1/traces", ContentType: "application/x-protobuf", Body: []byte(validJSON)}, 400, "otlp_http"},
		{"otlp wrong content type", receivetest.Request{URL: otlp + "/v1/traces", ContentType: "text/plain", Body: []byte("hi")}, 415, "otlp_http"},
		{"otlp not gzip", receivetest.Request{URL: otlp + "/v1/traces", ContentType: "application/x-protobuf", Encoding: "gzip", Body: b.otlpProto}, 400, "otlp_http"},
		{"otlp unknown encoding", receivetest.Request{URL: otlp + "/v1/traces", ContentType: "application/x-protobuf", Encoding: "br", Body: b.otlpProto}, 415, "otlp_http"},
		{"otlp oversized", receivetest.Request{URL: otlp + "/v1/traces", ContentType: "application/x-protobuf", Body: big}, 413, "otlp_http"},
		{"otlp GET", receivetest.Request{Method: "GET", URL: otlp + "/v1/traces"}, 405, ""},
		{"otlp unknown path", receivetest.Request{URL: otlp + "/v1/metricz", ContentType: "application/x-protobuf", Body: b.otlpProto}, 404, ""},

		{"zipkin truncated json", receivetest.Request{URL: zipkin + "/api/v2/spans", ContentType: "application/json", Body: half([]byte(zipkinJSON))}, 400, "zipkin_http"},
		{"zipkin truncated protobuf", receivetest.Request{URL: zipkin + "/api/v2/spans", ContentType: "application/x-protobuf", Body: half(b.zipkinProto)}, 400, "zipkin_http"},
		{"zipkin json sent as protobuf", receivetest.Request{URL: zipkin + "/api/v2/spans", ContentType: "application/x-protobuf", Body: []byte(zipkinJSON)}, 400, "zipkin_http"},
		{"zipkin bad trace id", receivetest.Request{URL: zipkin + "/api/v2/spans", ContentType: "application/json", Body: []byte(strings.Replace(zipkinJSON, "5af7183fb1d4cf5f", "5af7183fb1d4cf5z", 1))}, 400, "zipkin_http"},
		{"zipkin wrong content type", receivetest.Request{URL: zipkin + "/api/v2/spans", ContentType: "application/x-thrift", Body: b.zipkinProto}, 415, "zipkin_http"},
		{"zipkin v1 truncated thrift", receivetest.Request{URL: zipkin + "/api/v1/spans", ContentType: "application/x-thrift", Body: half(b.jaegerThrift)}, 400, "zipkin_http"},
		{"zipkin v1 truncated json", receivetest.Request{URL: zipkin + "/api/v1/spans", ContentType: "application/json", Body: []byte(`[{"traceId":"5af7183fb1d4cf5f","id":"6b2`)}, 400, "zipkin_http"},
		{"zipkin v1 protobuf", receivetest.Request{URL: zipkin + "/api/v1/spans", ContentType: "application/x-protobuf", Body: b.zipkinProto}, 415, "zipkin_http"},
		{"zipkin not gzip", receivetest.Request{URL: zipkin + "/api/v2/spans", ContentType: "application/json", Encoding: "gzip", Body: []byte(zipkinJSON)}, 400, "zipkin_http"},
		{"zipkin oversized", receivetest.Request{URL: zipkin + "/api/v2/spans", ContentType: "application/json", Body: big}, 413, "zipkin_http"},
		{"zipkin GET", receivetest.Request{Method: "GET", URL: zipkin + "/api/v2/spans"}, 405, ""},
		{"zipkin unknown path", receivetest.Request{URL: zipkin + "/api/v3/spans", ContentType: "application/json", Body: []byte(zipkinJSON)}, 404, ""},

		{"jaeger truncated thrift", receivetest.Request{URL: thriftURL + "/api/traces", ContentType: "application/x-thrift", Body: half(b.jaegerThrift)}, 400, "jaeger_thrift_http"},
		{"jaeger compact thrift sent as binary", receivetest.Request{URL: thriftURL + "/api/traces", ContentType: "application/x-thrift", Body: b.agentCompact}, 400, "jaeger_thrift_http"},
		{"jaeger wrong content type", receivetest.Request{URL: thriftURL + "/api/traces", ContentType: "application/json", Body: b.jaegerThrift}, 415, "jaeger_thrift_http"},
		{"jaeger oversized", receivetest.Request{URL: thriftURL + "/api/traces", ContentType: "application/x-thrift", Body: big}, 413, "jaeger_thrift_http"},
		{"jaeger GET", receivetest.Request{Method: "GET", URL: thriftURL + "/api/traces"}, 405, ""},
		{"jaeger unknown path", receivetest.Request{URL: thriftURL + "/api/spans", ContentType: "application/x-thrift", Body: b.jaegerThrift}, 404, ""},

		{"query bad trace id", receivetest.Request{Method: "GET", URL: query + "/api/traces/not-a-trace-id"}, 400, ""},
		{"query bad limit", receivetest.Request{Method: "GET", URL: query + "/api/traces?service=x&limit=many"}, 400, ""},
		{"query bad tags", receivetest.Request{Method: "GET", URL: query + "/api/traces?service=x&tags=%7Bnot-json"}, 400, ""},
		{"query unknown path", receivetest.Request{Method: "GET", URL: query + "/api/nothing-here"}, 404, ""},
		{"tempo bad trace id", receivetest.Request{Method: "GET", URL: tempo + "/api/traces/zz"}, 400, ""},
		{"tempo bad traceql", receivetest.Request{Method: "GET", URL: tempo + "/api/search?q=%7B%20.a%20%3D"}, 400, ""},
	}
	failedBefore := map[string]float64{}
	wantFailed := map[string]float64{}
	for _, tc := range httpCases {
		if tc.receiver != "" {
			wantFailed[tc.receiver]++
		}
	}
	for r := range wantFailed {
		failedBefore[r] = metricValue(t, s, "waymark_receiver_failed_requests_total", "receiver", r)
	}
	for _, tc := range httpCases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := tc.req.Send(t)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d; body %q", resp.StatusCode, tc.want, body)
			}
			if tc.want != http.StatusRequestEntityTooLarge && len(bytes.TrimSpace(body)) == 0 {
				t.Errorf("status %d without a message", resp.StatusCode)
			}
		})
	}
	for r, n := range wantFailed {
		if got := metricValue(t, s, "waymark_receiver_failed_requests_total", "receiver", r) - failedBefore[r]; got != n {
			t.Errorf("waymark_receiver_failed_requests_total{receiver=%q} rose by %v, want %v", r, got, n)
		}
	}

	t.Run("bytes that are not HTTP", func(t *testing.T) {
		for _, port := range []int{s.ports.OTLPHTTP, s.ports.Zipkin, s.ports.JaegerThrift, s.ports.Query, s.ports.Tempo} {
			if line := rawExchange(t, port, "\x16\x03\x01\x02\x00garbage\r\n\r\n"); !strings.HasPrefix(line, "HTTP/1.1 400") {
				t.Errorf("port %d answered %q to non-HTTP bytes, want HTTP/1.1 400", port, line)
			}
		}
	})
	t.Run("bytes that are not HTTP/2 on gRPC ports", func(t *testing.T) {
		for _, port := range []int{s.ports.OTLPGRPC, s.ports.JaegerGRPC} {
			// Not HTTP/2 at all: the connection is closed.
			rawExchange(t, port, "\x16\x03\x01\x02\x00 this is not an HTTP/2 preface\r\n")
			// The preface, then a SETTINGS frame of a size no setting has:
			// the server answers GOAWAY and closes.
			rawExchange(t, port, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x04\x04\x00\x00\x00\x00\x00garb")
		}
	})
	t.Run("grpc", func(t *testing.T) { checkGRPCGarbage(t, s, b) })
	t.Run("udp", func(t *testing.T) { checkUDPGarbage(t, s, b) })
	t.Run("still serving", func(t *testing.T) { checkStillServing(t, s) })
}

// rawExchange writes raw bytes to a loopback TCP port and returns the
// first line of the answer ("" when the server just closes).
func rawExchange(t *testing.T, port int, raw string) string {
	t.Helper()
	conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(raw)); err != nil {
		t.Fatalf("write to port %d: %v", port, err)
	}
	// A bound so that a server that neither answers nor closes fails the
	// test instead of hanging it.
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Errorf("port %d neither answered nor closed the connection", port)
	}
	return strings.TrimSpace(line)
}

// checkGRPCGarbage sends undecodable, truncated, oversized and misrouted
// messages to both gRPC receivers.
func checkGRPCGarbage(t *testing.T, s *server, b garbageBodies) {
	otlpConn, err := grpc.NewClient(s.otlpGRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer otlpConn.Close()
	jaegerConn, err := grpc.NewClient(s.jaegerGRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer jaegerConn.Close()
	const (
		export    = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
		postSpans = "/jaeger.api_v2.CollectorService/PostSpans"
	)
	cases := []struct {
		name   string
		conn   *grpc.ClientConn
		method string
		msg    []byte
		want   codes.Code
	}{
		{"otlp truncated", otlpConn, export, half(b.otlpProto), codes.InvalidArgument},
		{"otlp garbage", otlpConn, export, []byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f}, codes.InvalidArgument},
		{"otlp oversized", otlpConn, export, make([]byte, garbageLimit+1), codes.ResourceExhausted},
		{"otlp unknown method", otlpConn, "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export", b.otlpProto, codes.Unimplemented},
		{"jaeger truncated", jaegerConn, postSpans, half(b.jaegerProto), codes.InvalidArgument},
		{"jaeger garbage", jaegerConn, postSpans, []byte{0x0a, 0x03, 0x0a, 0x01}, codes.InvalidArgument},
		{"jaeger oversized", jaegerConn, postSpans, make([]byte, garbageLimit+1), codes.ResourceExhausted},
		{"jaeger unknown method", jaegerConn, "/jaeger.api_v2.QueryService/GetTrace", []byte{}, codes.Unimplemented},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.conn.Invoke(context.Background(), tc.method, &receive.RawMessage{Bytes: tc.msg}, new(receive.RawMessage))
			st := status.Convert(err)
			if st.Code() != tc.want || st.Message() == "" {
				t.Errorf("%s: %v, want %s with a message", tc.method, err, tc.want)
			}
		})
	}
}

// checkUDPGarbage sends bad datagrams to both agent ports and waits until
// each is counted as dropped.
func checkUDPGarbage(t *testing.T, s *server, b garbageBodies) {
	binaryMsg := receivetest.JaegerAgentMessage(t, lokiBatch(0, 98, time.Now()), false)
	cases := []struct {
		name     string
		compact  bool
		datagram []byte
		reason   string
	}{
		{"compact garbage", true, []byte("garbage"), "undecodable"},
		{"compact truncated", true, half(b.agentCompact), "undecodable"},
		{"binary message on the compact port", true, binaryMsg, "undecodable"},
		{"compact oversized", true, make([]byte, 65_100), "too_large"},
		{"binary garbage", false, []byte{0x80, 0x01, 0x00, 0x04, 0xff, 0xff}, "undecodable"},
		{"binary truncated", false, half(binaryMsg), "undecodable"},
		{"compact message on the binary port", false, b.agentCompact, "undecodable"},
		{"binary oversized", false, make([]byte, 65_100), "too_large"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			receiver := "jaeger_udp_binary"
			if tc.compact {
				receiver = "jaeger_udp_compact"
			}
			labels := []string{"receiver", receiver, "reason", tc.reason}
			before := metricValue(t, s, "waymark_receiver_dropped_packets_total", labels...)
			sendUDP(t, s.jaegerUDPAddr(tc.compact), tc.datagram)
			eventually(t, 30*time.Second, fmt.Sprintf("dropped_packets_total%v to rise", labels), func() bool {
				return metricValue(t, s, "waymark_receiver_dropped_packets_total", labels...) > before
			})
		})
	}
}

// checkStillServing sends one valid trace to every receiver and reads each
// back.
func checkStillServing(t *testing.T, s *server) {
	start := time.Now().Add(-time.Minute).Truncate(time.Microsecond)
	cases := []struct {
		name  string
		id    string
		spans int
		send  func(t *testing.T)
	}{
		{"otlp http", "4bf92f3577b34da6a3ce929d0e0e4736", 1, func(t *testing.T) {
			if code, body := post(t, "http://"+s.otlpHTTPAddr()+"/v1/traces", "application/json", []byte(validJSON)); code != http.StatusOK {
				t.Fatalf("status %d %q", code, body)
			}
		}},
		{"otlp grpc", "0a0b0c00000000000000000000000000", 1, func(t *testing.T) {
			td := ptrace.NewTraces()
			sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
			sp.SetTraceID([16]byte{0x0a, 0x0b, 0x0c})
			sp.SetSpanID([8]byte{1})
			sp.SetName("after garbage")
			if _, err := dialOTLP(t, s.otlpGRPCAddr()).Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(td)); err != nil {
				t.Fatal(err)
			}
		}},
		{"zipkin", "00000000000000005af7183fb1d4cf5f", 1, func(t *testing.T) {
			if code, body := post(t, s.zipkinSpansURL(), "application/json", []byte(zipkinJSON)); code != http.StatusAccepted {
				t.Fatalf("status %d %q", code, body)
			}
		}},
		{"jaeger thrift http", jaegerID(11), 3, func(t *testing.T) { sendThriftHTTP(t, s, lokiBatch(0, 11, start)) }},
		{"jaeger grpc", jaegerID(12), 3, func(t *testing.T) {
			if _, err := dialJaegerGRPC(t, s).PostSpans(context.Background(), &api_v2.PostSpansRequest{Batch: protoFromThrift(lokiBatch(0, 12, start))}); err != nil {
				t.Fatal(err)
			}
		}},
		{"udp compact", jaegerID(13), 3, func(t *testing.T) {
			sendUDP(t, s.jaegerUDPAddr(true), receivetest.JaegerAgentMessage(t, lokiBatch(0, 13, start), true))
		}},
		{"udp binary", jaegerID(14), 3, func(t *testing.T) {
			sendUDP(t, s.jaegerUDPAddr(false), receivetest.JaegerAgentMessage(t, lokiBatch(0, 14, start), false))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.send(t)
			if tr := awaitTrace(t, s, tc.id, tc.spans); len(tr.Spans) != tc.spans {
				t.Errorf("trace %s has %d spans, want %d", tc.id, len(tr.Spans), tc.spans)
			}
		})
	}
}

// jaegerID is the 32-hex trace ID of lokiBatch(0, low, …).
func jaegerID(low int64) string { return fmt.Sprintf("%032x", uint64(low)) }
