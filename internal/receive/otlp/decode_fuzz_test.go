package otlp

import (
	"errors"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"waymark/internal/receive/receivetest"
)

// FuzzDecodeProto checks DecodeProto against pdata: both accept the same
// inputs (DecodeProto also refuses groups and over-deep values) and give
// the same spans.
func FuzzDecodeProto(f *testing.F) {
	f.Add(marshal(f, richTraces()))
	f.Add(marshal(f, receivetest.WorkloadTraces(10, 1, true)))
	f.Add(request(spanBytes(varintField(nil, 6, 258))))
	f.Add(field(nil, 1, field(nil, 1000, field(nil, 2, spanBytes()))))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := DecodeProto(nil, b)
		want, werr := viaPdata(b)
		switch {
		case err != nil && (errors.Is(err, errGroup) || errors.Is(err, errTooDeep)):
		case err != nil && werr == nil:
			t.Fatalf("pdata accepts what DecodeProto refuses: %v", err)
		case err == nil && werr != nil:
			t.Fatalf("DecodeProto accepts what pdata refuses: %v", werr)
		case err == nil:
			if d := receivetest.Diff(want, got); d != "" {
				t.Fatal(d)
			}
		}
	})
}

// FuzzDecodeJSON checks that DecodeJSON never panics, and that what it
// accepts survives a trip through protobuf and DecodeProto unchanged.
func FuzzDecodeJSON(f *testing.F) {
	var m ptrace.JSONMarshaler
	for _, td := range []ptrace.Traces{richTraces(), receivetest.WorkloadTraces(5, 1, true)} {
		b, err := m.MarshalTraces(td)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},
  "scopeSpans":[{"scope":{"name":"net/http"},"spans":[{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736",
  "spanId":"00f067aa0ba902b7","name":"GET /cart","kind":2,"startTimeUnixNano":"1700000000000000000",
  "endTimeUnixNano":"1700000000120000000","status":{"code":2,"message":"boom"},
  "attributes":[{"key":"http.response.status_code","value":{"intValue":"500"}}]}]}]}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		spans, err := DecodeJSON(nil, b)
		if err != nil {
			return
		}
		var u ptrace.JSONUnmarshaler
		td, err := u.UnmarshalTraces(b)
		if err != nil {
			t.Fatalf("second decoding fails: %v", err)
		}
		again, err := DecodeProto(nil, marshal(t, td))
		if err != nil {
			t.Fatalf("protobuf of accepted JSON: %v", err)
		}
		if d := receivetest.Diff(spans, again); d != "" {
			t.Fatal(d)
		}
	})
}
