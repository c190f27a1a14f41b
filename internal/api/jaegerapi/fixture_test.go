package jaegerapi

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"waymark/internal/model"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// Times of the fixture trace: 2023-11-14T22:13:20Z and later, in ns.
const (
	t0 = uint64(1_700_000_000_000_000_000)
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
	fixtureTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	otherTraceID   = "00000000000000000000000000000abc" // a 64-bit ID
)

// fixtureTrace is a representative trace: two services, a process repeated
// under another resource pointer, every attribute type, span kinds, an OK and
// an error status, events, links (one marked child_of), trace state, an
// orphan and dropped counts.
func fixtureTrace() []model.Span {
	tid := mustTraceID(fixtureTraceID)
	frontend := &model.Resource{ServiceName: "frontend", Attributes: model.Attributes{
		{Key: "service.name", Value: model.StringValue("frontend")},
		{Key: "host.name", Value: model.StringValue("node-7")},
		{Key: "process.pid", Value: model.IntValue(42)},
	}}
	frontendAgain := &model.Resource{ServiceName: "frontend", Attributes: frontend.Attributes}
	cart := &model.Resource{ServiceName: "cart", Attributes: model.Attributes{
		{Key: "service.name", Value: model.StringValue("cart")},
	}}
	scope := &model.Scope{Name: "io.opentelemetry.http", Version: "1.2.3"}
	return []model.Span{
		{
			TraceID: tid, SpanID: mustSpanID("00f067aa0ba902b7"), Flags: 0x301,
			Name: "GET /cart", Kind: model.KindServer,
			StartTimeUnixNano: t0, EndTimeUnixNano: t0 + 120*ms,
			Attributes: model.Attributes{
				{Key: "http.method", Value: model.StringValue("GET")},
				{Key: "http.status_code", Value: model.IntValue(200)},
				{Key: "big", Value: model.IntValue(9007199254740993)},
				{Key: "small", Value: model.IntValue(-9007199254740992)},
				{Key: "edge", Value: model.IntValue(9007199254740991)},
				{Key: "ratio", Value: model.DoubleValue(0.25)},
				{Key: "cached", Value: model.BoolValue(true)},
				{Key: "blob", Value: model.Value{Type: model.ValueBytes, Str: "\x00\x01\xff"}},
				{Key: "tags", Value: model.Value{Type: model.ValueArray, Str: `["a","b"]`}},
				{Key: "meta", Value: model.Value{Type: model.ValueMap, Str: `{"k":"v"}`}},
				{Key: "quote", Value: model.StringValue("say \"hi\"\n\t<ok>")},
			},
			Events: []model.Event{
				{TimeUnixNano: t0 + 50*ms, Name: "retry", Attributes: model.Attributes{{Key: "attempt", Value: model.IntValue(2)}}},
				{TimeUnixNano: t0 + 60*ms, Name: "ignored", Attributes: model.Attributes{{Key: "event", Value: model.StringValue("named by attribute")}}},
			},
			Resource: frontend, Scope: scope,
		},
		{
			TraceID: tid, SpanID: mustSpanID("53995c3f42cd8ad8"), ParentSpanID: mustSpanID("00f067aa0ba902b7"),
			TraceState: "vendor=x", Flags: 1,
			Name: "charge", Kind: model.KindClient,
			StartTimeUnixNano: t0 + 10*ms + 1500, EndTimeUnixNano: t0 + 90*ms + 999,
			StatusCode: model.StatusError, StatusMessage: "card declined",
			Links: []model.Link{
				{TraceID: mustTraceID(otherTraceID), SpanID: mustSpanID("1111111111111111")},
				{TraceID: tid, SpanID: mustSpanID("2222222222222222"), Attributes: model.Attributes{{Key: "opentracing.ref_type", Value: model.StringValue("child_of")}}},
			},
			Resource: cart,
		},
		{
			TraceID: tid, SpanID: mustSpanID("3333333333333333"), ParentSpanID: mustSpanID("9999999999999999"),
			Name: "async", Kind: model.KindInternal,
			StartTimeUnixNano: t0 + 100*ms, EndTimeUnixNano: t0 + 100*ms,
			StatusCode: model.StatusOK, DroppedAttributesCount: 2,
			Resource: frontendAgain, Scope: scope,
		},
	}
}

// otherTrace is a single-span trace of another service with a 64-bit ID,
// older than the fixture trace.
func otherTrace() []model.Span {
	res := &model.Resource{ServiceName: "batch", Attributes: model.Attributes{{Key: "service.name", Value: model.StringValue("batch")}}}
	return []model.Span{{
		TraceID: mustTraceID(otherTraceID), SpanID: mustSpanID("1111111111111111"),
		Name: "nightly", Kind: model.KindUnspecified,
		StartTimeUnixNano: t0 - 3600_000*ms, EndTimeUnixNano: t0 - 3600_000*ms + 5000*ms,
		Resource: res,
	}}
}

// checkGolden compares got, indented, with testdata/name, or rewrites the
// file with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, got, "", "  "); err != nil {
		t.Fatalf("output is not valid JSON: %v\n%s", err, got)
	}
	buf.WriteByte('\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("%s differs from the golden file; got:\n%s", name, buf.Bytes())
	}
}

// decode parses JSON into generic values, keeping numbers exact.
func decode(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, b)
	}
	return v
}
