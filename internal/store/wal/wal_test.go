package wal

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// testRecord returns a deterministic record of size bytes for id.
func testRecord(id uint64, size int) []byte {
	rec := make([]byte, size)
	for i := range rec {
		rec[i] = byte(id*31 + uint64(i)*7 + uint64(i>>8))
	}
	if size >= 8 {
		binary.BigEndian.PutUint64(rec, id)
	}
	return rec
}

// replayed is one record returned by Replay.
type replayed struct {
	seg int
	rec []byte
}

// openWAL opens a WAL and closes it when the test ends.
func openWAL(t *testing.T, dir string, opts Options) *WAL {
	t.Helper()
	w, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// replayAll replays w and returns a copy of every record.
func replayAll(t *testing.T, w *WAL) []replayed {
	t.Helper()
	var got []replayed
	err := w.Replay(context.Background(), func(seg int, rec []byte) error {
		got = append(got, replayed{seg: seg, rec: bytes.Clone(rec)})
		return nil
	})
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	return got
}

// reopenAndReplay opens dir again and returns its records.
func reopenAndReplay(t *testing.T, dir string, opts Options) []replayed {
	t.Helper()
	w := openWAL(t, dir, opts)
	got := replayAll(t, w)
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return got
}

func appendAll(t *testing.T, w *WAL, recs [][]byte) {
	t.Helper()
	for i, rec := range recs {
		if err := w.Append(context.Background(), rec); err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
	}
}

func checkRecords(t *testing.T, got []replayed, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("replayed %d records, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i].rec, want[i]) {
			t.Fatalf("record %d: got %d bytes %.16x, want %d bytes %.16x", i, len(got[i].rec), got[i].rec, len(want[i]), want[i])
		}
	}
}

// metricValue returns the value of a counter or gauge, or the sample count
// of a histogram, gathered from reg.
func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		m := f.GetMetric()[0]
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}

func TestAppendReplayRoundTrip(t *testing.T) {
	sizes := []struct {
		name  string
		sizes []int
	}{
		{"empty_record", []int{0}},
		{"small", []int{1, 2, 100, 1000}},
		{"page_boundaries", []int{PageSize - headerSize, PageSize - 2*headerSize, 1, PageSize - headerSize - 1, PageSize, headerSize}},
		{"multi_page", []int{3 * PageSize, 5, 10*PageSize + 17}},
		{"one_mib", []int{1 << 20, 1 << 20}},
	}
	for _, tc := range sizes {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var want [][]byte
			for i, size := range tc.sizes {
				want = append(want, testRecord(uint64(i), size))
			}
			w := openWAL(t, dir, Options{})
			appendAll(t, w, want)
			if err := w.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			got := reopenAndReplay(t, dir, Options{})
			checkRecords(t, got, want)
			for _, r := range got {
				if r.seg != 0 {
					t.Fatalf("record in segment %d, want 0", r.seg)
				}
			}
		})
	}
}

func TestOpenStartsNewSegment(t *testing.T) {
	dir := t.TempDir()
	for round := range 3 {
		w := openWAL(t, dir, Options{})
		first, last := w.Segments()
		if first != 0 || last != round {
			t.Fatalf("round %d: Segments() = %d, %d; want 0, %d", round, first, last, round)
		}
		got := replayAll(t, w)
		if len(got) != round {
			t.Fatalf("round %d: replayed %d records, want %d", round, len(got), round)
		}
		for i, r := range got {
			if r.seg != i || !bytes.Equal(r.rec, testRecord(uint64(i), 10)) {
				t.Fatalf("round %d: record %d in segment %d, want %d", round, i, r.seg, i)
			}
		}
		appendAll(t, w, [][]byte{testRecord(uint64(round), 10)})
		if err := w.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
}

func TestManySegments(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentSize: 2 * PageSize}
	w := openWAL(t, dir, opts)
	var want [][]byte
	for i := range 500 {
		want = append(want, testRecord(uint64(i), 1+(i*7919)%(3*PageSize)))
	}
	appendAll(t, w, want)
	_, last := w.Segments()
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if last < 100 {
		t.Fatalf("last segment %d: want many segments", last)
	}

	segs, err := listSegments(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) != last+1 {
		t.Fatalf("%d segment files, want %d", len(segs), last+1)
	}
	got := reopenAndReplay(t, dir, opts)
	checkRecords(t, got, want)
	perSeg := map[int]int{}
	for i, r := range got {
		if i > 0 && r.seg < got[i-1].seg {
			t.Fatalf("record %d in segment %d after segment %d", i, r.seg, got[i-1].seg)
		}
		perSeg[r.seg]++
	}
	for _, seg := range segs {
		st, err := os.Stat(segmentPath(dir, seg))
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > opts.SegmentSize && perSeg[seg] != 1 {
			t.Fatalf("segment %d has %d bytes and %d records: only a lone record may exceed the segment size", seg, st.Size(), perSeg[seg])
		}
	}
}

func TestLargeRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 64 MiB record")
	}
	dir := t.TempDir()
	opts := Options{SegmentSize: 1 << 20}
	w := openWAL(t, dir, opts)
	want := [][]byte{testRecord(1, 100), testRecord(2, MaxRecordSize), testRecord(3, 100)}
	appendAll(t, w, want)
	err := w.Append(context.Background(), make([]byte, MaxRecordSize+1))
	if !errors.Is(err, ErrRecordTooLarge) {
		t.Fatalf("Append of %d bytes: got %v, want ErrRecordTooLarge", MaxRecordSize+1, err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	got := reopenAndReplay(t, dir, opts)
	checkRecords(t, got, want)
	if got[0].seg != 0 || got[1].seg != 1 || got[2].seg != 2 {
		t.Fatalf("segments %d, %d, %d; want the large record alone in segment 1", got[0].seg, got[1].seg, got[2].seg)
	}
}

func TestCutTruncate(t *testing.T) {
	dir := t.TempDir()
	w := openWAL(t, dir, Options{})
	ctx := context.Background()
	appendAll(t, w, [][]byte{[]byte("a"), []byte("b")})
	idx, err := w.Cut()
	if err != nil || idx != 1 {
		t.Fatalf("Cut() = %d, %v; want 1, nil", idx, err)
	}
	if _, err := os.Stat(segmentPath(dir, 1)); err != nil {
		t.Fatalf("Cut returned before creating the new segment: %v", err)
	}
	appendAll(t, w, [][]byte{[]byte("c")})
	idx2, err := w.Cut()
	if err != nil || idx2 != 2 {
		t.Fatalf("second Cut() = %d, %v; want 2, nil", idx2, err)
	}
	if first, last := w.Segments(); first != 0 || last != 2 {
		t.Fatalf("Segments() = %d, %d; want 0, 2", first, last)
	}

	tests := []struct {
		name      string
		before    int
		wantFirst int
		wantFiles []int
	}{
		{"below_first_is_noop", 0, 0, []int{0, 1, 2}},
		{"deletes_older", 1, 1, []int{1, 2}},
		{"same_again_is_noop", 1, 1, []int{1, 2}},
		{"never_deletes_current", 100, 2, []int{2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := w.Truncate(tc.before); err != nil {
				t.Fatalf("Truncate(%d): %v", tc.before, err)
			}
			files, err := listSegments(dir)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(files) != fmt.Sprint(tc.wantFiles) {
				t.Fatalf("segment files %v, want %v", files, tc.wantFiles)
			}
			if first, last := w.Segments(); first != tc.wantFirst || last != 2 {
				t.Fatalf("Segments() = %d, %d; want %d, 2", first, last, tc.wantFirst)
			}
		})
	}
	if err := w.Append(ctx, []byte("d")); err != nil {
		t.Fatalf("Append after Truncate: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	got := reopenAndReplay(t, dir, Options{})
	checkRecords(t, got, [][]byte{[]byte("d")})
	if got[0].seg != 2 {
		t.Fatalf("record in segment %d, want 2", got[0].seg)
	}
}

// TestCutOrdering checks Cut's guarantee under concurrent appends: a record
// whose Append returned before Cut was called is in a lower segment.
func TestCutOrdering(t *testing.T) {
	dir := t.TempDir()
	w := openWAL(t, dir, Options{})
	const appenders = 8
	var acked [appenders]atomic.Int64 // highest acknowledged sequence per appender
	for i := range acked {
		acked[i].Store(-1)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for g := range appenders {
		wg.Go(func() {
			for seq := int64(0); ctx.Err() == nil; seq++ {
				rec := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, uint64(g)), uint64(seq))
				if err := w.Append(context.Background(), rec); err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				acked[g].Store(seq)
			}
		})
	}
	type cut struct {
		snapshot [appenders]int64
		index    int
	}
	var cuts []cut
	for range 20 {
		var c cut
		for g := range acked {
			c.snapshot[g] = acked[g].Load()
		}
		idx, err := w.Cut()
		if err != nil {
			t.Fatalf("Cut: %v", err)
		}
		c.index = idx
		cuts = append(cuts, c)
	}
	cancel()
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	segOf := map[[2]uint64]int{}
	for _, r := range reopenAndReplay(t, dir, Options{}) {
		segOf[[2]uint64{binary.BigEndian.Uint64(r.rec), binary.BigEndian.Uint64(r.rec[8:])}] = r.seg
	}
	for _, c := range cuts {
		for g, top := range c.snapshot {
			for seq := int64(0); seq <= top; seq++ {
				seg, ok := segOf[[2]uint64{uint64(g), uint64(seq)}]
				if !ok || seg >= c.index {
					t.Fatalf("appender %d record %d: in segment %d (found %v), want below cut %d", g, seq, seg, ok, c.index)
				}
			}
		}
	}
}

// concurrentRecordSize mixes small records, framed under the WAL's lock,
// with large ones, framed by their appenders.
func concurrentRecordSize(id uint64) int {
	if id%5 == 0 {
		return ownBufferMin + int(id*7919%(2*PageSize))
	}
	return 8 + int(id%3000)
}

func TestConcurrentAppends(t *testing.T) {
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	opts := Options{SegmentSize: 256 << 10, Registerer: reg}
	w := openWAL(t, dir, opts)
	const goroutines, perGoroutine = 100, 40
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perGoroutine {
				id := uint64(g*perGoroutine + i)
				if err := w.Append(context.Background(), testRecord(id, concurrentRecordSize(id))); err != nil {
					t.Errorf("Append %d: %v", id, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := metricValue(t, reg, "waymark_wal_records_appended_total"); got != goroutines*perGoroutine {
		t.Fatalf("waymark_wal_records_appended_total = %v, want %d", got, goroutines*perGoroutine)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	seen := make(map[uint64]bool)
	for _, r := range reopenAndReplay(t, dir, Options{SegmentSize: opts.SegmentSize}) {
		id := binary.BigEndian.Uint64(r.rec)
		if seen[id] {
			t.Fatalf("record %d replayed twice", id)
		}
		seen[id] = true
		if !bytes.Equal(r.rec, testRecord(id, concurrentRecordSize(id))) {
			t.Fatalf("record %d damaged", id)
		}
	}
	if len(seen) != goroutines*perGoroutine {
		t.Fatalf("replayed %d distinct records, want %d", len(seen), goroutines*perGoroutine)
	}
}

func TestClose(t *testing.T) {
	ctx := context.Background()
	t.Run("idempotent_and_refuses_work", func(t *testing.T) {
		w := openWAL(t, t.TempDir(), Options{})
		if err := w.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if err := w.Append(ctx, []byte("x")); !errors.Is(err, ErrClosed) {
			t.Fatalf("Append after Close: %v, want ErrClosed", err)
		}
		if _, err := w.Cut(); !errors.Is(err, ErrClosed) {
			t.Fatalf("Cut after Close: %v, want ErrClosed", err)
		}
		if err := w.Truncate(1); !errors.Is(err, ErrClosed) {
			t.Fatalf("Truncate after Close: %v, want ErrClosed", err)
		}
		if err := w.Replay(ctx, func(int, []byte) error { return nil }); !errors.Is(err, ErrClosed) {
			t.Fatalf("Replay after Close: %v, want ErrClosed", err)
		}
	})
	t.Run("racing_appends_are_durable_or_refused", func(t *testing.T) {
		dir := t.TempDir()
		w := openWAL(t, dir, Options{})
		var wg sync.WaitGroup
		var mu sync.Mutex
		acked := map[uint64]bool{}
		someAcked := make(chan struct{})
		var once sync.Once
		for g := range 16 {
			wg.Go(func() {
				for i := range 1000 {
					id := uint64(g*1000 + i)
					err := w.Append(ctx, testRecord(id, 64))
					if errors.Is(err, ErrClosed) {
						return
					}
					if err != nil {
						t.Errorf("Append: %v", err)
						return
					}
					mu.Lock()
					acked[id] = true
					if len(acked) == 100 {
						once.Do(func() { close(someAcked) })
					}
					mu.Unlock()
				}
			})
		}
		go func() { wg.Wait(); once.Do(func() { close(someAcked) }) }()
		// Close once some appends have completed, while others are queued.
		<-someAcked
		if err := w.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		wg.Wait()
		got := reopenAndReplay(t, dir, Options{})
		present := map[uint64]bool{}
		for _, r := range got {
			present[binary.BigEndian.Uint64(r.rec)] = true
		}
		for id := range acked {
			if !present[id] {
				t.Fatalf("acknowledged record %d missing after Close", id)
			}
		}
	})
	t.Run("releases_directory", func(t *testing.T) {
		dir := t.TempDir()
		w := openWAL(t, dir, Options{})
		if _, err := Open(dir, Options{}); !errors.Is(err, ErrLocked) {
			t.Fatalf("second Open: %v, want ErrLocked", err)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		w2 := openWAL(t, dir, Options{})
		if err := w2.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	})
}

func TestAppendContext(t *testing.T) {
	dir := t.TempDir()
	w := openWAL(t, dir, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Append(ctx, []byte("never")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append with canceled context: %v, want context.Canceled", err)
	}
	appendAll(t, w, [][]byte{[]byte("kept")})
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	checkRecords(t, reopenAndReplay(t, dir, Options{}), [][]byte{[]byte("kept")})
}

func TestReplayContract(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w := openWAL(t, dir, Options{})
	appendAll(t, w, [][]byte{[]byte("one"), []byte("two")})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	noop := func(int, []byte) error { return nil }

	t.Run("once", func(t *testing.T) {
		w := openWAL(t, dir, Options{})
		if err := w.Replay(ctx, noop); err != nil {
			t.Fatalf("Replay: %v", err)
		}
		if err := w.Replay(ctx, noop); err == nil {
			t.Fatal("second Replay succeeded")
		}
	})
	t.Run("not_after_append", func(t *testing.T) {
		w := openWAL(t, dir, Options{})
		appendAll(t, w, [][]byte{[]byte("x")})
		if err := w.Replay(ctx, noop); err == nil {
			t.Fatal("Replay after Append succeeded")
		}
	})
	t.Run("callback_error_stops", func(t *testing.T) {
		w := openWAL(t, dir, Options{})
		stop := errors.New("stop")
		calls := 0
		err := w.Replay(ctx, func(int, []byte) error { calls++; return stop })
		if !errors.Is(err, stop) || calls != 1 {
			t.Fatalf("Replay = %v after %d calls; want the callback's error after 1", err, calls)
		}
	})
	t.Run("canceled_context", func(t *testing.T) {
		w := openWAL(t, dir, Options{})
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := w.Replay(cctx, noop); !errors.Is(err, context.Canceled) {
			t.Fatalf("Replay = %v, want context.Canceled", err)
		}
	})
}

func TestOpenErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	held := openWAL(t, t.TempDir(), Options{Registerer: reg})
	_ = held
	tests := []struct {
		name string
		dir  string
		opts Options
	}{
		{"negative_segment_size", t.TempDir(), Options{SegmentSize: -1}},
		{"segment_smaller_than_page", t.TempDir(), Options{SegmentSize: PageSize - 1}},
		{"dir_is_a_file", file, Options{}},
		{"metrics_already_registered", t.TempDir(), Options{Registerer: reg}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, err := Open(tc.dir, tc.opts)
			if err == nil {
				w.Close()
				t.Fatal("Open succeeded")
			}
		})
	}
	// A failed Open releases the directory.
	w := openWAL(t, tests[3].dir, Options{})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	dir := t.TempDir()
	w := openWAL(t, dir, Options{Registerer: reg})
	appendAll(t, w, [][]byte{[]byte("a"), []byte("bb"), []byte("ccc")})
	if _, err := w.Cut(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(segmentPath(dir, 0))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		"waymark_wal_records_appended_total": 3,
		"waymark_wal_bytes_appended_total":   float64(st.Size()),
		"waymark_wal_segments":               2,
		"waymark_wal_corruptions_total":      0,
	}
	for name, v := range want {
		if got := metricValue(t, reg, name); got != v {
			t.Errorf("%s = %v, want %v", name, got, v)
		}
	}
	for _, name := range []string{"waymark_wal_fsync_duration_seconds", "waymark_wal_group_commit_records"} {
		if got := metricValue(t, reg, name); got < 1 || got > 4 {
			t.Errorf("%s has %v samples, want 1 to 4", name, got)
		}
	}
	if err := w.Truncate(1); err != nil {
		t.Fatal(err)
	}
	if got := metricValue(t, reg, "waymark_wal_segments"); got != 1 {
		t.Errorf("waymark_wal_segments after Truncate = %v, want 1", got)
	}
	// Close unregisters, so a WAL opened later can register again.
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w2 := openWAL(t, t.TempDir(), Options{Registerer: reg})
	if err := w2.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestRecordNeverSpansSegments(t *testing.T) {
	tests := []struct {
		name     string
		segSize  int64
		sizes    []int
		wantSegs []int
	}{
		{"fills_segment_exactly", 2 * PageSize, []int{PageSize - headerSize, PageSize - headerSize, 1}, []int{0, 0, 1}},
		// 32 KiB spills 7 bytes into page 1; the second record's raw size
		// fits the segment but its framing does not.
		{"framing_overflows", 2 * PageSize, []int{PageSize, PageSize - 19, 1}, []int{0, 1, 1}},
		{"larger_than_segment", PageSize, []int{10, 3 * PageSize, 10}, []int{0, 1, 2}},
		{"larger_than_segment_first", PageSize, []int{3 * PageSize, 10}, []int{0, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{SegmentSize: tc.segSize}
			w := openWAL(t, dir, opts)
			var want [][]byte
			for i, size := range tc.sizes {
				want = append(want, testRecord(uint64(i), size))
			}
			appendAll(t, w, want)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got := reopenAndReplay(t, dir, opts)
			checkRecords(t, got, want)
			perSeg := map[int]int{}
			for i, r := range got {
				if r.seg != tc.wantSegs[i] {
					t.Errorf("record %d in segment %d, want %d", i, r.seg, tc.wantSegs[i])
				}
				perSeg[r.seg]++
			}
			for seg, n := range perSeg {
				st, err := os.Stat(segmentPath(dir, seg))
				if err != nil {
					t.Fatal(err)
				}
				if st.Size() > tc.segSize && n > 1 {
					t.Errorf("segment %d holds %d records in %d bytes, over the %d-byte segment size", seg, n, st.Size(), tc.segSize)
				}
			}
		})
	}
}
