package block

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"waymark/internal/model"
	"waymark/internal/store/filter"
)

// idSpans returns traces of 4 spans (nTraces of them) over 100 resources.
// Span attributes: request.id (a string per trace), order.no (an int per
// trace), ratio (a double per span), http.route (5 values), flag (a bool);
// resource attributes: pod.uid (one per resource) and zone (3 values);
// dual is a span attribute per trace and a resource attribute per resource.
func idSpans(seed uint64, nTraces int) []model.Span {
	rng := rand.New(rand.NewPCG(seed, seed^0xfeed))
	var res []*model.Resource
	for i := range 100 {
		res = append(res, &model.Resource{ServiceName: "svc", Attributes: model.Attributes{
			{Key: "service.name", Value: model.StringValue("svc")},
			{Key: "pod.uid", Value: model.StringValue(fmt.Sprintf("pod-%d-%d", seed, i))},
			{Key: "zone", Value: model.StringValue(fmt.Sprintf("zone-%d", i%3))},
			{Key: "dual", Value: model.StringValue(fmt.Sprintf("r-%d", i))},
		}})
	}
	var spans []model.Span
	for i := range nTraces {
		var id model.TraceID
		binary.BigEndian.PutUint64(id[:8], rng.Uint64())
		binary.BigEndian.PutUint64(id[8:], rng.Uint64())
		for j := range 4 {
			start := uint64(1_700_000_000_000_000_000 + i*1000 + j)
			spans = append(spans, model.Span{
				TraceID: id, SpanID: model.SpanID{1, byte(j), byte(i), byte(i >> 8)}, Name: "op",
				StartTimeUnixNano: start, EndTimeUnixNano: start + 10, Resource: res[(i+j)%len(res)],
				Attributes: model.Attributes{
					{Key: "request.id", Value: model.StringValue(fmt.Sprintf("req-%d-%d", seed, i))},
					{Key: "order.no", Value: model.IntValue(int64(1_000_000 + i))},
					{Key: "ratio", Value: model.DoubleValue(float64(i*4+j) + 0.5)},
					{Key: "http.route", Value: model.StringValue(fmt.Sprintf("/r/%d", i%5))},
					{Key: "flag", Value: model.BoolValue(i%2 == 0)},
					{Key: "dual", Value: model.StringValue(fmt.Sprintf("s-%d", i))},
				},
			})
		}
	}
	return spans
}

func TestValueFilter(t *testing.T) {
	spans := idSpans(1, 2000)
	b := writeOpen(t, newBucket(t), spans, WriteOptions{RowGroupSpans: 1000})
	wantKeys := map[valueKey]uint8{
		{valueScopeSpan, "request.id"}:  0,
		{valueScopeSpan, "order.no"}:    valueHasInt,
		{valueScopeSpan, "ratio"}:       valueHasDouble,
		{valueScopeResource, "pod.uid"}: 0,
		{valueScopeSpan, "dual"}:        0,
		{valueScopeResource, "dual"}:    0,
	}
	if got := b.index.Values.keys; len(got) != len(wantKeys) {
		t.Fatalf("filtered keys %v, want %v", got, wantKeys)
	}
	for k, flags := range wantKeys {
		if got, ok := b.index.Values.keys[k]; !ok || got != flags {
			t.Errorf("key %v: flags %d (filtered %v), want %d", k, got, ok, flags)
		}
	}

	// No stored value is ever ruled out, in any scope that holds it.
	for i := range spans {
		for _, a := range spans[i].Attributes {
			for _, scope := range []filter.Scope{filter.ScopeSpan, filter.ScopeAny} {
				if !b.MayContainValue(scope, a.Key, a.Value) {
					t.Fatalf("span %d: %s=%s ruled out in scope %d", i, a.Key, a.Value.AsString(), scope)
				}
			}
		}
		for _, a := range spans[i].Resource.Attributes {
			if !b.MayContainValue(filter.ScopeResource, a.Key, a.Value) {
				t.Fatalf("resource %s=%s ruled out", a.Key, a.Value.AsString())
			}
		}
	}

	str, num, dbl := model.StringValue, model.IntValue, model.DoubleValue
	tests := []struct {
		name  string
		scope filter.Scope
		key   string
		v     model.Value
		want  bool
	}{
		{"stored request ID", filter.ScopeSpan, "request.id", str("req-1-17"), true},
		{"absent request ID", filter.ScopeSpan, "request.id", str("req-1-999999"), false},
		// The resource scope does not filter request.id, so it may hold
		// it (the store asks per scope and the summary rules it out).
		{"absent request ID, any scope", filter.ScopeAny, "request.id", str("req-2-5"), true},
		{"request ID in the resource scope: key not filtered there", filter.ScopeResource, "request.id", str("req-2-5"), true},
		{"stored int", filter.ScopeSpan, "order.no", num(1_000_017), true},
		{"stored int as text", filter.ScopeSpan, "order.no", str("1000017"), true},
		{"stored int as double", filter.ScopeSpan, "order.no", dbl(1_000_017), true},
		{"absent int", filter.ScopeSpan, "order.no", num(7), false},
		{"absent int as text", filter.ScopeSpan, "order.no", str("7"), false},
		{"absent int as double", filter.ScopeSpan, "order.no", dbl(7), false},
		{"fractional double against ints", filter.ScopeSpan, "order.no", dbl(1_000_017.5), false},
		{"int beyond 2^53 is not judged", filter.ScopeSpan, "order.no", num(1 << 60), true},
		{"double beyond 2^53 is not judged", filter.ScopeSpan, "order.no", dbl(1 << 60), true},
		{"stored double as text", filter.ScopeSpan, "ratio", str("5.5"), true},
		{"absent double as text", filter.ScopeSpan, "ratio", str("nope"), false},
		{"number against doubles is not judged", filter.ScopeSpan, "ratio", num(3), true},
		{"stored resource value", filter.ScopeResource, "pod.uid", str("pod-1-42"), true},
		{"absent resource value", filter.ScopeResource, "pod.uid", str("pod-9-42"), false},
		{"absent resource value, any scope", filter.ScopeAny, "pod.uid", str("pod-9-42"), true},
		{"key filtered in both scopes, span value", filter.ScopeAny, "dual", str("s-5"), true},
		{"key filtered in both scopes, resource value", filter.ScopeAny, "dual", str("r-5"), true},
		{"key filtered in both scopes, absent", filter.ScopeAny, "dual", str("x-5"), false},
		{"low-cardinality key", filter.ScopeSpan, "http.route", str("/absent"), true},
		{"low-cardinality resource key", filter.ScopeResource, "zone", str("zone-9"), true},
		{"bool key", filter.ScopeSpan, "flag", str("maybe"), true},
		{"unknown key", filter.ScopeSpan, "absent.key", str("x"), true},
		{"service name", filter.ScopeResource, "service.name", str("other"), true},
		{"intrinsic", filter.ScopeIntrinsic, "name", str("x"), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := b.MayContainValue(tc.scope, tc.key, tc.v); got != tc.want {
				t.Errorf("MayContainValue = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestValueFilterFalsePositives measures how often the filter fails to
// rule out a value no span has; it is sized for about 0.8 %.
func TestValueFilterFalsePositives(t *testing.T) {
	b := writeOpen(t, newBucket(t), idSpans(3, 20_000), WriteOptions{})
	const probes = 100_000
	fp := 0
	for i := range probes {
		if b.MayContainValue(filter.ScopeSpan, "request.id", model.StringValue(fmt.Sprintf("absent-%d", i))) {
			fp++
		}
	}
	rate := float64(fp) / probes
	// 20,000 request IDs and order numbers, 80,000 ratios, 100 pods.
	t.Logf("false-positive rate %.3f %% (%d of %d); filter of %d bytes for 120,100 values",
		rate*100, fp, probes, len(b.index.Values.bloom.words)*8)
	if rate > 0.02 {
		t.Fatalf("false-positive rate %.3f %%, want at most 2 %%", rate*100)
	}
}

// TestValueFilterCap checks that a key becomes filtered only with more
// than valueFilterCap distinct values, however often they repeat, or with
// a value a summary does not list.
func TestValueFilterCap(t *testing.T) {
	long := strings.Repeat("x", valueFilterLongValue)
	tests := []struct {
		name     string
		distinct int
		repeat   int
		value    func(i int) model.Value
		want     bool
	}{
		{"one value", 1, 500, nil, false},
		{"at the cap", valueFilterCap, 3, nil, false},
		{"one past the cap", valueFilterCap + 1, 1, nil, true},
		{"many values", 10 * valueFilterCap, 2, nil, true},
		{"values as long as a summary lists", 2, 2, func(i int) model.Value { return model.StringValue(long[i:]) }, false},
		{"a value longer than a summary lists", 2, 2, func(i int) model.Value { return model.StringValue(long + long[i:]) }, true},
		{"an array", 1, 1, func(int) model.Value { return model.Value{Type: model.ValueArray, Str: "[1]"} }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			value := tc.value
			if value == nil {
				value = func(i int) model.Value { return model.StringValue(fmt.Sprint(i)) }
			}
			var c valueCollector
			for r := range tc.repeat {
				for i := range tc.distinct {
					c.add(&model.Span{Attributes: model.Attributes{
						{Key: "k", Value: value(i)},
						{Key: "r", Value: model.IntValue(int64(r % 3))},
					}})
				}
			}
			f := c.finish()
			if _, got := f.keys[valueKey{valueScopeSpan, "k"}]; got != tc.want {
				t.Fatalf("filtered %v, want %v", got, tc.want)
			}
			if _, got := f.keys[valueKey{valueScopeSpan, "r"}]; got {
				t.Fatal("key r with few values is filtered")
			}
			for i := range tc.distinct {
				if !f.mayContain(valueScopeSpan, "k", value(i)) {
					t.Fatalf("value %d ruled out", i)
				}
			}
		})
	}
}

// encodeIndexV1 returns the version-1 form of x: no value-filter section.
func encodeIndexV1(x *traceIndex) []byte {
	v1 := *x
	v1.Values = valueFilter{}
	buf := v1.encode()
	// The empty section is two zero varints before the checksum.
	buf = buf[:len(buf)-4-2]
	buf[len(indexMagic)] = indexVersionNoValues
	return binary.LittleEndian.AppendUint32(buf, crc32.Checksum(buf, castagnoli))
}

// TestValueFilterVersion1Index opens a block whose index has no value
// filter: nothing is ruled out, and search still finds the request ID.
func TestValueFilterVersion1Index(t *testing.T) {
	ctx := context.Background()
	bkt := newBucket(t)
	spans := idSpans(4, 500)
	meta, err := Write(ctx, bkt, "tenant-a", spans, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	name := BlockDir("tenant-a", meta.ID) + IndexFile
	data, err := readObject(ctx, bkt, name, maxIndexSize)
	if err != nil {
		t.Fatal(err)
	}
	x, err := decodeIndex(data, meta.SpanCount)
	if err != nil {
		t.Fatal(err)
	}
	if len(x.Values.keys) == 0 {
		t.Fatal("written index has no value filter")
	}
	if err := bkt.Upload(ctx, name, bytes.NewReader(encodeIndexV1(x))); err != nil {
		t.Fatal(err)
	}
	b, err := Open(ctx, bkt, "tenant-a", meta.ID)
	if err != nil {
		t.Fatalf("open with a version-1 index: %v", err)
	}
	defer b.Close()
	if b.MayContainValue(filter.ScopeSpan, "request.id", model.StringValue("absent")) != true {
		t.Fatal("a version-1 index ruled a value out")
	}
	req := filter.Request{Conditions: []filter.Condition{{Scope: filter.ScopeSpan, Key: "request.id", Op: filter.OpEq, Value: model.StringValue("req-4-123")}}}
	if err := req.Compile(); err != nil {
		t.Fatal(err)
	}
	var found []model.TraceID
	if err := b.Search(ctx, &req, func(m filter.Match) bool { found = append(found, m.TraceID); return true }); err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0] != spans[123*4].TraceID {
		t.Fatalf("found %v, want trace %s", found, spans[123*4].TraceID)
	}
}

// TestValueFilterKeyBound checks that keys beyond maxValueKeys are neither
// tracked nor filtered, so they never rule a value out.
func TestValueFilterKeyBound(t *testing.T) {
	var c valueCollector
	for i := range maxValueKeys {
		c.add(&model.Span{Attributes: model.Attributes{{Key: fmt.Sprint("k", i), Value: model.StringValue("v")}}})
	}
	for i := range 2 * valueFilterCap {
		c.add(&model.Span{Attributes: model.Attributes{{Key: "late", Value: model.StringValue(fmt.Sprint(i))}}})
	}
	if len(c.span) != maxValueKeys {
		t.Fatalf("%d keys tracked, want %d", len(c.span), maxValueKeys)
	}
	f := c.finish()
	if !f.mayContain(valueScopeSpan, "late", model.StringValue("absent")) {
		t.Fatal("a key beyond the bound rules a value out")
	}
}

func TestSortHashes(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{0, 1, 100, 1<<12 - 1, 1 << 12, 50_000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			a := make([]uint64, n)
			for i := range a {
				a[i] = rng.Uint64()
				if i%3 == 0 {
					a[i] >>= rng.UintN(64) // small values, equal high digits
				}
			}
			want := slices.Sorted(slices.Values(a))
			if got := sortHashes(a); !slices.Equal(got, want) {
				t.Fatal("not sorted")
			}
		})
	}
}
