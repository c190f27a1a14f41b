package jaegergrpc

import (
	"testing"
	"time"

	"github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
)

// FuzzFindTracesRequest decodes arbitrary bytes as a FindTraces request, as
// the service does, and turns it into a search: bad input yields an error,
// never a panic, and an accepted search is within bounds.
func FuzzFindTracesRequest(f *testing.F) {
	var c codec
	seeds := []*api_v2.FindTracesRequest{
		{Query: &api_v2.TraceQueryParameters{ServiceName: "cart", OperationName: "select", Tags: map[string]string{"http.method": "GET"},
			StartTimeMin: time.Unix(1_700_000_000, 0), StartTimeMax: time.Unix(1_700_003_600, 0),
			DurationMin: time.Millisecond, DurationMax: time.Second, SearchDepth: 20}},
		{Query: &api_v2.TraceQueryParameters{}},
		{Query: &api_v2.TraceQueryParameters{SearchDepth: -5, DurationMin: -1}},
		{},
	}
	for _, s := range seeds {
		b, err := c.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0x0a, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		var req api_v2.FindTracesRequest
		if err := decode(&rawMessage{b: b}, &req, "FindTraces"); err != nil {
			return
		}
		sr, err := searchRequest(req.GetQuery())
		if err != nil {
			return
		}
		if sr.Limit <= 0 || sr.Limit > MaxNumTraces {
			t.Fatalf("limit %d accepted", sr.Limit)
		}
		if sr.EndUnixNano != 0 && sr.StartUnixNano > sr.EndUnixNano {
			t.Fatalf("reversed window accepted: %d > %d", sr.StartUnixNano, sr.EndUnixNano)
		}
		if err := sr.Compile(); err != nil {
			t.Fatalf("accepted search does not compile: %v", err)
		}
	})
}

// FuzzGetTraceRequest decodes arbitrary bytes as a GetTrace request and
// converts its trace ID.
func FuzzGetTraceRequest(f *testing.F) {
	var c codec
	b, err := c.Marshal(&api_v2.GetTraceRequest{TraceID: jaegerTraceID("4bf92f3577b34da6a3ce929d0e0e4736"), StartTime: time.Unix(1, 0)})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte{0x0a, 0x08, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Fuzz(func(t *testing.T, b []byte) {
		var req api_v2.GetTraceRequest
		if err := decode(&rawMessage{b: b}, &req, "GetTrace"); err != nil {
			return
		}
		id := traceIDFromJaeger(req.TraceID)
		if id.Low64() != req.TraceID.Low {
			t.Fatalf("low half %x, want %x", id.Low64(), req.TraceID.Low)
		}
		_ = unixNano(req.StartTime)
	})
}
