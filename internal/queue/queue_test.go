package queue

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"waymark/internal/model"
	"waymark/internal/testkit"
)

func openTest(t testing.TB, dir string, cfg Config, reg prometheus.Registerer) *Queue {
	t.Helper()
	q, err := Open(dir, Options{Config: cfg, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func closeTest(t testing.TB, q *Queue) {
	t.Helper()
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
}

func put(t testing.TB, q *Queue, items ...string) {
	t.Helper()
	for _, it := range items {
		if err := q.Put(context.Background(), []byte(it)); err != nil {
			t.Fatalf("Put(%q): %v", it, err)
		}
	}
}

func get(t testing.TB, q *Queue) Item {
	t.Helper()
	it, err := q.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return it
}

func ack(t testing.TB, q *Queue, it Item) {
	t.Helper()
	if err := q.Ack(it); err != nil {
		t.Fatal(err)
	}
}

// drain gets every pending item without blocking past the last one.
func drain(t testing.TB, q *Queue) []string {
	t.Helper()
	var out []string
	for n := q.Stats().PendingItems; n > 0; n-- {
		it := get(t, q)
		out = append(out, string(it.Data))
		ack(t, q, it)
	}
	return out
}

func items(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%04d-%s", prefix, i, strings.Repeat("x", i%50))
	}
	return out
}

func segmentFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+segmentSuffix))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestOrderAndSegmentCleanup(t *testing.T) {
	dir := t.TempDir()
	q := openTest(t, dir, Config{SegmentBytes: 256, AckSyncInterval: time.Hour}, nil)
	want := items("a", 100)
	put(t, q, want...)
	if n := len(segmentFiles(t, dir)); n < 10 {
		t.Fatalf("%d segments, want many with 256-byte segments", n)
	}
	got := drain(t, q)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("items out of order:\n got %v\nwant %v", got, want)
	}
	if st := q.Stats(); st != (Stats{}) {
		t.Errorf("stats after acking everything = %+v, want zero", st)
	}
	if n := len(segmentFiles(t, dir)); n != 1 {
		t.Errorf("%d segment files after acking everything, want 1", n)
	}
	closeTest(t, q)
}

// A consumer that keeps up acks the write segment to its end before the
// producer rolls to the next one; acks in the new segment must still move
// the ack position, or the queue never drains and its segments stay.
func TestAckedWriteSegmentRollsOver(t *testing.T) {
	dir := t.TempDir()
	q := openTest(t, dir, Config{SegmentBytes: 256, AckSyncInterval: time.Hour}, nil)
	for i, it := range items("k", 40) {
		put(t, q, it)
		got := get(t, q)
		if string(got.Data) != it {
			t.Fatalf("item %d: got %q, want %q", i, got.Data, it)
		}
		ack(t, q, got)
		if st := q.Stats(); st != (Stats{}) {
			t.Fatalf("after acking item %d of a consumer that keeps up: stats %+v, want zero", i, st)
		}
	}
	if n := len(segmentFiles(t, dir)); n > 2 {
		t.Errorf("%d segment files after acking everything, want at most the write segment and one being deleted", n)
	}
	closeTest(t, q)
	q = openTest(t, dir, Config{SegmentBytes: 256}, nil)
	defer closeTest(t, q)
	if st := q.Stats(); st != (Stats{}) {
		t.Errorf("after restart: stats %+v, want zero (nothing to deliver again)", st)
	}
}

func TestRestartRedeliversUnacked(t *testing.T) {
	dir := t.TempDir()
	q := openTest(t, dir, Config{SegmentBytes: 128, AckSyncInterval: 0}, nil)
	all := items("r", 10)
	put(t, q, all...)
	var got []Item
	for i := 0; i < 6; i++ {
		got = append(got, get(t, q))
	}
	// Items 0-2 are acked in order; 4 is acked out of order, so the stored
	// position stays after 2 and 3-9 come back.
	for _, i := range []int{1, 0, 2, 4} {
		ack(t, q, got[i])
	}
	closeTest(t, q)

	q = openTest(t, dir, Config{SegmentBytes: 128}, nil)
	defer closeTest(t, q)
	if got, want := strings.Join(drain(t, q), ","), strings.Join(all[3:], ","); got != want {
		t.Fatalf("after restart got %s, want %s", got, want)
	}
}

func TestAckRules(t *testing.T) {
	q := openTest(t, t.TempDir(), Config{}, nil)
	defer closeTest(t, q)
	put(t, q, "one", "two")
	it := get(t, q)
	ack(t, q, it)
	if err := q.Ack(it); err != nil {
		t.Errorf("second Ack = %v, want nil", err)
	}
	if err := q.Ack(Item{}); !errors.Is(err, ErrUnknownItem) {
		t.Errorf("Ack of a zero Item = %v, want ErrUnknownItem", err)
	}
	if st := q.Stats(); st.PendingItems != 1 {
		t.Errorf("pending items = %d, want 1", st.PendingItems)
	}
}

func TestPutErrors(t *testing.T) {
	reg := prometheus.NewRegistry()
	q := openTest(t, t.TempDir(), Config{CapacityBytes: 64, SegmentBytes: 64}, reg)
	tests := []struct {
		name string
		item []byte
		want error
	}{
		{"empty", nil, ErrEmpty},
		{"larger than capacity", make([]byte, 57), ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := q.Put(context.Background(), tt.item); !errors.Is(err, tt.want) {
				t.Errorf("Put = %v, want %v", err, tt.want)
			}
		})
	}
	if err := q.Put(context.Background(), make([]byte, 56)); err != nil {
		t.Errorf("Put of an item that just fits: %v", err)
	}
	closeTest(t, q)
	if err := q.Put(context.Background(), []byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Put after Close = %v, want ErrClosed", err)
	}
	if _, err := q.Get(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close = %v, want ErrClosed", err)
	}
	if got := testkit.MetricValue(t, reg, "waymark_queue_enqueue_failures_total", "too_large"); got != 1 {
		t.Errorf("too_large failures = %v, want 1", got)
	}
}

func TestFullDropOldest(t *testing.T) {
	reg := prometheus.NewRegistry()
	dir := t.TempDir()
	// Each 92-byte item takes 100 bytes: ten fit in 1000.
	q := openTest(t, dir, Config{CapacityBytes: 1000, SegmentBytes: 300}, reg)
	var all []string
	for i := 0; i < 25; i++ {
		all = append(all, fmt.Sprintf("%02d%s", i, strings.Repeat("d", 90)))
	}
	put(t, q, all[:5]...)
	inflight := get(t, q) // item 0, dropped while in flight
	put(t, q, all[5:]...)
	if err := q.Ack(inflight); err != nil {
		t.Errorf("Ack of a dropped item = %v, want nil", err)
	}
	if st := q.Stats(); st.PendingItems != 10 || st.PendingBytes != 1000 {
		t.Errorf("stats = %+v, want 10 items, 1000 bytes", st)
	}
	if got := testkit.MetricValue(t, reg, "waymark_queue_dropped_items_total", ""); got != 15 {
		t.Errorf("dropped = %v, want 15", got)
	}
	if got := testkit.MetricValue(t, reg, "waymark_queue_pending_bytes", ""); got != 1000 {
		t.Errorf("pending bytes gauge = %v, want 1000", got)
	}
	closeTest(t, q)
	q = openTest(t, dir, Config{CapacityBytes: 1000, SegmentBytes: 300}, nil)
	defer closeTest(t, q)
	if got, want := strings.Join(drain(t, q), ","), strings.Join(all[15:], ","); got != want {
		t.Fatalf("kept %s, want the newest ten %s", got, want)
	}
}

func TestFullRefuse(t *testing.T) {
	reg := prometheus.NewRegistry()
	q := openTest(t, t.TempDir(), Config{CapacityBytes: 100, SegmentBytes: 100, FullPolicy: Refuse}, reg)
	defer closeTest(t, q)
	put(t, q, strings.Repeat("a", 42), strings.Repeat("b", 42))
	err := q.Put(context.Background(), []byte("c"))
	oe, ok := model.IsOverloaded(err)
	if !ok || oe.RetryAfter <= 0 {
		t.Fatalf("Put on a full queue = %v, want *model.OverloadedError with a retry delay", err)
	}
	ack(t, q, get(t, q))
	put(t, q, "c")
	if got := testkit.MetricValue(t, reg, "waymark_queue_enqueue_failures_total", "full"); got != 1 {
		t.Errorf("full failures = %v, want 1", got)
	}
}

func TestGetBlocksUntilPut(t *testing.T) {
	q := openTest(t, t.TempDir(), Config{}, nil)
	got := make(chan string)
	go func() {
		it, err := q.Get(context.Background())
		if err != nil {
			got <- err.Error()
			return
		}
		got <- string(it.Data)
	}()
	put(t, q, "late")
	if s := <-got; s != "late" {
		t.Errorf("blocked Get returned %q, want late", s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := q.Get(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a cancelled context = %v, want context.Canceled", err)
	}
	errc := make(chan error)
	go func() {
		_, err := q.Get(context.Background())
		errc <- err
	}()
	closeTest(t, q)
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Errorf("Get blocked across Close = %v, want ErrClosed", err)
	}
}

func TestConcurrentProducers(t *testing.T) {
	const producers, perProducer = 8, 200
	dir := t.TempDir()
	q := openTest(t, dir, Config{SegmentBytes: 4096, AckSyncInterval: time.Hour}, nil)
	var wg sync.WaitGroup
	errs := make(chan error, producers)
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perProducer; i++ {
				if err := q.Put(context.Background(), fmt.Appendf(nil, "%d:%d", p, i)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	got := make(chan []string)
	go func() {
		var out []string
		for i := 0; i < producers*perProducer; i++ {
			it, err := q.Get(context.Background())
			if err != nil {
				break
			}
			out = append(out, string(it.Data))
			if err := q.Ack(it); err != nil {
				break
			}
		}
		got <- out
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	out := <-got
	if len(out) != producers*perProducer {
		t.Fatalf("consumer got %d items, want %d", len(out), producers*perProducer)
	}
	next := make([]int, producers)
	for _, s := range out {
		var p, i int
		if _, err := fmt.Sscanf(s, "%d:%d", &p, &i); err != nil {
			t.Fatal(err)
		}
		if i != next[p] {
			t.Fatalf("producer %d: got item %d, want %d", p, i, next[p])
		}
		next[p]++
	}
	closeTest(t, q)
}

// corruptions damage the tail of the last segment that holds records.
func TestTornTail(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, path string)
		keep   int // items of the 5 that survive
	}{
		{"cut mid payload", func(t *testing.T, p string) { truncateBy(t, p, 3) }, 4},
		{"cut mid header", func(t *testing.T, p string) { truncateBy(t, p, 25+8-4) }, 4},
		{"zeros appended", func(t *testing.T, p string) { appendBytes(t, p, make([]byte, 100)) }, 5},
		{"garbage appended", func(t *testing.T, p string) { appendBytes(t, p, []byte("\x05\x00\x00\x00garbage")) }, 5},
		{"flipped payload byte", func(t *testing.T, p string) { flipByte(t, p, -2) }, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			dir := t.TempDir()
			q := openTest(t, dir, Config{}, nil)
			all := items("t", 5) // the last item is 25 bytes: "t-0004-xxxx" + padding
			all[4] = "t-0004-" + strings.Repeat("y", 18)
			put(t, q, all...)
			closeTest(t, q)
			segs := segmentFiles(t, dir)
			tt.damage(t, segs[len(segs)-1])
			q = openTest(t, dir, Config{}, reg)
			put(t, q, "after")
			closeTest(t, q)
			q = openTest(t, dir, Config{}, nil)
			defer closeTest(t, q)
			want := append(append([]string(nil), all[:tt.keep]...), "after")
			if got := drain(t, q); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("got %v, want %v", got, want)
			}
			if got := testkit.MetricValue(t, reg, "waymark_queue_truncated_bytes_total", ""); got <= 0 {
				t.Errorf("truncated bytes = %v, want > 0", got)
			}
		})
	}
}

func truncateBy(t *testing.T, path string, n int64) {
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, st.Size()-n); err != nil {
		t.Fatal(err)
	}
}

func appendBytes(t *testing.T, path string, b []byte) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func flipByte(t *testing.T, path string, fromEnd int) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)+fromEnd] ^= 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptAckFileRedeliversEverything(t *testing.T) {
	dir := t.TempDir()
	q := openTest(t, dir, Config{AckSyncInterval: 0}, nil)
	put(t, q, "a", "b")
	ack(t, q, get(t, q))
	closeTest(t, q)
	if err := os.WriteFile(filepath.Join(dir, ackFileName), []byte("nonsense"), 0o644); err != nil {
		t.Fatal(err)
	}
	q = openTest(t, dir, Config{}, nil)
	defer closeTest(t, q)
	if got := strings.Join(drain(t, q), ","); got != "a,b" {
		t.Fatalf("got %s, want a,b", got)
	}
}

func TestForeignSegmentRefused(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, segmentName(1)), []byte("not a segment at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open over a foreign file = %v, want ErrCorrupt", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"default", DefaultConfig(), nil},
		{"zero", Config{}, nil},
		{"every bad field", Config{CapacityBytes: -1, SegmentBytes: -1, FullPolicy: "block", AckSyncInterval: -1, RetryAfter: -1},
			[]string{"capacity_bytes:", "segment_bytes:", "full_policy:", "ack_sync_interval:", "retry_after:"}},
		{"segment above capacity", Config{CapacityBytes: 10, SegmentBytes: 20}, []string{"segment_bytes: 20 is larger"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { testkit.WantErrors(t, tt.cfg.Validate(), tt.want...) })
	}
}
