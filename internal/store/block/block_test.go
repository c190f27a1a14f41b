package block

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/thanos-io/objstore"

	"waymark/internal/model"
	"waymark/internal/store/bucket"
	"waymark/internal/store/filter"
)

// newBucket returns the local block store Waymark uses, whose blocks read
// through a data file held open (LocalBucket).
func newBucket(t testing.TB) objstore.Bucket {
	t.Helper()
	bkt, err := bucket.OpenFilesystem(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := bkt.(LocalBucket); !ok {
		t.Fatal("the filesystem bucket is not a LocalBucket")
	}
	return bkt
}

// rangeBucket hides LocalBucket, so that blocks read every range with a
// range request as they do on object storage.
type rangeBucket struct{ objstore.Bucket }

// writeOpen writes spans as a block and opens it.
func writeOpen(t testing.TB, bkt objstore.Bucket, spans []model.Span, opts WriteOptions) *Block {
	t.Helper()
	ctx := context.Background()
	meta, err := Write(ctx, bkt, "tenant-a", spans, opts)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	b, err := Open(ctx, bkt, "tenant-a", meta.ID)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// sortedCopy returns spans in block order.
func sortedCopy(spans []model.Span) []model.Span {
	out := make([]model.Span, len(spans))
	for i, j := range sortOrder(spans) {
		out[i] = spans[j]
	}
	return out
}

func tid(b byte) model.TraceID { return model.TraceID{0: b, 15: 1} }
func sid(b byte) model.SpanID  { return model.SpanID{0: b, 7: 1} }

// richSpans exercises every field and value type of model.Span.
func richSpans() []model.Span {
	res1 := &model.Resource{ServiceName: "checkout", Attributes: model.Attributes{
		{Key: "host.name", Value: model.StringValue("h1")},
		{Key: "service.name", Value: model.StringValue("checkout")},
		{Key: "k8s.pod.uid", Value: model.Value{Type: model.ValueBytes, Str: "\x00\xffraw"}},
	}, DroppedAttributesCount: 2}
	res2 := &model.Resource{ServiceName: "named-only"} // service name without attribute
	res3 := &model.Resource{ServiceName: "odd", Attributes: model.Attributes{
		{Key: "service.name", Value: model.StringValue("different")},
	}}
	sc := &model.Scope{Name: "lib", Version: "1.0", Attributes: model.Attributes{{Key: "scope.attr", Value: model.BoolValue(true)}}, DroppedAttributesCount: 1}
	allTypes := model.Attributes{
		{Key: "http.request.method", Value: model.StringValue("POST")},
		{Key: "s", Value: model.StringValue("")},
		{Key: "b", Value: model.BoolValue(true)},
		{Key: "bf", Value: model.BoolValue(false)},
		{Key: "i", Value: model.IntValue(-42)},
		{Key: "d", Value: model.DoubleValue(3.25)},
		{Key: "bytes", Value: model.Value{Type: model.ValueBytes, Str: "\x01\x02"}},
		{Key: "empty-bytes", Value: model.Value{Type: model.ValueBytes}},
		{Key: "arr", Value: model.Value{Type: model.ValueArray, Str: `["a",1]`}},
		{Key: "map", Value: model.Value{Type: model.ValueMap, Str: `{"a":1}`}},
		{Key: "none", Value: model.Value{}},
		{Key: "http.route", Value: model.StringValue("/r/{id}")},
		{Key: "http.response.status_code", Value: model.IntValue(503)},
		{Key: "custom.dedicated", Value: model.StringValue("tenant-7")},
	}
	return []model.Span{
		{
			TraceID: tid(1), SpanID: sid(1), TraceState: "k=v", Flags: 0x301, Name: "root", Kind: model.KindServer,
			StartTimeUnixNano: 1000, EndTimeUnixNano: 5000, StatusCode: model.StatusError, StatusMessage: "boom",
			Attributes: allTypes, DroppedAttributesCount: 3, DroppedEventsCount: 4, DroppedLinksCount: 5,
			Events: []model.Event{
				{TimeUnixNano: 1500, Name: "exception", Attributes: model.Attributes{{Key: "exception.type", Value: model.StringValue("E")}}, DroppedAttributesCount: 1},
				{TimeUnixNano: 1600, Name: "bare"},
			},
			Links: []model.Link{
				{TraceID: tid(9), SpanID: sid(9), TraceState: "x=y", Flags: 1, Attributes: model.Attributes{{Key: "link.kind", Value: model.IntValue(2)}}, DroppedAttributesCount: 6},
			},
			Resource: res1, Scope: sc,
		},
		{
			TraceID: tid(1), SpanID: sid(2), ParentSpanID: sid(1), Name: "child", Kind: model.KindClient,
			StartTimeUnixNano: 2000, EndTimeUnixNano: 1000, // end before start
			Attributes: model.Attributes{
				{Key: "http.method", Value: model.StringValue("GET")},
				{Key: "http.status_code", Value: model.IntValue(200)},
				{Key: "http.response.status_code", Value: model.StringValue("200")}, // not an int: generic
			},
			Resource: res1, Scope: sc,
		},
		{TraceID: tid(2), SpanID: sid(3), Name: "no-resource"},
		{TraceID: tid(2), SpanID: sid(4), Name: "named-only", Resource: res2, StartTimeUnixNano: 10},
		{TraceID: tid(3), SpanID: sid(5), Name: "odd", Resource: res3, Scope: &model.Scope{}},
		// Empty and zero values of dedicated keys stay generic entries.
		{TraceID: tid(3), SpanID: sid(6), Name: "empty", Attributes: model.Attributes{
			{Key: "http.route", Value: model.StringValue("")},
			{Key: "http.response.status_code", Value: model.IntValue(0)},
			{Key: "custom.dedicated", Value: model.StringValue("")},
			{Key: "zero", Value: model.IntValue(0)},
			{Key: "false", Value: model.BoolValue(false)},
			{Key: "empty-array", Value: model.Value{Type: model.ValueArray}},
		}},
	}
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		spans func() []model.Span
		opts  WriteOptions
	}{
		{"rich", richSpans, WriteOptions{DedicatedAttributes: []string{"custom.dedicated"}}},
		{"rich without extra columns", richSpans, WriteOptions{}},
		{"workload", func() []model.Span { return newWorkload(7, false).traces(300) }, WriteOptions{RowGroupSpans: 128}},
		{"varied", func() []model.Span { return newWorkload(8, true).traces(300) }, WriteOptions{RowGroupSpans: 1000}},
		// Iter reads iterRows rows at a time.
		{"row group read in parts", func() []model.Span { return newWorkload(9, true).traces(4000) }, WriteOptions{}},
		{"row groups and parts unaligned", func() []model.Span { return newWorkload(10, true).traces(4000) }, WriteOptions{RowGroupSpans: 9000}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spans := tc.spans()
			want := sortedCopy(spans)
			b := writeOpen(t, newBucket(t), spans, tc.opts)
			var got []model.Span
			if err := b.Iter(context.Background(), func(s model.Span) error {
				got = append(got, s)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("got %d spans, want %d", len(got), len(want))
			}
			for i := range want {
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Fatalf("span %d differs:\n got %+v\nwant %+v", i, got[i], want[i])
				}
			}
			// Spans of one resource share one *Resource again.
			byContent := map[string]*model.Resource{}
			for i := range got {
				r := got[i].Resource
				if r == nil {
					continue
				}
				k := r.ServiceName + "\x00" + attrsString(r.Attributes)
				if prev, ok := byContent[k]; ok && prev != r {
					t.Fatalf("span %d: equal resources are not shared", i)
				}
				byContent[k] = r
			}
			m := b.Meta()
			if m.SpanCount != int64(len(spans)) {
				t.Errorf("SpanCount = %d, want %d", m.SpanCount, len(spans))
			}
		})
	}
}

func attrsString(a model.Attributes) string {
	var sb strings.Builder
	for _, x := range a {
		sb.WriteString(x.Key + "=" + x.Value.Type.String() + ":" + x.Value.AsString() + ";")
	}
	return sb.String()
}

func TestMeta(t *testing.T) {
	spans := richSpans()
	ctx := context.Background()
	bkt := newBucket(t)
	created := time.Unix(1_700_000_000, 0)
	meta, err := Write(ctx, bkt, "tenant-a", spans, WriteOptions{Level: 2, Now: func() time.Time { return created }})
	if err != nil {
		t.Fatal(err)
	}
	want := Meta{
		Version: FormatVersion, ID: meta.ID, Tenant: "tenant-a",
		MinTimeUnixNano: 0, MaxTimeUnixNano: 5000,
		SpanCount: 6, TraceCount: 3, DataSize: meta.DataSize, IndexSize: meta.IndexSize,
		Services: []string{"checkout", "named-only", "odd"}, Level: 2, CreatedUnixNano: created.UnixNano(),
	}
	if !reflect.DeepEqual(meta, want) {
		t.Fatalf("meta = %+v\nwant %+v", meta, want)
	}
	if ts, err := IDTime(meta.ID); err != nil || !ts.Equal(created) {
		t.Fatalf("IDTime = %v, %v; want %v", ts, err, created)
	}
	attrs, err := bkt.Attributes(ctx, BlockDir("tenant-a", meta.ID)+DataFile)
	if err != nil || attrs.Size != meta.DataSize {
		t.Fatalf("data size %d (%v), meta says %d", attrs.Size, err, meta.DataSize)
	}
}

func TestFindTrace(t *testing.T) {
	spans := newWorkload(3, true).traces(2000)
	// One long trace crosses many index intervals.
	long := newWorkload(4, false).traces(100)
	for i := range long {
		long[i].TraceID = model.TraceID{0x80, 1}
	}
	spans = append(spans, long...)
	want := map[model.TraceID][]model.Span{}
	for _, s := range sortedCopy(spans) {
		want[s.TraceID] = append(want[s.TraceID], s)
	}
	type setup struct {
		name   string
		rgs    int
		ranges bool
	}
	for _, tc := range []setup{{"one row group", 0, false}, {"row groups of 7", 7, false}, {"row groups of 333", 333, false},
		{"range requests", 333, true}} {
		t.Run(tc.name, func(t *testing.T) {
			bkt := newBucket(t)
			if tc.ranges {
				bkt = rangeBucket{bkt}
			}
			b := writeOpen(t, bkt, spans, WriteOptions{RowGroupSpans: tc.rgs})
			ctx := context.Background()
			for id, w := range want {
				if id[1]%32 != 0 && id != long[0].TraceID {
					continue // a sample keeps the test quick; every position is still covered
				}
				got, err := b.FindTrace(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, w) {
					t.Fatalf("trace %s: got %d spans, want %d", id, len(got), len(w))
				}
				if !b.MayContain(id) {
					t.Fatalf("MayContain(%s) = false for a stored trace", id)
				}
			}
			absent := []model.TraceID{{}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {0x80, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}}
			for i := range 500 {
				absent = append(absent, model.TraceID{byte(i), byte(i >> 8), 0xee, 0xee})
			}
			for _, id := range absent {
				if _, ok := want[id]; ok {
					continue
				}
				got, err := b.FindTrace(ctx, id)
				if err != nil || got != nil {
					t.Fatalf("absent trace %s: got %d spans, %v", id, len(got), err)
				}
			}
		})
	}
}

func TestListTenantsDelete(t *testing.T) {
	ctx := context.Background()
	bkt := newBucket(t)
	spans := newWorkload(5, false).traces(10)
	m1, err := Write(ctx, bkt, "tenant-a", spans, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m2, err := Write(ctx, bkt, "tenant-a", spans, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Write(ctx, bkt, "tenant-b", spans, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	// A half-written block: data and index but no meta.json.
	half := NewID(time.Now())
	for _, name := range []string{DataFile, IndexFile} {
		if err := bkt.Upload(ctx, BlockDir("tenant-a", half)+name, bytes.NewReader([]byte("partial"))); err != nil {
			t.Fatal(err)
		}
	}
	// A block whose meta.json write was cut short, and one whose meta.json
	// was zero-filled after a crash.
	good, err := readObject(ctx, bkt, BlockDir("tenant-a", m1.ID)+MetaFile, maxMetaSize)
	if err != nil {
		t.Fatal(err)
	}
	torn, zeroed := NewID(time.Now()), NewID(time.Now())
	tornMeta := map[string][]byte{torn: good[:len(good)/2], zeroed: append(slices.Clone(good[:len(good)-2]), 0, 0)}
	for id, meta := range tornMeta {
		for name, body := range map[string][]byte{DataFile: []byte("partial"), IndexFile: []byte("partial"), MetaFile: meta} {
			if err := bkt.Upload(ctx, BlockDir("tenant-a", id)+name, bytes.NewReader(body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	ids, err := List(ctx, bkt, "tenant-a")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{m1.ID, m2.ID}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("List = %v, want %v", ids, want)
	}
	incomplete, err := ListIncomplete(ctx, bkt, "tenant-a")
	wantIncomplete := []string{half, torn, zeroed}
	slices.Sort(wantIncomplete)
	if err != nil || !slices.Equal(incomplete, wantIncomplete) {
		t.Fatalf("ListIncomplete = %v, %v; want %v", incomplete, err, wantIncomplete)
	}
	for _, id := range wantIncomplete {
		if _, err := Open(ctx, bkt, "tenant-a", id); !errors.Is(err, ErrIncomplete) {
			t.Fatalf("Open of incomplete block %s: %v, want ErrIncomplete", id, err)
		}
		if err := Delete(ctx, bkt, "tenant-a", id); err != nil {
			t.Fatal(err)
		}
	}
	tenants, err := Tenants(ctx, bkt)
	if err != nil || !slices.Equal(tenants, []string{"tenant-a", "tenant-b"}) {
		t.Fatalf("Tenants = %v, %v", tenants, err)
	}
	if err := Delete(ctx, bkt, "tenant-a", m1.ID); err != nil {
		t.Fatal(err)
	}
	if err := Delete(ctx, bkt, "tenant-a", m1.ID); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
	ids, err = List(ctx, bkt, "tenant-a")
	if err != nil || !slices.Equal(ids, []string{m2.ID}) {
		t.Fatalf("List after Delete = %v, %v", ids, err)
	}
	for _, id := range []string{m1.ID, half} {
		var left []string
		_ = bkt.Iter(ctx, BlockDir("tenant-a", id), func(name string) error { left = append(left, name); return nil })
		if len(left) != 0 {
			t.Fatalf("Delete left %v", left)
		}
	}
}

func TestWriteErrors(t *testing.T) {
	ctx := context.Background()
	bkt := newBucket(t)
	spans := newWorkload(5, false).traces(2)
	tests := []struct {
		name   string
		tenant string
		spans  []model.Span
		opts   WriteOptions
	}{
		{"no spans", "t", nil, WriteOptions{}},
		{"bad tenant", "a/b", spans, WriteOptions{}},
		{"negative row group", "t", spans, WriteOptions{RowGroupSpans: -1}},
		{"fixed dedicated key", "t", spans, WriteOptions{DedicatedAttributes: []string{"http.route"}}},
		{"duplicate dedicated key", "t", spans, WriteOptions{DedicatedAttributes: []string{"a", "a"}}},
		{"too many dedicated keys", "t", spans, WriteOptions{DedicatedAttributes: strings.Split("a b c d e f g h i j k", " ")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Write(ctx, bkt, tc.tenant, tc.spans, tc.opts); err == nil {
				t.Fatal("Write succeeded")
			}
		})
	}
	if tenants, _ := Tenants(ctx, bkt); len(tenants) != 0 {
		t.Fatalf("failed writes left tenants %v", tenants)
	}
}

// corrupt rewrites one object of a block.
func corrupt(t *testing.T, bkt objstore.Bucket, meta Meta, name string, edit func([]byte) []byte) {
	t.Helper()
	ctx := context.Background()
	data, err := readObject(ctx, bkt, BlockDir(meta.Tenant, meta.ID)+name, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if err := bkt.Upload(ctx, BlockDir(meta.Tenant, meta.ID)+name, bytes.NewReader(edit(slices.Clone(data)))); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptBlock(t *testing.T) {
	spans := newWorkload(6, true).traces(400)
	ids := []model.TraceID{}
	for i := 0; i < len(spans); i += 50 {
		ids = append(ids, spans[i].TraceID)
	}
	tests := []struct {
		name string
		file string
		edit func([]byte) []byte
	}{
		{"truncated data", DataFile, func(b []byte) []byte { return b[:len(b)/2] }},
		{"empty data", DataFile, func(b []byte) []byte { return nil }},
		{"zeroed middle", DataFile, func(b []byte) []byte { clear(b[len(b)/3 : 2*len(b)/3]); return b }},
		{"flipped pages", DataFile, func(b []byte) []byte {
			for i := 200; i < len(b)-2000; i += 97 {
				b[i] ^= 0x5a
			}
			return b
		}},
		{"bad footer length", DataFile, func(b []byte) []byte { b[len(b)-6] = 0x7f; return b }},
		{"truncated index", IndexFile, func(b []byte) []byte { return b[:len(b)-9] }},
		{"flipped index", IndexFile, func(b []byte) []byte { b[len(b)/2] ^= 1; return b }},
		{"bad meta", MetaFile, func(b []byte) []byte { return []byte(`{"version": 1}`) }},
		{"future meta", MetaFile, func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"version": 2`), []byte(`"version": 99`), 1)
		}},
		{"meta of another size", MetaFile, func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"span_count": 2000`), []byte(`"span_count": 1999`), 1)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			bkt := newBucket(t)
			meta, err := Write(ctx, bkt, "tenant-a", spans, WriteOptions{RowGroupSpans: 500})
			if err != nil {
				t.Fatal(err)
			}
			corrupt(t, bkt, meta, tc.file, tc.edit)
			b, err := Open(ctx, bkt, "tenant-a", meta.ID)
			if err != nil {
				// Refused at open: fine, but a complete block is never
				// taken for an incomplete one (which may be deleted).
				if errors.Is(err, ErrIncomplete) {
					t.Fatalf("Open of a damaged complete block: %v", err)
				}
				return
			}
			defer b.Close()
			failed := false
			for _, id := range ids {
				if _, err := b.FindTrace(ctx, id); err != nil {
					failed = true
					if !errors.Is(err, ErrCorrupt) {
						t.Fatalf("FindTrace error %v does not wrap ErrCorrupt", err)
					}
				}
			}
			if err := b.Iter(ctx, func(model.Span) error { return nil }); err != nil {
				failed = true
			}
			if !failed {
				t.Fatal("damaged block read without error")
			}
		})
	}
}

func TestSortOrder(t *testing.T) {
	grouped := newWorkload(12, true).traces(500)
	shuffled := slices.Clone(grouped)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	split := slices.Clone(grouped)
	split = append(split[250:], split[:250]...) // a trace split in two runs
	sameStart := newWorkload(13, false).traces(20)
	for i := range sameStart {
		sameStart[i].StartTimeUnixNano = 7 // ties broken by span ID
	}
	tests := []struct {
		name  string
		spans []model.Span
	}{
		{"grouped by trace", grouped},
		{"shuffled", shuffled},
		{"trace in two runs", split},
		{"equal start times", sameStart},
		{"one span", grouped[:1]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			order := sortOrder(tc.spans)
			if len(order) != len(tc.spans) {
				t.Fatalf("order has %d entries for %d spans", len(order), len(tc.spans))
			}
			seen := make([]bool, len(order))
			for _, i := range order {
				if seen[i] {
					t.Fatalf("span %d ordered twice", i)
				}
				seen[i] = true
			}
			for k := 1; k < len(order); k++ {
				a, b := &tc.spans[order[k-1]], &tc.spans[order[k]]
				c := bytes.Compare(a.TraceID[:], b.TraceID[:])
				if c == 0 && a.StartTimeUnixNano != b.StartTimeUnixNano {
					c = cmp.Compare(a.StartTimeUnixNano, b.StartTimeUnixNano)
				} else if c == 0 {
					c = bytes.Compare(a.SpanID[:], b.SpanID[:])
				}
				if c > 0 {
					t.Fatalf("positions %d and %d out of order", k-1, k)
				}
			}
		})
	}
}

// TestConcurrentReads runs lookups, searches and iterations on one block
// from several goroutines; with -race it checks the pooled buffers.
func TestConcurrentReads(t *testing.T) {
	spans := newWorkload(14, true).traces(400)
	b := writeOpen(t, newBucket(t), spans, WriteOptions{RowGroupSpans: 300})
	sorted := sortedCopy(spans)
	req := filter.Request{Limit: 5, Conditions: []filter.Condition{{Scope: filter.ScopeAny, Key: "user.tier", Op: filter.OpEq, Value: model.StringValue("gold")}}}
	if err := req.Compile(); err != nil {
		t.Fatal(err)
	}
	want := expectSearch(&req, sorted)
	ctx := context.Background()
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			errs <- func() error {
				for i := g; i < len(spans); i += 40 {
					got, err := b.FindTrace(ctx, spans[i].TraceID)
					if err != nil || len(got) != 5 {
						return fmt.Errorf("FindTrace: %d spans, %v", len(got), err)
					}
					var found []filter.Match
					if err := b.Search(ctx, &req, func(m filter.Match) bool { found = append(found, m); return true }); err != nil {
						return err
					}
					if !reflect.DeepEqual(found, want) {
						return fmt.Errorf("search found %d traces, want %d", len(found), len(want))
					}
				}
				n := 0
				err := b.Iter(ctx, func(model.Span) error { n++; return nil })
				if err == nil && n != len(spans) {
					err = fmt.Errorf("Iter gave %d spans", n)
				}
				return err
			}()
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestReadVersion1 reads a block written by the version-1 writer (in
// testdata/v1, made from richSpans): every span must come back exactly.
func TestReadVersion1(t *testing.T) {
	const id = "01HF7YAT00B57CJA2ZNQKPJRB3"
	ctx := context.Background()
	bkt := newBucket(t)
	for _, name := range []string{DataFile, IndexFile, MetaFile} {
		data, err := os.ReadFile(filepath.Join("testdata", "v1", "tenant-a", id, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := bkt.Upload(ctx, BlockDir("tenant-a", id)+name, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
	}
	b, err := Open(ctx, bkt, "tenant-a", id)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if v := b.Meta().Version; v != 1 {
		t.Fatalf("version %d, want 1", v)
	}
	want := sortedCopy(richSpans())
	var got []model.Span
	if err := b.Iter(ctx, func(s model.Span) error { got = append(got, s); return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Iter:\n got %+v\nwant %+v", got, want)
	}
	trace, err := b.FindTrace(ctx, tid(3))
	if err != nil || !reflect.DeepEqual(trace, want[len(want)-2:]) {
		t.Fatalf("FindTrace: %+v, %v", trace, err)
	}
	req := filter.Request{Limit: 1, Conditions: []filter.Condition{{Scope: filter.ScopeSpan, Key: "http.route", Op: filter.OpEq, Value: model.StringValue("")}}}
	if err := req.Compile(); err != nil {
		t.Fatal(err)
	}
	var found []filter.Match
	if err := b.Search(ctx, &req, func(m filter.Match) bool { found = append(found, m); return true }); err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].TraceID != tid(3) {
		t.Fatalf("search for an empty dedicated value found %d traces", len(found))
	}
}
