package block

import (
	"context"
	"math"
	"reflect"
	"testing"

	"waymark/internal/model"
	"waymark/internal/store/filter"
)

// FuzzRoundTrip writes spans made from arbitrary keys and values and reads
// them back through Iter, FindTrace and Search: the column decoders must
// rebuild every span exactly, and a search for one of its attributes must
// find it.
func FuzzRoundTrip(f *testing.F) {
	f.Add("http.route", "/api/{id}", int64(200), 1.5, byte(1), "svc", uint16(3))
	f.Add("", "", int64(0), 0.0, byte(0), "", uint16(0))
	f.Add("k", "\x00\xff", int64(-1), -2.5e300, byte(5), "service.name", uint16(17))
	f.Add("http.response.status_code", "x", int64(503), 0.1, byte(3), "custom", uint16(200))
	f.Fuzz(func(t *testing.T, key, str string, i int64, d float64, typ byte, svc string, n uint16) {
		if math.IsNaN(d) {
			return // NaN never equals itself, so a round trip cannot be compared
		}
		spans, v := fuzzSpans(key, str, i, d, typ, svc, n)
		ded := []string{"custom"}
		if key == "custom" || isFixedDedicated(key) {
			ded = nil
		}
		b := writeOpen(t, newBucket(t), spans, WriteOptions{RowGroupSpans: int(n % 7), DedicatedAttributes: ded})
		want := sortedCopy(spans)
		var got []model.Span
		ctx := context.Background()
		if err := b.Iter(ctx, func(s model.Span) error { got = append(got, s); return nil }); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Iter:\n got %+v\nwant %+v", got, want)
		}
		trace, err := b.FindTrace(ctx, want[0].TraceID)
		if err != nil || len(trace) == 0 || !reflect.DeepEqual(trace[0], want[0]) {
			t.Fatalf("FindTrace: %d spans, %v", len(trace), err)
		}
		req := filter.Request{Limit: 2, Conditions: []filter.Condition{{Scope: filter.ScopeSpan, Key: key, Op: filter.OpEq, Value: v}}}
		if err := req.Compile(); err != nil {
			t.Fatal(err)
		}
		found := 0
		if err := b.Search(ctx, &req, func(m filter.Match) bool { found++; return true }); err != nil {
			t.Fatal(err)
		}
		if wantFound := len(expectSearch(&req, want)); found != wantFound {
			t.Fatalf("Search found %d traces, want %d", found, wantFound)
		}
	})
}

// fuzzSpans makes up to 40 spans of three traces from fuzzed keys and
// values, with resources, events, scopes and links on some; v is the value
// of attribute key on every span.
func fuzzSpans(key, str string, i int64, d float64, typ byte, svc string, n uint16) ([]model.Span, model.Value) {
	vals := []model.Value{
		{}, model.StringValue(str), model.BoolValue(i%2 == 0), model.IntValue(i), model.DoubleValue(d),
		{Type: model.ValueBytes, Str: str}, {Type: model.ValueArray, Str: str}, {Type: model.ValueMap, Str: str},
	}
	v := vals[int(typ)%len(vals)]
	res := &model.Resource{ServiceName: svc, Attributes: model.Attributes{{Key: key, Value: v}}}
	var spans []model.Span
	for k := range int(n%40) + 1 {
		s := model.Span{
			TraceID: model.TraceID{byte(k % 3), 1}, SpanID: model.SpanID{byte(k), 2}, Name: str,
			StartTimeUnixNano: uint64(i) + uint64(k), EndTimeUnixNano: uint64(d), Kind: model.SpanKind(k % 6),
			Attributes: model.Attributes{{Key: key, Value: v}, {Key: "n", Value: model.IntValue(int64(k))}},
		}
		if k%2 == 0 {
			s.Resource = res
			s.Events = []model.Event{{Name: key, Attributes: model.Attributes{{Key: str, Value: v}}}}
		}
		if k%3 == 0 {
			s.Scope = &model.Scope{Name: str, Version: key}
			s.Links = []model.Link{{TraceID: s.TraceID, TraceState: str, Attributes: model.Attributes{{Key: key, Value: v}}}}
		}
		spans = append(spans, s)
	}
	return spans, v
}
