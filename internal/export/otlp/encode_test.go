package otlp

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"waymark/internal/model"
)

// viaPDataJSON is the OTLP/JSON of spans as the model's pdata conversion
// builds them: the reference the direct encoder must match.
func viaPDataJSON(t *testing.T, spans []model.Span) string {
	t.Helper()
	b, err := ptraceotlp.NewExportRequestFromTraces(model.TracesFromSpans(spans)).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// directJSON encodes spans with the direct encoder, decodes the bytes with
// pdata and returns their OTLP/JSON.
func directJSON(t *testing.T, spans []model.Span) string {
	t.Helper()
	if !encodable(spans) {
		t.Fatal("spans not encodable directly")
	}
	enc := requestEncoder{}
	n := enc.size(spans)
	b := enc.appendRequest(nil, spans)
	if len(b) != n {
		t.Fatalf("encoded %d bytes, sized %d", len(b), n)
	}
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(b); err != nil {
		t.Fatalf("direct encoding does not decode: %v", err)
	}
	out, err := req.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestDirectEncodingMatchesPData(t *testing.T) {
	resA := &model.Resource{ServiceName: "cart", Attributes: model.Attributes{{Key: "service.name", Value: model.StringValue("cart")}}, DroppedAttributesCount: 2}
	resB := &model.Resource{ServiceName: "db"}
	scope1 := &model.Scope{Name: "net/http", Version: "1.2", Attributes: model.Attributes{{Key: "k", Value: model.IntValue(-5)}}, DroppedAttributesCount: 1}
	scope2 := &model.Scope{Name: "sql"}
	full := model.Span{
		TraceID: model.TraceID{0x4b, 0xf9, 15: 0x36}, SpanID: model.SpanID{1, 2, 3}, ParentSpanID: model.SpanID{9},
		TraceState: "ot=th:8", Flags: 0x301, Name: "GET /cart", Kind: model.KindClient,
		StartTimeUnixNano: 1_700_000_000_000_000_000, EndTimeUnixNano: 1_700_000_000_500_000_000,
		StatusCode: model.StatusError, StatusMessage: "boom",
		Attributes: model.Attributes{
			{Key: "s", Value: model.StringValue("v")}, {Key: "empty", Value: model.StringValue("")},
			{Key: "t", Value: model.BoolValue(true)}, {Key: "f", Value: model.BoolValue(false)},
			{Key: "i", Value: model.IntValue(math.MinInt64)}, {Key: "z", Value: model.IntValue(0)},
			{Key: "d", Value: model.DoubleValue(-2.5)}, {Key: "b", Value: model.Value{Type: model.ValueBytes, Str: "\x00\xff"}},
			{Key: "none"},
		},
		DroppedAttributesCount: 3, DroppedEventsCount: 4, DroppedLinksCount: 5,
		Events: []model.Event{{TimeUnixNano: 7, Name: "exception", Attributes: model.Attributes{{Key: "x", Value: model.StringValue("y")}}, DroppedAttributesCount: 1}, {}},
		Links:  []model.Link{{TraceID: model.TraceID{1}, SpanID: model.SpanID{2}, TraceState: "a=b", Flags: 1, Attributes: model.Attributes{{Key: "l", Value: model.IntValue(1)}}, DroppedAttributesCount: 6}},
	}
	tests := []struct {
		name  string
		spans []model.Span
	}{
		{"every field", []model.Span{withRS(full, resA, scope1)}},
		{"grouping", []model.Span{withRS(full, resA, scope1), withRS(full, resA, scope1), withRS(full, resA, scope2),
			withRS(full, resB, scope2), withRS(full, resA, scope1)}},
		{"nil resource and scope", []model.Span{{TraceID: model.TraceID{1}, SpanID: model.SpanID{1}}}},
		{"minimal spans", []model.Span{withRS(model.Span{TraceID: model.TraceID{2}, SpanID: model.SpanID{3}}, resB, scope2)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := directJSON(t, tt.spans), viaPDataJSON(t, tt.spans); got != want {
				t.Fatalf("direct encoding differs from pdata:\n got %s\nwant %s", got, want)
			}
		})
	}
}

func withRS(s model.Span, r *model.Resource, sc *model.Scope) model.Span {
	s.Resource, s.Scope = r, sc
	return s
}

// Random spans: the direct encoding decodes to what pdata builds.
func TestDirectEncodingRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	res := []*model.Resource{{ServiceName: "a"}, {Attributes: model.Attributes{{Key: "r", Value: model.IntValue(1)}}}, nil}
	scopes := []*model.Scope{{Name: "x"}, nil}
	str := func() string {
		b := make([]byte, rng.IntN(300))
		for i := range b {
			b[i] = byte('a' + rng.IntN(26))
		}
		return string(b)
	}
	for round := 0; round < 50; round++ {
		spans := make([]model.Span, 1+rng.IntN(20))
		for i := range spans {
			var tid model.TraceID
			binary.BigEndian.PutUint64(tid[8:], rng.Uint64())
			s := model.Span{TraceID: tid, SpanID: model.SpanID{byte(i + 1)}, Name: str(), Kind: model.SpanKind(rng.IntN(6)),
				StartTimeUnixNano: rng.Uint64(), EndTimeUnixNano: rng.Uint64(), Flags: rng.Uint32N(3),
				Resource: res[rng.IntN(len(res))], Scope: scopes[rng.IntN(len(scopes))]}
			for j := rng.IntN(5); j > 0; j-- {
				s.Attributes = append(s.Attributes, model.Attribute{Key: str(), Value: model.IntValue(rng.Int64() - math.MaxInt64/2)})
			}
			spans[i] = s
		}
		if got, want := directJSON(t, spans), viaPDataJSON(t, spans); got != want {
			t.Fatalf("round %d: direct encoding differs from pdata", round)
		}
	}
}

func TestArrayValuesTakeThePDataPath(t *testing.T) {
	spans := []model.Span{{TraceID: model.TraceID{1}, Attributes: model.Attributes{{Key: "a", Value: model.Value{Type: model.ValueArray, Str: `["x"]`}}}}}
	if encodable(spans) {
		t.Fatal("array values reported as directly encodable")
	}
	item, err := encodeItem("acme", model.Batch{Spans: spans})
	if err != nil {
		t.Fatal(err)
	}
	qi, err := DecodeQueueItem(item)
	if err != nil {
		t.Fatal(err)
	}
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(qi.Request); err != nil {
		t.Fatal(err)
	}
	v, ok := req.Traces().ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().Get("a")
	if !ok || v.Slice().Len() != 1 {
		t.Errorf("array attribute lost: %v", v.AsString())
	}
}
