package block

import (
	"bytes"
	"context"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/thanos-io/objstore"

	"waymark/internal/model"
)

// objects returns every object of bkt by name.
func objects(t *testing.T, bkt objstore.Bucket) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	out := make(map[string][]byte)
	err := bkt.Iter(ctx, "", func(name string) error {
		data, err := readObject(ctx, bkt, name, 1<<30)
		out[name] = data
		return err
	}, objstore.WithRecursiveIter())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// addInCalls adds spans to w in calls of the given sizes, the rest in a
// last call. With reuse set, each call gets a copy in one buffer that is
// cleared once Add returns, as a caller reusing its slice does.
func addInCalls(t *testing.T, w *Writer, spans []model.Span, sizes []int, reuse bool) {
	t.Helper()
	var buf []model.Span
	add := func(part []model.Span) {
		if reuse {
			buf = append(buf[:0], part...)
			part = buf
		}
		if err := w.Add(part); err != nil {
			t.Fatalf("Add: %v", err)
		}
		clear(buf)
	}
	for _, n := range sizes {
		n = min(n, len(spans))
		add(spans[:n])
		spans = spans[n:]
	}
	add(spans)
}

func TestWriterMatchesWrite(t *testing.T) {
	ctx := context.Background()
	created := time.Unix(1_760_000_000, 0)
	spans := newWorkload(21, true).traces(1500)
	sorted := sortedCopy(spans)
	traces := countTraces(sorted, sortOrder(sorted))
	opts := WriteOptions{RowGroupSpans: 1000, Level: 1, DedicatedAttributes: []string{"request.id"}, Now: func() time.Time { return created }}
	ref := newBucket(t)
	want, err := Write(ctx, ref, "tenant-a", spans, opts)
	if err != nil {
		t.Fatal(err)
	}
	wantObjects := objects(t, ref)
	tests := []struct {
		name  string
		sizes []int
		reuse bool
	}{
		{"one call", nil, false},
		{"uneven calls", []int{1, 7, 1023, 1024, 3333}, false},
		{"calls splitting traces", []int{2, 3, 2, 3, 999, 1001}, false},
		{"empty calls", []int{0, 10, 0, 0, 5000}, false},
		{"caller reuses its slice", []int{5, 5, 5, 700, 5, 1200}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bkt := newBucket(t)
			w, err := NewWriter(ctx, bkt, "tenant-a", opts, traces)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Abort()
			addInCalls(t, w, sorted, tc.sizes, tc.reuse)
			got, err := w.Close()
			if err != nil {
				t.Fatal(err)
			}
			// Block IDs end in random bits; everything else is the same.
			id := got.ID
			got.ID = want.ID
			if !reflect.DeepEqual(got, want) {
				t.Errorf("meta = %+v, want %+v", got, want)
			}
			gotObjects := objects(t, bkt)
			if len(gotObjects) != len(wantObjects) {
				t.Errorf("writer stored %d objects, Write %d", len(gotObjects), len(wantObjects))
			}
			for _, name := range []string{DataFile, IndexFile, MetaFile} {
				data := bytes.ReplaceAll(gotObjects[BlockDir("tenant-a", id)+name], []byte(id), []byte(want.ID))
				if !bytes.Equal(data, wantObjects[BlockDir("tenant-a", want.ID)+name]) {
					t.Errorf("%s differs from what Write stores", name)
				}
			}
		})
	}
}

func TestWriterBloomUpperBound(t *testing.T) {
	ctx := context.Background()
	spans := sortedCopy(newWorkload(22, false).traces(300))
	bkt := newBucket(t)
	w, err := NewWriter(ctx, bkt, "tenant-a", WriteOptions{RowGroupSpans: 200}, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	addInCalls(t, w, spans, []int{100, 100}, false)
	meta, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if meta.SpanCount != int64(len(spans)) || meta.TraceCount != 300 {
		t.Errorf("meta counts %d spans, %d traces; want %d, 300", meta.SpanCount, meta.TraceCount, len(spans))
	}
	b, err := Open(ctx, bkt, "tenant-a", meta.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var got []model.Span
	if err := b.Iter(ctx, func(s model.Span) error { got = append(got, s); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(spans) {
		t.Fatalf("block holds %d spans, want %d", len(got), len(spans))
	}
	for i := range got {
		if CompareSpans(&got[i], &spans[i]) != 0 || got[i].Name != spans[i].Name {
			t.Fatalf("span %d = %s/%s, want %s/%s", i, got[i].TraceID, got[i].SpanID, spans[i].TraceID, spans[i].SpanID)
		}
	}
	for i := 0; i < len(spans); i += 5 {
		tr, err := b.FindTrace(ctx, spans[i].TraceID)
		if err != nil || len(tr) != 5 {
			t.Fatalf("FindTrace(%s) = %d spans, %v; want 5", spans[i].TraceID, len(tr), err)
		}
	}
}

func TestWriterRejectsOutOfOrder(t *testing.T) {
	spans := sortedCopy(newWorkload(23, false).traces(20))
	later := func(i int) []model.Span { return spans[i : i+1] }
	tests := []struct {
		name  string
		first []model.Span // accepted
		bad   []model.Span // rejected
	}{
		{"within one call", nil, []model.Span{spans[10], spans[9]}},
		{"earlier trace in a later call", spans[:50], later(20)},
		{"earlier start within a trace", spans[:3], later(1)},
		{"earlier span ID at the same start", spans[:3], []model.Span{func() model.Span {
			s := spans[2]
			s.SpanID = model.SpanID{}
			return s
		}()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			bkt := newBucket(t)
			w, err := NewWriter(ctx, bkt, "tenant-a", WriteOptions{}, 20)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Abort()
			if err := w.Add(tc.first); err != nil {
				t.Fatal(err)
			}
			if err := w.Add(tc.bad); err == nil {
				t.Fatal("Add accepted spans out of order")
			}
			// The rejected call changed nothing: the rest still fits.
			rest := spans[len(tc.first):]
			if err := w.Add(rest); err != nil {
				t.Fatalf("Add after a rejected call: %v", err)
			}
			meta, err := w.Close()
			if err != nil {
				t.Fatal(err)
			}
			if meta.SpanCount != int64(len(spans)) {
				t.Errorf("block holds %d spans, want %d", meta.SpanCount, len(spans))
			}
		})
	}
}

func TestWriterAbort(t *testing.T) {
	spans := sortedCopy(newWorkload(24, false).traces(400))
	tests := []struct {
		name     string
		canceled bool
		// run uses w and reports whether the block must remain.
		run func(t *testing.T, w *Writer) bool
	}{
		{"before any span", false, func(t *testing.T, w *Writer) bool { w.Abort(); return false }},
		{"after row groups were stored", false, func(t *testing.T, w *Writer) bool {
			if err := w.Add(spans); err != nil {
				t.Fatal(err)
			}
			w.Abort()
			if err := w.Add(spans[:1]); err == nil {
				t.Error("Add after Abort succeeded")
			}
			if _, err := w.Close(); err == nil {
				t.Error("Close after Abort succeeded")
			}
			return false
		}},
		{"close without spans", false, func(t *testing.T, w *Writer) bool {
			if _, err := w.Close(); err == nil {
				t.Error("Close of an empty block succeeded")
			}
			return false
		}},
		{"after close", false, func(t *testing.T, w *Writer) bool {
			if err := w.Add(spans); err != nil {
				t.Fatal(err)
			}
			if _, err := w.Close(); err != nil {
				t.Fatal(err)
			}
			w.Abort()
			return true
		}},
		{"canceled context", true, func(t *testing.T, w *Writer) bool {
			if err := w.Add(spans); err == nil {
				t.Error("Add with a canceled context succeeded")
			}
			if _, err := w.Close(); err == nil {
				t.Error("Close after a failed Add succeeded")
			}
			return false
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.canceled {
				cancel()
			}
			bkt := newBucket(t)
			w, err := NewWriter(ctx, bkt, "tenant-a", WriteOptions{RowGroupSpans: 300}, 400)
			if err != nil {
				t.Fatal(err)
			}
			keep := tc.run(t, w)
			left := objects(t, bkt)
			if keep && len(left) != 3 {
				t.Errorf("complete block has objects %v, want data, index and meta", slices.Sorted(maps.Keys(left)))
			}
			if !keep && len(left) != 0 {
				t.Errorf("objects left: %v", slices.Sorted(maps.Keys(left)))
			}
		})
	}
}
