package zipkin

import (
	"testing"

	zipkinmodel "github.com/openzipkin/zipkin-go/model"
	"github.com/openzipkin/zipkin-go/proto/zipkin_proto3"
	"github.com/openzipkin/zipkin-go/reporter"
	"google.golang.org/protobuf/proto"

	"waymark/internal/receive/receivetest"
)

// zipkinSeeds are real encodings of a few spans by zipkin-go's own
// serializers.
func zipkinSeeds(f *testing.F, s reporter.SpanSerializer) [][]byte {
	parent := zipkinmodel.ID(1)
	spans := []*zipkinmodel.SpanModel{
		{SpanContext: zipkinmodel.SpanContext{TraceID: zipkinmodel.TraceID{Low: 0x463ac35c9f6413ad}, ID: 7}, Name: "get", Kind: zipkinmodel.Client,
			Timestamp: t0, Duration: 1500, LocalEndpoint: &zipkinmodel.Endpoint{ServiceName: "a"}, Tags: map[string]string{"error": "boom"},
			Annotations: []zipkinmodel.Annotation{{Timestamp: t0, Value: "ws"}}},
		{SpanContext: zipkinmodel.SpanContext{TraceID: zipkinmodel.TraceID{High: 1, Low: 2}, ID: 8, ParentID: &parent, Debug: true}, Name: "put",
			Kind: zipkinmodel.Server, Shared: true, Timestamp: t0, Duration: 10},
	}
	b, err := s.Serialize(spans)
	if err != nil {
		f.Fatal(err)
	}
	return [][]byte{b}
}

func FuzzDecodeV2JSON(f *testing.F) {
	for _, b := range zipkinSeeds(f, reporter.JSONSerializer{}) {
		f.Add(b)
	}
	f.Add([]byte(`[{"traceId":"463ac35c9f6413ad","id":"a2fb4a1d1a96d312","kind":"SERVER","name":"x","tags":{"w3c.tracestate":"a=b"}}]`))
	f.Add([]byte(`[null]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		spans, err := DecodeV2JSON(nil, b, false)
		if err == nil {
			for _, s := range spans {
				if s.Resource == nil || s.Scope == nil {
					t.Fatal("span without resource or scope")
				}
			}
		}
	})
}

// FuzzDecodeV2Proto checks DecodeV2Proto against zipkin-go's ParseSpans:
// where that accepts the input, DecodeV2Proto gives the same spans.
func FuzzDecodeV2Proto(f *testing.F) {
	for _, b := range zipkinSeeds(f, zipkin_proto3.SpanSerializer{}) {
		f.Add(b)
	}
	f.Add(envoyProto(f, true))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := DecodeV2Proto(nil, b, false)
		ref, rerr := zipkin_proto3.ParseSpans(b, false)
		if rerr != nil {
			return // 8-byte trace IDs and other inputs zipkin-go refuses
		}
		if err != nil {
			t.Fatalf("zipkin-go accepts what DecodeV2Proto refuses: %v", err)
		}
		// ParseSpans ignores the debug field; carry it over as the
		// decoder does.
		var list zipkin_proto3.ListOfSpans
		if err := proto.Unmarshal(b, &list); err != nil {
			t.Fatal(err)
		}
		for i, s := range list.GetSpans() {
			ref[i].Debug = s.GetDebug()
		}
		want, err := fromZipkin(nil, ref, false)
		if err != nil {
			t.Fatalf("translate zipkin-go's spans: %v", err)
		}
		if d := receivetest.Diff(want, got); d != "" {
			t.Fatal(d)
		}
	})
}

func FuzzDecodeV1(f *testing.F) {
	f.Add([]byte(v1JSON), false)
	f.Add(v1Thrift(f), true)
	f.Fuzz(func(t *testing.T, b []byte, thrift bool) {
		if thrift {
			_, _ = DecodeV1Thrift(nil, b)
		} else {
			_, _ = DecodeV1JSON(nil, b)
		}
	})
}
