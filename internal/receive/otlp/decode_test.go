package otlp

import (
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/protobuf/encoding/protowire"

	"waymark/internal/model"
	"waymark/internal/receive/receivetest"
)

// viaPdata decodes b the slow, reference way: pdata's request type (which
// also moves legacy instrumentation_library_spans), then SpansFromTraces.
func viaPdata(b []byte) ([]model.Span, error) {
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(b); err != nil {
		return nil, err
	}
	return model.SpansFromTraces(nil, req.Traces()), nil
}

func marshal(t testing.TB, td ptrace.Traces) []byte {
	t.Helper()
	var m ptrace.ProtoMarshaler
	b, err := m.MarshalTraces(td)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// richTraces covers every field and value type.
func richTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.SetSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
	rs.Resource().Attributes().PutStr("service.name", "checkout")
	rs.Resource().Attributes().PutInt("pid", 42)
	rs.Resource().SetDroppedAttributesCount(3)
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("net/http")
	ss.Scope().SetVersion("1.0")
	ss.Scope().Attributes().PutBool("scope.ok", true)
	ss.Scope().SetDroppedAttributesCount(1)
	s := ss.Spans().AppendEmpty()
	s.SetTraceID(pcommon.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36})
	s.SetSpanID(pcommon.SpanID{0, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7})
	s.SetParentSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
	s.TraceState().FromRaw("ot=th:8")
	s.SetFlags(0x301)
	s.SetName("GET /cart")
	s.SetKind(ptrace.SpanKindServer)
	s.SetStartTimestamp(1700000000000000000)
	s.SetEndTimestamp(1700000000120000000)
	s.Status().SetCode(ptrace.StatusCodeError)
	s.Status().SetMessage("boom")
	a := s.Attributes()
	a.PutStr("http.route", "/cart")
	a.PutInt("http.response.status_code", 500)
	a.PutDouble("ratio", 0.25)
	a.PutDouble("nan", math.NaN())
	a.PutBool("cached", false)
	a.PutEmptyBytes("raw").FromRaw([]byte{0, 1, 2, 0xff})
	a.PutEmpty("nothing")
	sl := a.PutEmptySlice("list")
	sl.AppendEmpty().SetStr("a<b>&c")
	sl.AppendEmpty().SetInt(7)
	sl.AppendEmpty().SetEmptyBytes().FromRaw([]byte("hi"))
	sl.AppendEmpty().SetEmptyBytes()
	sl.AppendEmpty()
	m := a.PutEmptyMap("map")
	m.PutStr("k", "v")
	m.PutEmptyMap("nested").PutEmptySlice("x").AppendEmpty().SetDouble(1.5)
	a.PutEmptySlice("nanlist").AppendEmpty().SetDouble(math.Inf(1))
	s.SetDroppedAttributesCount(2)
	ev := s.Events().AppendEmpty()
	ev.SetName("exception")
	ev.SetTimestamp(1700000000100000000)
	ev.Attributes().PutStr("exception.message", "boom")
	ev.SetDroppedAttributesCount(1)
	s.Events().AppendEmpty().SetName("bare")
	s.SetDroppedEventsCount(4)
	l := s.Links().AppendEmpty()
	l.SetTraceID(pcommon.TraceID{9: 1})
	l.SetSpanID(pcommon.SpanID{7: 1})
	l.TraceState().FromRaw("a=b")
	l.SetFlags(1)
	l.Attributes().PutStr("link.kind", "follows")
	l.SetDroppedAttributesCount(5)
	s.SetDroppedLinksCount(6)
	// A second span in the same scope, a second scope, a second resource.
	s2 := ss.Spans().AppendEmpty()
	s2.SetTraceID(s.TraceID())
	s2.SetSpanID(pcommon.SpanID{7: 9})
	s2.SetName("child")
	ss2 := rs.ScopeSpans().AppendEmpty()
	s3 := ss2.Spans().AppendEmpty()
	s3.SetTraceID(s.TraceID())
	s3.SetSpanID(pcommon.SpanID{0: 1})
	rs2 := td.ResourceSpans().AppendEmpty()
	rs2.Resource().Attributes().PutInt("service.name", 12)
	s4 := rs2.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s4.SetTraceID(pcommon.TraceID{15: 1})
	s4.SetSpanID(pcommon.SpanID{7: 2})
	s4.SetKind(ptrace.SpanKindConsumer)
	return td
}

// field appends a length-delimited field.
func field(b []byte, num protowire.Number, sub []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, sub)
}

func varintField(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

// spanBytes is a minimal valid span with the given extra fields.
func spanBytes(extra ...[]byte) []byte {
	s := field(nil, 1, make([]byte, 16))
	s[2] = 1
	s = field(s, 2, []byte{0, 0, 0, 0, 0, 0, 0, 1})
	for _, e := range extra {
		s = append(s, e...)
	}
	return s
}

// request wraps spans into one resource and scope.
func request(spans ...[]byte) []byte {
	var ss []byte
	for _, s := range spans {
		ss = field(ss, 2, s)
	}
	return field(nil, 1, field(nil, 2, ss))
}

func TestDecodeProtoMatchesPdata(t *testing.T) {
	unknown := protowire.AppendTag(nil, 99, protowire.Fixed32Type)
	unknown = protowire.AppendFixed32(unknown, 7)

	// Legacy instrumentation_library_spans (field 1000) of a resource.
	legacy := field(nil, 1000, field(nil, 2, spanBytes(field(nil, 5, []byte("legacy")))))
	both := append(field(nil, 2, field(nil, 2, spanBytes(field(nil, 5, []byte("new"))))), legacy...)

	// A status sent twice merges; an attribute value sent twice merges.
	status2 := append(field(nil, 15, varintField(nil, 3, 2)), field(nil, 15, field(nil, 2, []byte("msg")))...)
	kv := field(nil, 1, []byte("k"))
	kv = field(kv, 2, field(nil, 1, []byte("first")))
	kv = field(kv, 2, varintField(nil, 3, 9))

	// A resource whose service.name comes after the spans that use it.
	serviceKV := append(field(nil, 1, []byte("service.name")), field(nil, 2, field(nil, 1, []byte("late")))...)
	lateResource := field(nil, 1, field(nil, 1, serviceKV))

	cases := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"rich", marshal(t, richTraces())},
		{"workload", marshal(t, receivetest.WorkloadTraces(100, 7, false))},
		{"varied workload", marshal(t, receivetest.WorkloadTraces(100, 8, true))},
		{"unknown fields", request(spanBytes(unknown, varintField(nil, 97, 1), field(nil, 96, []byte("x"))))},
		{"legacy scope spans only", field(nil, 1, legacy)},
		{"legacy ignored beside scope spans", field(nil, 1, both)},
		{"kind out of range", request(spanBytes(varintField(nil, 6, 258)))},
		{"negative kind", request(spanBytes(varintField(nil, 6, math.MaxUint64)))},
		{"status code out of range", request(spanBytes(field(nil, 15, varintField(nil, 3, 3))))},
		{"status merged", request(spanBytes(status2))},
		{"value merged", request(spanBytes(field(nil, 9, kv)))},
		{"zero ids kept for validation", request(field(nil, 5, []byte("no ids")))},
		{"resource after scope spans", field(nil, 1, append(field(nil, 2, field(nil, 2, spanBytes())), lateResource...))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want, err := viaPdata(tc.b)
			if err != nil {
				t.Fatalf("pdata: %v", err)
			}
			got, err := DecodeProto(nil, tc.b)
			if err != nil {
				t.Fatalf("DecodeProto: %v", err)
			}
			if d := receivetest.Diff(want, got); d != "" {
				t.Fatal(d)
			}
		})
	}
}

func TestDecodeProtoSharesResourceAndScope(t *testing.T) {
	spans, err := DecodeProto(nil, marshal(t, richTraces()))
	if err != nil {
		t.Fatal(err)
	}
	if len(spans) != 4 {
		t.Fatalf("got %d spans, want 4", len(spans))
	}
	if spans[0].Resource != spans[1].Resource || spans[0].Scope != spans[1].Scope {
		t.Error("spans of one scope do not share resource and scope")
	}
	if spans[1].Resource != spans[2].Resource || spans[1].Scope == spans[2].Scope {
		t.Error("spans of two scopes of one resource: want shared resource, separate scopes")
	}
	if spans[2].Resource == spans[3].Resource {
		t.Error("spans of two resources share a resource")
	}
	if got := spans[0].ServiceName(); got != "checkout" {
		t.Errorf("service name %q, want checkout", got)
	}
	if got := spans[3].ServiceName(); got != "12" {
		t.Errorf("service name %q, want 12 (int rendered as text)", got)
	}
}

func TestDecodeProtoAttributesDoNotOverlap(t *testing.T) {
	spans, err := DecodeProto(nil, marshal(t, receivetest.WorkloadTraces(50, 1, false)))
	if err != nil {
		t.Fatal(err)
	}
	spans[0].Attributes = append(spans[0].Attributes, model.Attribute{Key: "added", Value: model.StringValue("x")})
	if spans[1].Attributes[0].Key != "http.request.method" {
		t.Fatalf("appending to span 0's attributes changed span 1: %+v", spans[1].Attributes[0])
	}
}

func TestDecodeProtoAppendsToDst(t *testing.T) {
	b := marshal(t, receivetest.WorkloadTraces(10, 1, false))
	dst := []model.Span{{Name: "already"}}
	got, err := DecodeProto(dst, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 11 || got[0].Name != "already" {
		t.Fatalf("got %d spans, first %q; want 11 after the existing one", len(got), got[0].Name)
	}
}

func TestDecodeProtoErrors(t *testing.T) {
	valid := marshal(t, richTraces())
	deep := field(nil, 1, []byte("k"))
	v := field(nil, 1, []byte("leaf"))
	for range maxValueDepth + 2 {
		v = field(nil, 5, field(nil, 1, v))
	}
	deep = field(deep, 2, v)

	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"truncated", valid[:len(valid)-3], "unexpected EOF"},
		{"truncated varint", []byte{0x0a, 0x80}, "unexpected EOF"},
		{"varint overflow", []byte{0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, "overflows"},
		{"field zero", []byte{0x00, 0x01}, "illegal field number"},
		{"illegal wire type", []byte{0x17}, "illegal wire type"},
		{"group", []byte{0x13, 0x14}, "group"},
		{"wrong wire type for resource spans", varintField(nil, 1, 1), "wire type"},
		{"short trace id", request(field(nil, 1, []byte{1, 2, 3})), "trace id must be 16 bytes"},
		{"long span id", request(field(nil, 2, make([]byte, 9))), "span id must be 8 bytes"},
		{"short parent id", request(spanBytes(field(nil, 4, []byte{1}))), "span id must be 8 bytes"},
		{"short link trace id", request(spanBytes(field(nil, 13, field(nil, 1, []byte{1})))), "trace id must be 16 bytes"},
		{"kind as bytes", request(spanBytes(field(nil, 6, []byte{1}))), "field kind has wire type 2"},
		{"start as varint", request(spanBytes(varintField(nil, 7, 1))), "start_time_unix_nano"},
		{"flags as varint", request(spanBytes(varintField(nil, 16, 1))), "flags"},
		{"nested too deep", request(spanBytes(field(nil, 9, deep))), "nests deeper"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeProto(nil, tc.b)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := DecodeProto(nil, valid[:len(valid)-3]); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated input: %v does not wrap io.ErrUnexpectedEOF", err)
	}
}

func TestDecodeJSON(t *testing.T) {
	// The example of the OTLP/JSON rules, with an enum name and a number
	// where a string is usual.
	const body = `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},
  "scopeSpans":[{"scope":{"name":"net/http"},"spans":[{"traceId":"4BF92F3577B34DA6A3CE929D0E0E4736",
  "spanId":"00f067aa0ba902b7","parentSpanId":"","name":"GET /cart","kind":"SPAN_KIND_SERVER","startTimeUnixNano":"1700000000000000000",
  "endTimeUnixNano":1700000000120000000,"status":{"code":2,"message":"boom"},"unknownField":true,
  "attributes":[{"key":"http.response.status_code","value":{"intValue":"500"}},{"key":"b","value":{"bytesValue":"AAEC"}}]}]}]}]}`
	spans, err := DecodeJSON(nil, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(spans) != 1 {
		t.Fatalf("got %d spans", len(spans))
	}
	s := spans[0]
	checks := []struct {
		name      string
		got, want any
	}{
		{"trace id", s.TraceID.String(), "4bf92f3577b34da6a3ce929d0e0e4736"},
		{"span id", s.SpanID.String(), "00f067aa0ba902b7"},
		{"root", s.IsRoot(), true},
		{"kind", s.Kind, model.KindServer},
		{"start", s.StartTimeUnixNano, uint64(1700000000000000000)},
		{"end", s.EndTimeUnixNano, uint64(1700000000120000000)},
		{"status", s.StatusCode, model.StatusError},
		{"message", s.StatusMessage, "boom"},
		{"service", s.ServiceName(), "checkout"},
		{"scope", s.Scope.Name, "net/http"},
		{"int attribute", s.Attributes[0].Value, model.IntValue(500)},
		{"bytes attribute", s.Attributes[1].Value, model.Value{Type: model.ValueBytes, Str: "\x00\x01\x02"}},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}

	for _, bad := range []string{`{"resourceSpans":[{`, `[1,2]`, `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"abc"}]}]}]}`} {
		if _, err := DecodeJSON(nil, []byte(bad)); err == nil {
			t.Errorf("DecodeJSON(%q) succeeded", bad)
		}
	}
}

func TestDecodeProtoReportsLegacySpans(t *testing.T) {
	legacy := field(nil, 1, field(nil, 1000, field(nil, 2, spanBytes())))
	ignored := field(nil, 1, append(field(nil, 2, field(nil, 2, spanBytes())), field(nil, 1000, field(nil, 2, spanBytes()))...))
	cases := []struct {
		name string
		b    []byte
		want bool
	}{
		{"current", marshal(t, receivetest.WorkloadTraces(3, 1, false)), false},
		{"legacy only", legacy, true},
		{"legacy beside current", ignored, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, got, err := decodeProto(nil, tc.b)
			if err != nil || got != tc.want {
				t.Fatalf("legacy %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestUnknownEnumValues(t *testing.T) {
	b := request(spanBytes(varintField(nil, 6, 258), field(nil, 15, varintField(nil, 3, 258))))
	for name, decode := range map[string]func([]byte) ([]model.Span, error){
		"DecodeProto": func(b []byte) ([]model.Span, error) { return DecodeProto(nil, b) },
		"pdata":       viaPdata,
	} {
		spans, err := decode(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if spans[0].Kind != model.KindUnspecified || spans[0].StatusCode != model.StatusUnset {
			t.Errorf("%s: kind %v, status %v for enum value 258; want unspecified, unset", name, spans[0].Kind, spans[0].StatusCode)
		}
	}
}
