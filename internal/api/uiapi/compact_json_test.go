package uiapi

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"waymark/internal/model"
)

// referenceJSON encodes t with encoding/json, as AppendJSON must, decoded
// back into plain values with null lists as empty ones.
func referenceJSON(t *testing.T, ct *CompactTrace) any {
	t.Helper()
	type spans CompactSpans // no methods, so encoding/json reflects it
	var ids strings.Builder
	for _, id := range ct.Spans.ID {
		ids.WriteString(base64.RawURLEncoding.EncodeToString(id[:]))
	}
	type trace CompactTrace
	cs := &ct.Spans
	mirror := struct {
		*trace
		Spans struct {
			*spans
			IDs       string `json:"ids"`
			Resource  any    `json:"resource"`
			Scope     any    `json:"scope"`
			Name      any    `json:"name"`
			Kind      any    `json:"kind"`
			Status    any    `json:"status"`
			AttrCount any    `json:"attrCount"`
		} `json:"spans"`
	}{trace: (*trace)(ct)}
	mirror.Spans.spans = (*spans)(cs)
	mirror.Spans.IDs = ids.String()
	ms := &mirror.Spans
	ms.Resource, ms.Scope, ms.Name = smallInts(cs.Resource), smallInts(cs.Scope), smallInts(cs.Name)
	ms.Kind, ms.Status, ms.AttrCount = smallInts(cs.Kind), smallInts(cs.Status), smallInts(cs.AttrCount)
	raw, err := json.Marshal(mirror)
	if err != nil {
		t.Fatal(err)
	}
	return decodeJSON(t, raw)
}

// smallInts is what a column of small integers is sent as: a string of
// base64url digits when every value is below 64, else the array.
func smallInts(v []int32) any {
	const digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var b strings.Builder
	for _, x := range v {
		if x < 0 || x > 63 {
			return v
		}
		b.WriteByte(digits[x])
	}
	return b.String()
}

func decodeJSON(t *testing.T, raw []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, raw)
	}
	return emptyNulls(v)
}

// emptyNulls replaces nulls by empty lists: AppendJSON writes [] for
// missing attribute lists, where encoding/json writes null.
func emptyNulls(v any) any {
	switch x := v.(type) {
	case nil:
		return []any{}
	case []any:
		for i := range x {
			x[i] = emptyNulls(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = emptyNulls(x[k])
		}
	}
	return v
}

func TestCompactAppendJSON(t *testing.T) {
	w := newWorkload(time.Unix(1_700_000_000, 0))
	odd := w.request(1)
	odd[0].Name = "quote \" slash \\ <tag> \u2028 \xff"
	odd[0].StatusMessage = "boom\n"
	odd[0].Attributes = model.Attributes{
		{Key: "big", Value: model.IntValue(math.MinInt64)},
		{Key: "tiny", Value: model.DoubleValue(1e-9)},
		{Key: "nan", Value: model.DoubleValue(math.NaN())},
		{Key: "ok", Value: model.BoolValue(false)},
		{Key: "raw", Value: model.Value{Type: model.ValueBytes, Str: "\x00\xff"}},
		{Key: "map", Value: model.Value{Type: model.ValueMap, Str: `{"a":1}`}},
	}
	odd[1].Events = []model.Event{{TimeUnixNano: odd[1].StartTimeUnixNano + 1, Name: "e", Attributes: model.Attributes{{Key: "k", Value: model.StringValue("v")}}}, {Name: "bare"}}
	odd[1].Links = []model.Link{{TraceID: traceID(5), SpanID: spanID(5, 1), Attributes: model.Attributes{{Key: "l", Value: model.IntValue(1)}}}, {TraceID: traceID(6)}}
	odd[2].DroppedAttributesCount, odd[2].DroppedLinksCount = 3, 1
	odd[3].ParentSpanID = spanID(99, 1)
	// A copy of a resource from another batch is the same resource.
	copied := *odd[3].Resource
	odd[3].Resource = &copied
	odd[3].Scope = &model.Scope{Name: "lib", Version: "2", Attributes: model.Attributes{{Key: "s", Value: model.StringValue("x")}}}

	tests := []struct {
		name  string
		spans []model.Span
	}{
		{"one span", w.request(0)[:1]},
		{"request", w.request(2)},
		{"every field", odd},
		{"names beyond 64 strings", manyNames(w.request(3), 70)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct := Compact(tt.spans[0].TraceID, tt.spans)
			got := decodeJSON(t, ct.AppendJSON(nil))
			if want := referenceJSON(t, ct); !reflect.DeepEqual(got, want) {
				t.Fatalf("AppendJSON:\n%v\nencoding/json:\n%v", got, want)
			}
		})
	}
	ct := Compact(odd[0].TraceID, odd)
	if n := len(ct.Resources); n != 4 {
		t.Errorf("%d resources for 4 services, one of them copied", n)
	}
}

// manyNames gives spans distinct names until the string table holds more
// than n strings, so the name column cannot be sent as digits.
func manyNames(spans []model.Span, n int) []model.Span {
	out := make([]model.Span, 0, n)
	for i := range n {
		s := spans[i%len(spans)]
		s.SpanID = spanID(3, 100+i)
		s.Name = "op-" + strconv.Itoa(i)
		out = append(out, s)
	}
	return out
}

func TestAppendMicros(t *testing.T) {
	tests := []struct {
		name string
		us   float64
		want string
	}{
		{"zero", 0, "0"},
		{"whole", 2000, "2000"},
		{"ns", float64(1_234_567) / 1e3, "1234.567"},
		{"trailing zero", float64(1_234_560) / 1e3, "1234.56"},
		{"below a µs", float64(5) / 1e3, "0.005"},
		{"a day in ns", float64(86_400_000_000_001) / 1e3, "86400000000.001"},
		{"not whole ns", 0.0001, "0.0001"},
		{"negative", -1.5, "-1.5"},
		{"huge", 1e22, "1e+22"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(appendMicros(nil, tt.us))
			if got != tt.want {
				t.Fatalf("appendMicros(%v) = %s, want %s", tt.us, got, tt.want)
			}
			var back float64
			if err := json.Unmarshal([]byte(got), &back); err != nil || back != tt.us {
				t.Fatalf("%s reads back as %v (%v), want %v", got, back, err, tt.us)
			}
		})
	}
}
