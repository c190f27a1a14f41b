package jaegerapi

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"waymark/internal/api/jsonenc"
	"waymark/internal/model"
)

func TestAppendTraceJSONGolden(t *testing.T) {
	checkGolden(t, "jaeger_trace.golden.json", AppendTraceJSON(nil, fixtureTrace()))
}

// uiTrace mirrors the Jaeger UI trace JSON for assertions.
type uiTrace struct {
	TraceID string `json:"traceID"`
	Spans   []struct {
		TraceID       string `json:"traceID"`
		SpanID        string `json:"spanID"`
		Flags         *int   `json:"flags"`
		OperationName string `json:"operationName"`
		References    []struct {
			RefType string `json:"refType"`
			TraceID string `json:"traceID"`
			SpanID  string `json:"spanID"`
		} `json:"references"`
		StartTime uint64    `json:"startTime"`
		Duration  uint64    `json:"duration"`
		Tags      []uiTag   `json:"tags"`
		Logs      []uiLog   `json:"logs"`
		ProcessID string    `json:"processID"`
		Warnings  *[]string `json:"warnings"`
	} `json:"spans"`
	Processes map[string]struct {
		ServiceName string  `json:"serviceName"`
		Tags        []uiTag `json:"tags"`
	} `json:"processes"`
	Warnings *[]string `json:"warnings"`
}

type uiTag struct {
	Key   string          `json:"key"`
	Type  string          `json:"type"`
	Value json.RawMessage `json:"value"`
}

type uiLog struct {
	Timestamp uint64  `json:"timestamp"`
	Fields    []uiTag `json:"fields"`
}

func tagMap(tags []uiTag) map[string]uiTag {
	m := make(map[string]uiTag, len(tags))
	for _, t := range tags {
		m[t.Key] = t
	}
	return m
}

func TestAppendTraceJSONShape(t *testing.T) {
	var tr uiTrace
	if err := json.Unmarshal(AppendTraceJSON(nil, fixtureTrace()), &tr); err != nil {
		t.Fatal(err)
	}
	if tr.TraceID != fixtureTraceID || tr.Warnings != nil || len(tr.Spans) != 3 {
		t.Fatalf("trace header: id %q, warnings %v, %d spans", tr.TraceID, tr.Warnings, len(tr.Spans))
	}
	root, child, orphan := tr.Spans[0], tr.Spans[1], tr.Spans[2]

	t.Run("units are microseconds", func(t *testing.T) {
		if root.StartTime != 1_700_000_000_000_000 || root.Duration != 120_000 {
			t.Errorf("root startTime %d duration %d, want 1700000000000000 and 120000", root.StartTime, root.Duration)
		}
		// Start and duration are truncated separately, as in Jaeger.
		if child.StartTime != 1_700_000_000_010_001 || child.Duration != 79_999 {
			t.Errorf("child startTime %d duration %d", child.StartTime, child.Duration)
		}
		if root.Logs[0].Timestamp != 1_700_000_000_050_000 {
			t.Errorf("log timestamp %d, want 1700000000050000", root.Logs[0].Timestamp)
		}
	})
	t.Run("flags carry only the sampled bit", func(t *testing.T) {
		if root.Flags == nil || *root.Flags != 1 || orphan.Flags != nil {
			t.Errorf("root flags %v, orphan flags %v", root.Flags, orphan.Flags)
		}
	})
	t.Run("references", func(t *testing.T) {
		if len(root.References) != 0 || root.References == nil {
			t.Errorf("root references %v, want []", root.References)
		}
		refs := child.References
		if len(refs) != 3 || refs[0].RefType != "CHILD_OF" || refs[0].SpanID != "00f067aa0ba902b7" || refs[0].TraceID != fixtureTraceID {
			t.Fatalf("child references %+v: parent must come first as CHILD_OF", refs)
		}
		if refs[1].RefType != "FOLLOWS_FROM" || refs[1].TraceID != otherTraceID || refs[2].RefType != "CHILD_OF" {
			t.Errorf("link references %+v", refs[1:])
		}
	})
	t.Run("tag types", func(t *testing.T) {
		tags := tagMap(root.Tags)
		want := map[string]struct{ typ, value string }{
			"http.method":        {"string", `"GET"`},
			"http.status_code":   {"int64", `200`},
			"big":                {"int64", `"9007199254740993"`},
			"small":              {"int64", `"-9007199254740992"`},
			"edge":               {"int64", `9007199254740991`},
			"ratio":              {"float64", `0.25`},
			"cached":             {"bool", `true`},
			"blob":               {"binary", `"AAH/"`},
			"tags":               {"string", `"[\"a\",\"b\"]"`},
			"meta":               {"string", `"{\"k\":\"v\"}"`},
			"span.kind":          {"string", `"server"`},
			"otel.scope.name":    {"string", `"io.opentelemetry.http"`},
			"otel.scope.version": {"string", `"1.2.3"`},
		}
		for k, w := range want {
			got, ok := tags[k]
			if !ok || got.Type != w.typ || string(got.Value) != w.value {
				t.Errorf("tag %s = %+v (%s), want type %s value %s", k, got, got.Value, w.typ, w.value)
			}
		}
		if _, ok := tags["otel.status_code"]; ok {
			t.Error("unset status must not become a tag")
		}
	})
	t.Run("status error", func(t *testing.T) {
		tags := tagMap(child.Tags)
		for k, v := range map[string]string{"otel.status_code": `"ERROR"`, "error": `true`, "otel.status_description": `"card declined"`, "span.kind": `"client"`, "w3c.tracestate": `"vendor=x"`} {
			if string(tags[k].Value) != v {
				t.Errorf("tag %s = %s, want %s", k, tags[k].Value, v)
			}
		}
		if tags["error"].Type != "bool" {
			t.Errorf("error tag type %q, want bool", tags["error"].Type)
		}
		if string(tagMap(orphan.Tags)["otel.status_code"].Value) != `"OK"` {
			t.Error("OK status must become otel.status_code=OK")
		}
	})
	t.Run("events become logs", func(t *testing.T) {
		if len(root.Logs) != 2 {
			t.Fatalf("%d logs, want 2", len(root.Logs))
		}
		f := root.Logs[0].Fields
		if len(f) != 2 || f[0].Key != "event" || string(f[0].Value) != `"retry"` || f[1].Key != "attempt" {
			t.Errorf("first log fields %+v", f)
		}
		// An event attribute named "event" wins over the event name.
		if f := root.Logs[1].Fields; len(f) != 1 || string(f[0].Value) != `"named by attribute"` {
			t.Errorf("second log fields %+v", f)
		}
		if child.Logs == nil {
			t.Error("a span without events must have logs []")
		}
	})
	t.Run("processes deduplicated", func(t *testing.T) {
		if len(tr.Processes) != 2 {
			t.Fatalf("%d processes, want 2: %+v", len(tr.Processes), tr.Processes)
		}
		if root.ProcessID != "p1" || child.ProcessID != "p2" || orphan.ProcessID != "p1" {
			t.Errorf("process ids %s %s %s, want p1 p2 p1", root.ProcessID, child.ProcessID, orphan.ProcessID)
		}
		p1 := tr.Processes["p1"]
		if p1.ServiceName != "frontend" || len(p1.Tags) != 2 || p1.Tags[0].Key != "host.name" {
			t.Errorf("p1 = %+v: service.name must not be a process tag", p1)
		}
		if p2 := tr.Processes["p2"]; p2.ServiceName != "cart" || p2.Tags == nil || len(p2.Tags) != 0 {
			t.Errorf("p2 = %+v, want cart with tags []", p2)
		}
	})
	t.Run("orphan and dropped counts warn", func(t *testing.T) {
		if root.Warnings != nil {
			t.Errorf("root warnings %v, want null", *root.Warnings)
		}
		if orphan.Warnings == nil || len(*orphan.Warnings) != 2 || !strings.Contains((*orphan.Warnings)[0], "9999999999999999") {
			t.Errorf("orphan warnings %v", orphan.Warnings)
		}
		if len(orphan.References) != 1 || orphan.References[0].SpanID != "9999999999999999" {
			t.Errorf("orphan must keep its CHILD_OF reference: %+v", orphan.References)
		}
	})
}

func TestAppendTraceJSONEdgeCases(t *testing.T) {
	tid := mustTraceID("abc")
	tests := []struct {
		name string
		span model.Span
		want []string // substrings of the output
	}{
		{
			name: "no resource names no service",
			span: model.Span{TraceID: tid, SpanID: mustSpanID("1")},
			want: []string{`"serviceName":"OTLPResourceNoServiceName","tags":[]`, `"traceID":"00000000000000000000000000000abc"`},
		},
		{
			name: "end before start gives zero duration",
			span: model.Span{TraceID: tid, SpanID: mustSpanID("1"), StartTimeUnixNano: 5000, EndTimeUnixNano: 1000},
			want: []string{`"startTime":5,"duration":0`},
		},
		{
			name: "non-finite doubles become strings",
			span: model.Span{TraceID: tid, SpanID: mustSpanID("1"), Attributes: model.Attributes{
				{Key: "nan", Value: model.DoubleValue(math.NaN())},
				{Key: "inf", Value: model.DoubleValue(math.Inf(-1))},
				{Key: "tiny", Value: model.DoubleValue(1e-7)},
				{Key: "huge", Value: model.DoubleValue(1e21)},
			}},
			want: []string{`"value":"NaN"`, `"value":"-Inf"`, `"value":1e-7`, `"value":1e+21`},
		},
		{
			name: "invalid utf-8 and control characters are escaped",
			span: model.Span{TraceID: tid, SpanID: mustSpanID("1"), Name: "a\xffb\x01c\u2028"},
			want: []string{`"operationName":"a\ufffdb\u0001c\u2028"`},
		},
		{
			name: "empty value is an empty string",
			span: model.Span{TraceID: tid, SpanID: mustSpanID("1"), Attributes: model.Attributes{{Key: "e"}}},
			want: []string{`{"key":"e","type":"string","value":""}`},
		},
		{
			name: "link to the parent sets the parent reference type",
			span: model.Span{TraceID: tid, SpanID: mustSpanID("1"), ParentSpanID: mustSpanID("2"), Links: []model.Link{{TraceID: tid, SpanID: mustSpanID("2")}}},
			want: []string{`"references":[{"refType":"FOLLOWS_FROM","traceID":"00000000000000000000000000000abc","spanID":"0000000000000002"}]`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := AppendTraceJSON(nil, []model.Span{tc.span})
			if !json.Valid(out) {
				t.Fatalf("invalid JSON: %s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %s:\n%s", w, out)
				}
			}
		})
	}
}

func TestAppendTraceJSONEmpty(t *testing.T) {
	got := string(AppendTraceJSON(nil, nil))
	want := `{"traceID":"00000000000000000000000000000000","spans":[],"processes":{},"warnings":null}`
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestAppendFloatMatchesEncodingJSON(t *testing.T) {
	for _, f := range []float64{0, -0.5, 1, 3.14159, 1e20, 1e21, 1e-6, 1e-7, 123456789.125, -2.5e-300, math.MaxFloat64, math.SmallestNonzeroFloat64} {
		want, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if got := jsonenc.AppendFloat(nil, f); string(got) != string(want) {
			t.Errorf("jsonenc.AppendFloat(%v) = %s, want %s", f, got, want)
		}
	}
}

func TestAppendStringRoundTrips(t *testing.T) {
	for _, s := range []string{"", "plain", "quote\" back\\slash", "\x00\x1f\x7f", "héllo 世界", "\u2029", "<html>&"} {
		out := jsonenc.AppendString(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil || back != s {
			t.Errorf("jsonenc.AppendString(%q) = %s, decodes to %q (%v)", s, out, back, err)
		}
	}
}
