package jaegerapi

import (
	"encoding/json"
	"math"
	"testing"

	"waymark/internal/model"
)

// FuzzAppendTraceJSON checks that any span content encodes to valid JSON
// whose strings decode to what encoding/json would give.
func FuzzAppendTraceJSON(f *testing.F) {
	for _, s := range fixtureTrace() {
		var v model.Value
		if len(s.Attributes) > 0 {
			v = s.Attributes[0].Value
		}
		f.Add(s.Name, s.StatusMessage, "k", v.Str, int64(9007199254740993), 0.25, []byte("\x00\xff"), s.StartTimeUnixNano, s.EndTimeUnixNano)
	}
	f.Add("a\xffb\u2028", "\x00", "\"", "\\", int64(math.MinInt64), math.Inf(1), []byte{}, uint64(math.MaxUint64), uint64(0))
	f.Fuzz(func(t *testing.T, name, msg, key, str string, i int64, d float64, b []byte, start, end uint64) {
		res := &model.Resource{ServiceName: str, Attributes: model.Attributes{{Key: key, Value: model.StringValue(msg)}}}
		span := model.Span{
			TraceID: model.TraceID{1}, SpanID: model.SpanID{2}, ParentSpanID: model.SpanID{3},
			Name: name, StatusCode: model.StatusError, StatusMessage: msg, TraceState: str,
			StartTimeUnixNano: start, EndTimeUnixNano: end,
			Attributes: model.Attributes{
				{Key: key, Value: model.StringValue(str)},
				{Key: "i", Value: model.IntValue(i)},
				{Key: "d", Value: model.DoubleValue(d)},
				{Key: "b", Value: model.Value{Type: model.ValueBytes, Str: string(b)}},
			},
			Events:   []model.Event{{Name: name, TimeUnixNano: start, Attributes: model.Attributes{{Key: key, Value: model.BoolValue(i%2 == 0)}}}},
			Resource: res,
		}
		out := AppendTraceJSON(nil, []model.Span{span, span})
		var tr uiTrace
		if err := json.Unmarshal(out, &tr); err != nil {
			t.Fatalf("invalid JSON: %v\n%s", err, out)
		}
		var want string
		wb, _ := json.Marshal(name)
		if err := json.Unmarshal(wb, &want); err != nil {
			t.Fatal(err)
		}
		if tr.Spans[0].OperationName != want {
			t.Fatalf("operationName %q, want %q", tr.Spans[0].OperationName, want)
		}
		if len(tr.Processes) != 1 || tr.Spans[0].StartTime != start/1000 {
			t.Fatalf("processes %d, startTime %d", len(tr.Processes), tr.Spans[0].StartTime)
		}
	})
}
