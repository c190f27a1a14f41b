package zipkinapi

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/translator/zipkin/zipkinv2"

	"waymark/internal/model"
)

// zSpan is the Zipkin v2 span JSON, decoded strictly to check field names
// and types.
type zSpan struct {
	TraceID        string            `json:"traceId"`
	ParentID       string            `json:"parentId"`
	ID             string            `json:"id"`
	Kind           string            `json:"kind"`
	Name           string            `json:"name"`
	Timestamp      uint64            `json:"timestamp"`
	Duration       uint64            `json:"duration"`
	LocalEndpoint  *zEndpoint        `json:"localEndpoint"`
	RemoteEndpoint *zEndpoint        `json:"remoteEndpoint"`
	Annotations    []zAnnotation     `json:"annotations"`
	Tags           map[string]string `json:"tags"`
	Shared         bool              `json:"shared"`
	Debug          bool              `json:"debug"`
}

type zEndpoint struct {
	ServiceName string `json:"serviceName"`
	IPv4        string `json:"ipv4"`
	IPv6        string `json:"ipv6"`
	Port        int    `json:"port"`
}

type zAnnotation struct {
	Timestamp uint64 `json:"timestamp"`
	Value     string `json:"value"`
}

func decodeStrict(t *testing.T, body []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
}

func encodeTrace(spans []model.Span) []byte {
	var e encoder
	return e.appendTrace(nil, spans)
}

func TestEncodeSpanFields(t *testing.T) {
	a, b := fixture()
	var got []zSpan
	decodeStrict(t, encodeTrace(a), &got)
	if len(got) != 4 {
		t.Fatalf("got %d spans, want 4", len(got))
	}
	var gotB []zSpan
	decodeStrict(t, encodeTrace(b), &gotB)

	tests := []struct {
		name string
		got  zSpan
		want zSpan
	}{
		{
			name: "server root with local endpoint and ok status",
			got:  got[0],
			want: zSpan{
				TraceID: traceA, ID: "0000000000000001", Kind: "SERVER", Name: "get /cart",
				Timestamp: t0 / us, Duration: 50_000,
				LocalEndpoint: &zEndpoint{ServiceName: "frontend", IPv4: "10.0.0.1", Port: 8080},
				Tags: map[string]string{
					"host.name": "web-1", "http.method": "GET", "http.status_code": "200",
					"otel.scope.name": "io.opentelemetry.http", "otel.scope.version": "1.2.0",
					"otel.status_code": "STATUS_CODE_OK",
				},
			},
		},
		{
			name: "client with remote endpoint from peer.service and network.peer",
			got:  got[1],
			want: zSpan{
				TraceID: traceA, ParentID: "0000000000000001", ID: "0000000000000002", Kind: "CLIENT", Name: "get /items",
				Timestamp: (t0 + ms) / us, Duration: 39_000,
				LocalEndpoint:  &zEndpoint{ServiceName: "frontend"},
				RemoteEndpoint: &zEndpoint{ServiceName: "cart", IPv6: "2001:db8::1", Port: 9000},
				Tags: map[string]string{
					"host.name": "web-1", "otel.scope.name": "io.opentelemetry.http", "otel.scope.version": "1.2.0",
				},
			},
		},
		{
			name: "shared server half with error and annotations",
			got:  got[2],
			want: zSpan{
				TraceID: traceA, ParentID: "0000000000000001", ID: "0000000000000002", Kind: "SERVER", Name: "get /items",
				Timestamp: (t0 + 2*ms) / us, Duration: 37_000,
				LocalEndpoint: &zEndpoint{ServiceName: "cart"},
				Annotations: []zAnnotation{
					{Timestamp: (t0 + 3*ms) / us, Value: "retried"},
					{Timestamp: (t0 + 4*ms) / us, Value: `exception|{"attempt":2,"exception.type":"OutOfStock"}|0`},
				},
				Tags: map[string]string{
					"error": "out of stock", "otel.status_code": "STATUS_CODE_ERROR", "otel.status_description": "out of stock",
				},
				Shared: true,
			},
		},
		{
			name: "client named by server.address, sub-microsecond duration, trace state",
			got:  got[3],
			want: zSpan{
				TraceID: traceA, ParentID: "0000000000000002", ID: "0000000000000003", Kind: "CLIENT", Name: "select",
				Timestamp: (t0 + 5*ms) / us, Duration: 1,
				LocalEndpoint:  &zEndpoint{ServiceName: "cart"},
				RemoteEndpoint: &zEndpoint{ServiceName: "mysql"},
				Tags: map[string]string{
					"server.address": "mysql", "db.statement": "select \"x\"\n", "w3c.tracestate": "rojo=00f067aa0ba902b7",
				},
			},
		},
		{
			name: "64-bit trace ID printed as 16 hex, internal span has no kind",
			got:  gotB[0],
			want: zSpan{
				TraceID: traceB, ID: "00000000000000b1", Name: "checkout",
				Timestamp: (t0 + 10*ms) / us, Duration: 10_000,
				LocalEndpoint: &zEndpoint{ServiceName: "cart"},
				Tags:          map[string]string{"retried": "true"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, _ := json.Marshal(tt.got)
			w, _ := json.Marshal(tt.want)
			if !bytes.Equal(g, w) {
				t.Errorf("span\n got %s\nwant %s", g, w)
			}
		})
	}
}

// TestEncodeRoundTrip reads the encoder's output back with the OpenTelemetry
// Zipkin v2 JSON translator, as a Zipkin receiver would, and checks that the
// spans come back as they were.
func TestEncodeRoundTrip(t *testing.T) {
	a, b := fixture()
	tests := []struct {
		name  string
		spans []model.Span
	}{
		{"call chain", a},
		{"64-bit trace", b},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := slices.Clone(tt.spans)
			body := encodeTrace(tt.spans)
			td, err := zipkinv2.NewJSONTracesUnmarshaler(false).UnmarshalTraces(body)
			if err != nil {
				t.Fatalf("unmarshal %s: %v", body, err)
			}
			got := model.SpansFromTraces(nil, td)
			if len(got) != len(want) {
				t.Fatalf("got %d spans back, want %d", len(got), len(want))
			}
			for i := range want {
				w := &want[i]
				g := findSpan(got, w.SpanID, w.Kind)
				if g == nil {
					t.Fatalf("span %s (%s) not read back", w.SpanID, w.Kind)
				}
				checkRoundTrip(t, w, g)
			}
		})
	}
}

func findSpan(spans []model.Span, id model.SpanID, kind model.SpanKind) *model.Span {
	for i := range spans {
		k := spans[i].Kind
		if k == model.KindUnspecified {
			k = model.KindInternal // Zipkin has no internal kind
		}
		if spans[i].SpanID == id && k == kind {
			return &spans[i]
		}
	}
	return nil
}

func checkRoundTrip(t *testing.T, w, g *model.Span) {
	t.Helper()
	if g.TraceID != w.TraceID || g.ParentSpanID != w.ParentSpanID || g.Name != w.Name {
		t.Errorf("ids/name: got %s/%s/%q, want %s/%s/%q", g.TraceID, g.ParentSpanID, g.Name, w.TraceID, w.ParentSpanID, w.Name)
	}
	if g.StartTimeUnixNano != w.StartTimeUnixNano/us*us {
		t.Errorf("start: got %d, want %d", g.StartTimeUnixNano, w.StartTimeUnixNano/us*us)
	}
	if wd := max(us, w.DurationNano()/us*us); g.DurationNano() != wd {
		t.Errorf("duration: got %d, want %d", g.DurationNano(), wd)
	}
	if g.ServiceName() != w.ServiceName() {
		t.Errorf("service: got %q, want %q", g.ServiceName(), w.ServiceName())
	}
	if g.StatusCode != w.StatusCode || g.StatusMessage != w.StatusMessage {
		t.Errorf("status: got %v %q, want %v %q", g.StatusCode, g.StatusMessage, w.StatusCode, w.StatusMessage)
	}
	if g.TraceState != w.TraceState {
		t.Errorf("trace state: got %q, want %q", g.TraceState, w.TraceState)
	}
	gotAttrs := canonicalAttrs(g.Attributes)
	wantAttrs := canonicalAttrs(w.Attributes)
	// Known, documented additions: the error tag, and a remote service name
	// taken from server.address comes back as peer.service.
	if w.StatusCode == model.StatusError {
		wantAttrs["error"] = w.StatusMessage
	}
	if v, ok := wantAttrs["server.address"]; ok && w.Kind == model.KindClient {
		wantAttrs["peer.service"] = v
	}
	if !maps.Equal(gotAttrs, wantAttrs) {
		t.Errorf("attributes: got %v, want %v", gotAttrs, wantAttrs)
	}
	if len(g.Events) != len(w.Events) {
		t.Fatalf("events: got %d, want %d", len(g.Events), len(w.Events))
	}
	for i := range w.Events {
		ge, we := g.Events[i], w.Events[i]
		if ge.Name != we.Name || ge.TimeUnixNano != we.TimeUnixNano/us*us ||
			!maps.Equal(stringAttrs(ge.Attributes), stringAttrs(we.Attributes)) {
			t.Errorf("event %d: got %+v, want %+v", i, ge, we)
		}
	}
}

// canonicalAttrs returns attributes as text, each key under the first of
// its names: the translator may write the older or the newer semantic
// convention name of an endpoint field or of the HTTP status code.
func canonicalAttrs(attrs model.Attributes) map[string]string {
	m := make(map[string]string, len(attrs))
	for _, a := range attrs {
		k := a.Key
		for _, keys := range [][]string{localIPKeys, localPortKeys, remoteSvcKeys, remoteIPKeys, remotePortKeys, {"http.status_code", "http.response.status_code"}} {
			if slices.Contains(keys, k) {
				k = keys[0]
			}
		}
		m[k] = a.Value.AsString()
	}
	return m
}

func stringAttrs(attrs model.Attributes) map[string]string {
	m := make(map[string]string, len(attrs))
	for _, a := range attrs {
		m[a.Key] = a.Value.AsString()
	}
	return m
}

func TestEncodeTracesShape(t *testing.T) {
	a, b := fixture()
	tests := []struct {
		name   string
		traces [][]model.Span
		want   string
	}{
		{"no traces", nil, `[]`},
		{"empty trace", [][]model.Span{{}}, `[[]]`},
		{"event without a time is left out", [][]model.Span{{{
			TraceID: mustTraceID(traceB), SpanID: mustSpanID("00000000000000b2"), Name: "x",
			Events: []model.Event{{Name: "untimed"}, {TimeUnixNano: t0, Name: "timed"}},
		}}}, `[[{"traceId":"463ac35c9f6413ad","id":"00000000000000b2","name":"x","annotations":[{"timestamp":1700000000000000,"value":"timed"}]}]]`},
		{"one span", [][]model.Span{b}, `[[{"traceId":"463ac35c9f6413ad","id":"00000000000000b1","name":"checkout","timestamp":1700000000010000,"duration":10000,"localEndpoint":{"serviceName":"cart"},"tags":{"retried":"true"}}]]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e encoder
			if got := string(e.appendTraces(nil, tt.traces)); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	var e encoder
	var traces [][][]zSpan
	decodeStrict(t, []byte("["+string(e.appendTraces(nil, [][]model.Span{a, b}))+"]"), &traces)
	if len(traces[0]) != 2 || len(traces[0][0]) != 4 || len(traces[0][1]) != 1 {
		t.Errorf("shape of two traces: got %d traces", len(traces[0]))
	}
}
