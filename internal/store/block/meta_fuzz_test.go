package block

import (
	"bytes"
	"context"
	"reflect"
	"testing"
	"time"

	"waymark/internal/model"
	"waymark/internal/store/filter"
)

// FuzzMeta feeds arbitrary documents to DecodeMeta: it must never panic, and
// whatever it accepts must survive an encode/decode round trip.
func FuzzMeta(f *testing.F) {
	m := Meta{
		Version: FormatVersion, ID: NewID(time.Unix(1_700_000_000, 0)), Tenant: "single-tenant",
		MinTimeUnixNano: 1, MaxTimeUnixNano: 2, SpanCount: 10, TraceCount: 2, DataSize: 1000, IndexSize: 100,
		Services: []string{"a", "b"}, Level: 1, CreatedUnixNano: 5,
	}
	good, err := encodeMeta(m)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"version":1,"id":"01ARZ3NDEKTSV4RRFFQ69G5FAV","tenant":"t","span_count":-1}`))
	f.Add(bytes.Replace(good, []byte(`"level": 1`), []byte(`"level": 1, "extra": true`), 1))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeMeta(data)
		if err != nil {
			return
		}
		enc, err := encodeMeta(m)
		if err != nil {
			t.Fatalf("encode accepted meta: %v", err)
		}
		back, err := DecodeMeta(enc)
		if err != nil || !reflect.DeepEqual(back, m) {
			t.Fatalf("round trip: %+v, %v; want %+v", back, err, m)
		}
	})
}

func TestDecodeMeta(t *testing.T) {
	id := NewID(time.Unix(1_700_000_000, 0))
	tests := []struct {
		name string
		doc  string
		ok   bool
	}{
		{"valid", `{"version":1,"id":"` + id + `","tenant":"t","span_count":3,"trace_count":1,"min_time_unix_nano":1,"max_time_unix_nano":2}`, true},
		{"version 1", `{"version":1,"id":"` + id + `","tenant":"t"}`, true},
		{"version 2", `{"version":2,"id":"` + id + `","tenant":"t"}`, true},
		{"future version", `{"version":3,"id":"` + id + `","tenant":"t"}`, false},
		{"version 0", `{"version":0,"id":"` + id + `","tenant":"t"}`, false},
		{"bad id", `{"version":1,"id":"not-an-id","tenant":"t"}`, false},
		{"id overflow", `{"version":1,"id":"8` + id[1:] + `","tenant":"t"}`, false},
		{"bad tenant", `{"version":1,"id":"` + id + `","tenant":"a/b"}`, false},
		{"more traces than spans", `{"version":1,"id":"` + id + `","tenant":"t","span_count":1,"trace_count":2}`, false},
		{"inverted times", `{"version":1,"id":"` + id + `","tenant":"t","span_count":1,"trace_count":1,"min_time_unix_nano":3,"max_time_unix_nano":2}`, false},
		{"unknown field", `{"version":1,"id":"` + id + `","tenant":"t","bogus":1}`, false},
		{"trailing data", `{"version":1,"id":"` + id + `","tenant":"t"} {}`, false},
		{"not json", `version=1`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeMeta([]byte(tc.doc))
			if (err == nil) != tc.ok {
				t.Fatalf("DecodeMeta error = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestNewID(t *testing.T) {
	a := NewID(time.UnixMilli(1_000))
	b := NewID(time.UnixMilli(1_001))
	if a >= b {
		t.Fatalf("IDs do not sort by time: %s >= %s", a, b)
	}
	if NewID(time.UnixMilli(5)) == NewID(time.UnixMilli(5)) {
		t.Fatal("two IDs of the same millisecond are equal")
	}
	ts, err := IDTime(b)
	if err != nil || ts.UnixMilli() != 1_001 {
		t.Fatalf("IDTime = %v, %v", ts, err)
	}
}

// FuzzBlock damages a real block's data file and index and opens, looks up,
// searches and iterates it: every damage must end in an error or a result,
// never a panic or a hang.
func FuzzBlock(f *testing.F) {
	ctx := context.Background()
	spans := richSpans()
	spans = append(spans, newWorkload(9, true).traces(40)...)
	bkt := newBucket(f)
	meta, err := Write(ctx, bkt, "tenant-a", spans, WriteOptions{RowGroupSpans: 64, DedicatedAttributes: []string{"custom.dedicated"}})
	if err != nil {
		f.Fatal(err)
	}
	dir := BlockDir("tenant-a", meta.ID)
	data, err := readObject(ctx, bkt, dir+DataFile, 1<<30)
	if err != nil {
		f.Fatal(err)
	}
	index, err := readObject(ctx, bkt, dir+IndexFile, 1<<30)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(uint32(0), byte(0), uint16(0), false)
	f.Add(uint32(len(data)/2), byte(0xff), uint16(16), false)
	f.Add(uint32(len(data)-10), byte(1), uint16(3), false)
	f.Add(uint32(4), byte(0x80), uint16(200), false)
	f.Add(uint32(20), byte(7), uint16(1), true)
	searches := []filter.Request{
		{Conditions: []filter.Condition{{Scope: filter.ScopeAny, Key: "http.route", Op: filter.OpRegex, Value: model.StringValue("orders")}}},
		{Limit: 3, StartUnixNano: 1, MinDurationNano: 1, Conditions: []filter.Condition{
			{Scope: filter.ScopeIntrinsic, Key: filter.IntrinsicName, Op: filter.OpNotEq, Value: model.StringValue("x")},
			{Scope: filter.ScopeAny, Key: "request.id", Op: filter.OpNotEq, Value: model.StringValue("x")},
			{Scope: filter.ScopeResource, Key: "host.name", Op: filter.OpExists},
		}},
	}
	for i := range searches {
		if err := searches[i].Compile(); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, off uint32, xor byte, n uint16, inIndex bool) {
		d, x := bytes.Clone(data), bytes.Clone(index)
		buf := d
		if inIndex {
			buf = x
		}
		for i := 0; i < int(n)%64+1; i++ {
			buf[(int(off)+i*int(n+1))%len(buf)] ^= xor
		}
		fb := newBucket(t)
		mb, err := encodeMeta(meta)
		if err != nil {
			t.Fatal(err)
		}
		for name, body := range map[string][]byte{DataFile: d, IndexFile: x, MetaFile: mb} {
			if err := fb.Upload(ctx, dir+name, bytes.NewReader(body)); err != nil {
				t.Fatal(err)
			}
		}
		b, err := Open(ctx, fb, "tenant-a", meta.ID)
		if err != nil {
			return
		}
		defer b.Close()
		for i := 0; i < len(spans); i += 7 {
			_, _ = b.FindTrace(ctx, spans[i].TraceID)
		}
		for i := range searches {
			_ = b.Search(ctx, &searches[i], func(filter.Match) bool { return true })
		}
		_ = b.Iter(ctx, func(model.Span) error { return nil })
	})
}
