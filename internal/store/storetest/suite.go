package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/thanos-io/objstore"

	"waymark/internal/model"
	"waymark/internal/store"
	"waymark/internal/store/block"
	"waymark/internal/store/compact"
	"waymark/internal/store/filter"
	"waymark/internal/testkit"
)

// NewBucket returns a fresh, empty bucket for one test.
type NewBucket func(t *testing.T) objstore.Bucket

// Run runs the conformance suite. Every test opens stores whose blocks live
// in a bucket from newBucket and whose WAL lives in a temporary directory.
func Run(t *testing.T, newBucket NewBucket) {
	tests := []struct {
		name string
		run  func(t *testing.T, e *env)
	}{
		{"WriteCutReopen", testWriteCutReopen},
		{"LookupMergesHeadAndBlocks", testLookupMergesHeadAndBlocks},
		{"SearchNewestFirst", testSearchNewestFirst},
		{"Dedupe", testDedupe},
		{"Retention", testRetention},
		{"DiskLimit", testDiskLimit},
		{"Compaction", testCompaction},
		{"InterruptedCompaction", testInterruptedCompaction},
		{"DamagedBlocks", testDamagedBlocks},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newEnv(t, newBucket))
		})
	}
}

// env is one test's WAL directory, bucket, metrics and logs.
type env struct {
	t         *testing.T
	dir       string
	bkt       objstore.Bucket
	newBucket NewBucket
	reg       *prometheus.Registry
	logs      *lockedBuffer
}

func newEnv(t *testing.T, newBucket NewBucket) *env {
	return &env{t: t, dir: t.TempDir(), bkt: newBucket(t), newBucket: newBucket, logs: &lockedBuffer{}}
}

// open opens a store on the env's directory and bucket. Unset options get
// test values: no automatic cuts, compaction only when asked, and replaced
// blocks deleted at once.
func (e *env) open(opts store.Options) *store.Store {
	e.t.Helper()
	opts.Dir, opts.Bucket = e.dir, e.bkt
	e.reg = prometheus.NewRegistry()
	opts.Registerer = e.reg
	opts.Logger = slog.New(slog.NewTextHandler(e.logs, nil))
	if opts.HeadMaxAge == 0 {
		opts.HeadMaxAge = time.Hour
	}
	if opts.CompactionInterval == 0 {
		opts.CompactionInterval = -1
	}
	if opts.ReplacedBlockDelay == 0 {
		opts.ReplacedBlockDelay = -1
	}
	s, err := store.Open(context.Background(), opts)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { s.Close() })
	return s
}

func (e *env) metric(name, label string) float64 {
	return testkit.MetricValue(e.t, e.reg, name, label)
}

// traces makes n traces of service svc, trace i starting at start + i ms:
// a server root carrying seq=i, its client call, and the called service's
// server half sharing the client's span ID, as Zipkin reports it.
func traces(rng *rand.Rand, n int, start time.Time, svc string) []model.Span {
	res := &model.Resource{ServiceName: svc, Attributes: model.Attributes{{Key: "service.name", Value: model.StringValue(svc)}, {Key: "host.name", Value: model.StringValue("h1")}}}
	db := &model.Resource{ServiceName: "db", Attributes: model.Attributes{{Key: "service.name", Value: model.StringValue("db")}}}
	var out []model.Span
	for i := 0; i < n; i++ {
		var tid model.TraceID
		var root, call model.SpanID
		for j := range tid {
			tid[j] = byte(rng.Uint32())
		}
		for j := range root {
			root[j], call[j] = byte(rng.Uint32()), byte(rng.Uint32())
		}
		t0 := uint64(start.Add(time.Duration(i) * time.Millisecond).UnixNano())
		status := model.StatusUnset
		if i%10 == 3 {
			status = model.StatusError
		}
		out = append(out,
			model.Span{TraceID: tid, SpanID: root, Name: "GET /orders", Kind: model.KindServer, Resource: res, StartTimeUnixNano: t0, EndTimeUnixNano: t0 + 9e5,
				Attributes: model.Attributes{{Key: "http.request.method", Value: model.StringValue("GET")}, {Key: "seq", Value: model.IntValue(int64(i))}}},
			model.Span{TraceID: tid, SpanID: call, ParentSpanID: root, Name: "query", Kind: model.KindClient, Resource: res, StartTimeUnixNano: t0 + 1e5, EndTimeUnixNano: t0 + 8e5},
			model.Span{TraceID: tid, SpanID: call, ParentSpanID: root, Name: "select", Kind: model.KindServer, Resource: db, StartTimeUnixNano: t0 + 2e5, EndTimeUnixNano: t0 + 7e5, StatusCode: status},
		)
	}
	return out
}

func consume(t *testing.T, s *store.Store, tenant string, spans []model.Span) {
	t.Helper()
	if err := s.Consume(context.Background(), model.Batch{Tenant: tenant, Spans: slices.Clone(spans)}); err != nil {
		t.Fatal(err)
	}
}

func cut(t *testing.T, s *store.Store) {
	t.Helper()
	if err := s.CutHead(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// identity is what makes two spans copies of one another.
type identity struct {
	trace model.TraceID
	span  model.SpanID
	kind  model.SpanKind
}

// byTrace groups the distinct spans of spans by trace.
func byTrace(spans ...[]model.Span) map[model.TraceID]map[identity]bool {
	out := make(map[model.TraceID]map[identity]bool)
	for _, l := range spans {
		for _, s := range l {
			if out[s.TraceID] == nil {
				out[s.TraceID] = make(map[identity]bool)
			}
			out[s.TraceID][identity{s.TraceID, s.SpanID, s.Kind}] = true
		}
	}
	return out
}

// wantTraces checks that every trace of spans comes back complete and
// without repeated spans.
func wantTraces(t *testing.T, s *store.Store, tenant, label string, spans ...[]model.Span) {
	t.Helper()
	for id, want := range byTrace(spans...) {
		got, err := s.FindTrace(context.Background(), tenant, id)
		if err != nil {
			t.Fatalf("%s: trace %s: %v", label, id, err)
		}
		if have := byTrace(got)[id]; len(got) != len(want) || !maps.Equal(have, want) {
			t.Fatalf("%s: trace %s: %d spans back (%d distinct), want %d", label, id, len(got), len(have), len(want))
		}
	}
}

// wantGone checks that no trace of spans is found.
func wantGone(t *testing.T, s *store.Store, tenant, label string, spans []model.Span) {
	t.Helper()
	for id := range byTrace(spans) {
		if got, err := s.FindTrace(context.Background(), tenant, id); err != nil || len(got) != 0 {
			t.Fatalf("%s: trace %s: %d spans, err %v; want none", label, id, len(got), err)
		}
	}
}

func search(t *testing.T, s *store.Store, tenant string, req filter.Request) []filter.Match {
	t.Helper()
	var got []filter.Match
	if err := s.Search(context.Background(), tenant, req, func(m filter.Match) bool { got = append(got, m); return true }); err != nil {
		t.Fatal(err)
	}
	return got
}

// metas returns the metas of tenant's complete blocks, oldest ID first.
func metas(t *testing.T, bkt objstore.Bucket, tenant string) []block.Meta {
	t.Helper()
	ctx := context.Background()
	ids, err := block.List(ctx, bkt, tenant)
	if err != nil {
		t.Fatal(err)
	}
	var out []block.Meta
	for _, id := range ids {
		m, err := block.DecodeMeta(readObject(t, bkt, block.BlockDir(tenant, id)+block.MetaFile))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func spanCount(ms []block.Meta) int64 {
	var n int64
	for _, m := range ms {
		n += m.SpanCount
	}
	return n
}

func distinctCount(spans ...[]model.Span) int64 {
	var n int64
	for _, tr := range byTrace(spans...) {
		n += int64(len(tr))
	}
	return n
}

func readObject(t *testing.T, bkt objstore.Bucket, name string) []byte {
	t.Helper()
	rc, err := bkt.Get(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func upload(t *testing.T, bkt objstore.Bucket, name string, data []byte) {
	t.Helper()
	if err := bkt.Upload(context.Background(), name, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
}

// objects lists every object under prefix.
func objects(t *testing.T, bkt objstore.Bucket, prefix string) []string {
	t.Helper()
	var out []string
	if err := bkt.Iter(context.Background(), prefix, func(name string) error {
		out = append(out, name)
		return nil
	}, objstore.WithRecursiveIter()); err != nil {
		t.Fatal(err)
	}
	return out
}

func testWriteCutReopen(t *testing.T, e *env) {
	rng := rand.New(rand.NewPCG(1, 1))
	now := time.Now()
	a := traces(rng, 50, now.Add(-2*time.Hour), "api")
	b := traces(rng, 30, now.Add(-time.Hour), "api")
	s := e.open(store.Options{})
	consume(t, s, "acme", a)
	cut(t, s)
	consume(t, s, "acme", b)
	wantTraces(t, s, "acme", "live", a, b)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = e.open(store.Options{})
	wantTraces(t, s, "acme", "after reopen", a, b)
	if ms := metas(t, e.bkt, "acme"); len(ms) != 1 || ms[0].SpanCount != int64(len(a)) || ms[0].Level != 0 {
		t.Fatalf("blocks after one cut: %+v", ms)
	}
	cut(t, s)
	s.Close()
	s = e.open(store.Options{})
	wantTraces(t, s, "acme", "blocks only", a, b)
	if n := spanCount(metas(t, e.bkt, "acme")); n != int64(len(a)+len(b)) {
		t.Errorf("blocks hold %d spans, want %d", n, len(a)+len(b))
	}
	// Blocks live in the bucket: the local directory holds only the WAL.
	entries, err := os.ReadDir(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, ent := range entries {
		if ent.Name() != "wal" {
			t.Errorf("local directory holds %s besides the WAL", ent.Name())
		}
	}
}

func testLookupMergesHeadAndBlocks(t *testing.T, e *env) {
	rng := rand.New(rand.NewPCG(2, 2))
	tr := traces(rng, 10, time.Now().Add(-time.Hour), "api")
	s := e.open(store.Options{})
	// Each trace's root and client span go to a block, the server half
	// stays in the head.
	var first, second []model.Span
	for i := 0; i < len(tr); i += 3 {
		first = append(first, tr[i:i+2]...)
		second = append(second, tr[i+2])
	}
	consume(t, s, "acme", first)
	cut(t, s)
	consume(t, s, "acme", second)
	wantTraces(t, s, "acme", "head and block", tr)
	wantGone(t, s, "other", "another tenant", tr)
}

func testSearchNewestFirst(t *testing.T, e *env) {
	rng := rand.New(rand.NewPCG(3, 3))
	base := time.Now().Add(-3 * time.Hour)
	s := e.open(store.Options{})
	var rounds [][]model.Span
	for r := 0; r < 4; r++ {
		tr := traces(rng, 20, base.Add(time.Duration(r)*10*time.Minute), "api")
		rounds = append(rounds, tr)
		consume(t, s, "acme", tr)
		if r < 3 {
			cut(t, s) // the last round stays in the head
		}
	}
	const blocksRead = "waymark_store_search_blocks_read_total"
	read0 := e.metric(blocksRead, "")
	// The 15 newest traces: the last round's 20, newest first.
	got := search(t, s, "acme", filter.Request{Limit: 15})
	if len(got) != 15 {
		t.Fatalf("limit 15 gave %d traces", len(got))
	}
	last := rounds[3]
	for i, m := range got {
		if want := last[len(last)-3*(i+1)].TraceID; m.TraceID != want {
			t.Fatalf("result %d is %s, want %s (newest first)", i, m.TraceID, want)
		}
	}
	// The head's 20 traces answer limit 15: no block is read. Limit 25
	// needs the newest block's 5 newest traces; blocks are read in
	// parallel, so up to GOMAXPROCS blocks are started, never all three.
	if got := e.metric(blocksRead, ""); got != read0 {
		t.Errorf("limit 15 read %v blocks, want none", got-read0)
	}
	got = search(t, s, "acme", filter.Request{Limit: 25})
	if len(got) != 25 {
		t.Fatalf("limit 25 gave %d traces", len(got))
	}
	for i, m := range got[20:] {
		if want := rounds[2][len(rounds[2])-3*(i+1)].TraceID; m.TraceID != want {
			t.Fatalf("result %d is %s, want %s (newest first)", 20+i, m.TraceID, want)
		}
	}
	if n := e.metric(blocksRead, "") - read0; n < 1 || n > float64(min(runtime.GOMAXPROCS(0), 2)) {
		t.Errorf("limit 25 read %v blocks, want 1 to %d of 3", n, min(runtime.GOMAXPROCS(0), 2))
	}
	// seq=7 occurs once per round: 4 traces, newest round first, across
	// head and blocks.
	got = search(t, s, "acme", filter.Request{Conditions: []filter.Condition{
		{Key: "seq", Op: filter.OpEq, Value: model.IntValue(7)},
		{Scope: filter.ScopeResource, Key: "service.name", Value: model.StringValue("api")},
	}})
	if len(got) != 4 {
		t.Fatalf("seq=7 matched %d traces, want 4", len(got))
	}
	for i, m := range got {
		if want := rounds[3-i][7*3].TraceID; m.TraceID != want {
			t.Errorf("seq=7 result %d is %s, want round %d's trace", i, m.TraceID, 3-i)
		}
	}
	// A time range selects one round.
	from := uint64(base.Add(10 * time.Minute).UnixNano())
	got = search(t, s, "acme", filter.Request{StartUnixNano: from, EndUnixNano: from + uint64(time.Minute)})
	if len(got) != 20 {
		t.Errorf("time range of round 1 matched %d traces, want 20", len(got))
	}
	errs := search(t, s, "acme", filter.Request{Conditions: []filter.Condition{{Scope: filter.ScopeIntrinsic, Key: "status", Value: model.StringValue("error")}}})
	if len(errs) != 8 {
		t.Errorf("status=error matched %d traces, want 8", len(errs))
	}
}

func testDedupe(t *testing.T, e *env) {
	rng := rand.New(rand.NewPCG(4, 4))
	tr := traces(rng, 40, time.Now().Add(-3*time.Hour), "api")
	s := e.open(store.Options{})
	// A retrying sender delivers the batch twice before a cut, and part of
	// it again after.
	consume(t, s, "acme", tr)
	consume(t, s, "acme", tr)
	cut(t, s)
	consume(t, s, "acme", tr[:30])
	wantTraces(t, s, "acme", "head and block", tr)
	cut(t, s)
	wantTraces(t, s, "acme", "two blocks", tr)
	if got := search(t, s, "acme", filter.Request{}); len(got) != 40 {
		t.Errorf("search gave %d traces, want each of the 40 once", len(got))
	}
	if err := s.Compact(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantTraces(t, s, "acme", "compacted", tr)
	ms := metas(t, e.bkt, "acme")
	if len(ms) != 1 || ms[0].SpanCount != distinctCount(tr) {
		t.Errorf("compacted blocks hold %d spans in %d blocks, want %d distinct spans in one", spanCount(ms), len(ms), distinctCount(tr))
	}
	if got := e.metric("waymark_compaction_duplicate_spans_total", ""); got != float64(len(tr)+30) {
		t.Errorf("duplicates dropped = %v, want %d", got, len(tr)+30)
	}
}

func testRetention(t *testing.T, e *env) {
	rng := rand.New(rand.NewPCG(5, 5))
	now := time.Now()
	aOld, aNew := traces(rng, 5, now.Add(-72*time.Hour), "api"), traces(rng, 5, now.Add(-time.Hour), "api")
	bOld, bAncient := traces(rng, 5, now.Add(-72*time.Hour), "api"), traces(rng, 5, now.Add(-20*24*time.Hour), "api")
	s := e.open(store.Options{TenantRetention: map[string]time.Duration{"a": 24 * time.Hour}})
	for _, b := range []struct {
		tenant string
		spans  []model.Span
	}{{"a", aOld}, {"a", aNew}, {"b", bOld}, {"b", bAncient}} {
		consume(t, s, b.tenant, b.spans)
		cut(t, s)
	}
	if err := s.ApplyRetention(context.Background(), now); err != nil {
		t.Fatal(err)
	}
	wantGone(t, s, "a", "a's 3-day-old block (1 day retention)", aOld)
	wantTraces(t, s, "a", "a's recent block", aNew)
	wantTraces(t, s, "b", "b's 3-day-old block (default 14 days)", bOld)
	wantGone(t, s, "b", "b's 20-day-old block", bAncient)
	if n := len(metas(t, e.bkt, "a")) + len(metas(t, e.bkt, "b")); n != 2 {
		t.Errorf("%d blocks left, want 2", n)
	}
	if got := e.metric("waymark_store_blocks_deleted_total", "retention"); got != 2 {
		t.Errorf("blocks deleted by retention = %v, want 2", got)
	}
}

func testDiskLimit(t *testing.T, e *env) {
	rng := rand.New(rand.NewPCG(6, 6))
	now := time.Now()
	oldest, middle, newest := traces(rng, 30, now.Add(-3*time.Hour), "api"), traces(rng, 30, now.Add(-2*time.Hour), "api"), traces(rng, 30, now.Add(-time.Hour), "api")
	s := e.open(store.Options{})
	consume(t, s, "b", middle)
	cut(t, s)
	consume(t, s, "a", oldest)
	consume(t, s, "b", newest)
	cut(t, s)
	s.Close()
	var sizes = make(map[string]int64)
	for _, tenant := range []string{"a", "b"} {
		for _, m := range metas(t, e.bkt, tenant) {
			sizes[tenant] += m.DataSize + m.IndexSize
		}
	}
	// Room for tenant b's two blocks only: a's block has the oldest data.
	s = e.open(store.Options{MaxDiskBytes: sizes["b"]})
	if err := s.ApplyDiskLimit(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantGone(t, s, "a", "oldest block", oldest)
	wantTraces(t, s, "b", "newer blocks", middle, newest)
	if got := e.metric("waymark_store_blocks_deleted_total", "disk_limit"); got != 1 {
		t.Errorf("blocks deleted by the disk limit = %v, want 1", got)
	}
	if !strings.Contains(e.logs.String(), "disk usage limit") {
		t.Errorf("no log line for the disk limit:\n%s", e.logs.String())
	}
}

// storeView is what a store answers about a tenant's traces.
type storeView struct {
	Services string
	Ops      string
	Deps     string
	Tags     string
	Errors   int
}

func viewOf(t *testing.T, s *store.Store, tenant string) storeView {
	t.Helper()
	ctx := context.Background()
	var v storeView
	svcs, err := s.Services(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	ops, err := s.Operations(ctx, tenant, "")
	if err != nil {
		t.Fatal(err)
	}
	deps, err := s.Dependencies(ctx, tenant, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := s.Tags(ctx, tenant, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	tagJSON, _ := json.Marshal(tags.List())
	v.Services, v.Ops, v.Deps, v.Tags = fmt.Sprint(svcs), fmt.Sprint(ops), fmt.Sprint(deps), string(tagJSON)
	v.Errors = len(search(t, s, tenant, filter.Request{Conditions: []filter.Condition{{Scope: filter.ScopeIntrinsic, Key: "status", Value: model.StringValue("error")}}}))
	return v
}

func testCompaction(t *testing.T, e *env) {
	rng := rand.New(rand.NewPCG(7, 7))
	base := time.Now().Add(-3 * time.Hour) // a closed window: everything merges
	s := e.open(store.Options{})
	var all []model.Span
	for r := 0; r < 4; r++ {
		tr := traces(rng, 25, base.Add(time.Duration(r)*time.Minute), "api")
		all = append(all, tr...)
		// Each trace's server half arrives after the cut.
		consume(t, s, "acme", tr[:len(tr)-1])
		cut(t, s)
		consume(t, s, "acme", tr[len(tr)-1:])
	}
	cut(t, s)
	before := viewOf(t, s, "acme")
	if n := len(metas(t, e.bkt, "acme")); n != 5 {
		t.Fatalf("%d blocks before compaction, want 5", n)
	}
	if err := s.Compact(context.Background()); err != nil {
		t.Fatal(err)
	}
	ms := metas(t, e.bkt, "acme")
	if len(ms) != 1 || ms[0].Level != 1 || ms[0].SpanCount != int64(len(all)) || ms[0].TraceCount != 100 {
		t.Fatalf("after compaction: %+v; want one level-1 block of %d spans and 100 traces", ms, len(all))
	}
	wantTraces(t, s, "acme", "compacted", all)
	// Each trace has one api -> db call; a trace split over two blocks
	// showed no call before compaction joined its halves.
	before.Deps = "[{api db 100 12}]"
	if after := viewOf(t, s, "acme"); after != before {
		t.Errorf("compaction changed what the store answers:\nbefore %+v\nafter  %+v", before, after)
	}
	if left := objects(t, e.bkt, "acme/"+compact.JournalDir); len(left) != 0 {
		t.Errorf("journal objects left: %v", left)
	}
	if got := e.metric("waymark_store_blocks_deleted_total", "compacted"); got != 5 {
		t.Errorf("compacted blocks deleted = %v, want 5", got)
	}
	if got := e.metric("waymark_compaction_runs_total", ""); got != 1 {
		t.Errorf("compaction runs = %v, want 1", got)
	}
	// Nothing more to do: the window holds one block.
	if err := s.Compact(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := e.metric("waymark_compaction_runs_total", ""); got != 1 {
		t.Errorf("compaction ran again on a single block")
	}
	s.Close()
	s = e.open(store.Options{})
	wantTraces(t, s, "acme", "compacted, after reopen", all)
	if after := viewOf(t, s, "acme"); after != before {
		t.Errorf("reopen changed what the store answers:\nbefore %+v\nafter  %+v", before, after)
	}
}

func testInterruptedCompaction(t *testing.T, e *env) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(8, 8))
	base := time.Now().Add(-3 * time.Hour)
	s := e.open(store.Options{})
	var all []model.Span
	for r := 0; r < 3; r++ {
		tr := traces(rng, 20, base.Add(time.Duration(r)*time.Minute), "api")
		all = append(all, tr...)
		consume(t, s, "acme", tr)
		consume(t, s, "acme", all[:6]) // repeated spans in every block
		cut(t, s)
	}
	s.Close()
	inputs := metas(t, e.bkt, "acme")
	var blocks []*block.Block
	for _, m := range inputs {
		b, err := block.Open(ctx, e.bkt, "acme", m.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		blocks = append(blocks, b)
	}
	g := compact.Group{Tenant: "acme", Inputs: inputs, Level: 1}

	// A crash after the new block was written, before the inputs went.
	res, err := compact.New(e.bkt, compact.Config{}).Compact(ctx, g, blocks, nil, func(context.Context, block.Meta) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if n := len(metas(t, e.bkt, "acme")); n != 4 {
		t.Fatalf("%d blocks after the interrupted compaction, want inputs and result", n)
	}
	s = e.open(store.Options{})
	ms := metas(t, e.bkt, "acme")
	if len(ms) != 1 || ms[0].ID != res.Meta.ID || spanCount(ms) != distinctCount(all) {
		t.Fatalf("after reopen: %d blocks with %d spans, want only the compacted block with %d", len(ms), spanCount(ms), distinctCount(all))
	}
	wantTraces(t, s, "acme", "finished at reopen", all)
	s.Close()

	// A crash while the new block was being written: its journal and part
	// of its data exist, its meta.json does not.
	more := traces(rng, 10, base.Add(5*time.Minute), "api")
	s = e.open(store.Options{})
	consume(t, s, "acme", more)
	cut(t, s)
	s.Close()
	ms = metas(t, e.bkt, "acme")
	created := time.Now()
	j := compact.Journal{Version: 1, Tenant: "acme", Level: 2, CreatedUnixNano: created.UnixNano(), Inputs: []string{ms[0].ID, ms[1].ID}}
	doc, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	upload(t, e.bkt, j.Name(), doc)
	partial := block.BlockDir("acme", block.NewID(created))
	upload(t, e.bkt, partial+block.DataFile, []byte("PAR1 torn"))
	s = e.open(store.Options{})
	if got := metas(t, e.bkt, "acme"); len(got) != 2 || spanCount(got) != distinctCount(all, more) {
		t.Fatalf("after an abandoned compaction: %d blocks with %d spans, want the 2 inputs with %d", len(got), spanCount(got), distinctCount(all, more))
	}
	wantTraces(t, s, "acme", "abandoned at reopen", all, more)
	if left := objects(t, e.bkt, partial); len(left) != 0 {
		t.Errorf("incomplete block left: %v", left)
	}
	if left := objects(t, e.bkt, "acme/"+compact.JournalDir); len(left) != 0 {
		t.Errorf("journal objects left: %v", left)
	}
}

func testDamagedBlocks(t *testing.T, e *env) {
	flip := func(data []byte) []byte {
		out := slices.Clone(data)
		for i := len(out) * 2 / 5; i < len(out)*3/5; i += 97 {
			out[i] ^= 0x5a
		}
		return out
	}
	tests := []struct {
		name   string
		object string
		damage func([]byte) []byte // nil deletes the object
	}{
		{"flipped bytes in data.parquet", block.DataFile, flip},
		{"torn data.parquet", block.DataFile, func(b []byte) []byte { return b[:len(b)/2] }},
		{"missing data.parquet", block.DataFile, nil},
		{"flipped bytes in the index", block.IndexFile, flip},
		{"torn index", block.IndexFile, func(b []byte) []byte { return b[:len(b)-3] }},
		{"torn meta.json", block.MetaFile, func(b []byte) []byte { return b[:len(b)/2] }},
	}
	rng := rand.New(rand.NewPCG(9, 9))
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, e.newBucket)
			tenant := fmt.Sprintf("t%d", i)
			good := traces(rng, 300, time.Now().Add(-2*time.Hour), "api")
			bad := traces(rng, 300, time.Now().Add(-time.Hour), "api")
			s := e.open(store.Options{})
			consume(t, s, tenant, good)
			cut(t, s)
			consume(t, s, tenant, bad)
			cut(t, s)
			s.Close()
			ms := metas(t, e.bkt, tenant)
			name := block.BlockDir(tenant, ms[1].ID) + tc.object
			if ms[1].MinTimeUnixNano < ms[0].MinTimeUnixNano {
				name = block.BlockDir(tenant, ms[0].ID) + tc.object
			}
			if tc.damage == nil {
				if err := e.bkt.Delete(context.Background(), name); err != nil {
					t.Fatal(err)
				}
			} else {
				upload(t, e.bkt, name, tc.damage(readObject(t, e.bkt, name)))
			}
			s = e.open(store.Options{})
			// The healthy block answers in full; the damaged one never
			// fails a query or returns a partial trace.
			wantTraces(t, s, tenant, "healthy block", good)
			for id, want := range byTrace(bad) {
				got, err := s.FindTrace(context.Background(), tenant, id)
				if err != nil || (len(got) != 0 && len(got) != len(want)) {
					t.Fatalf("trace %s of the damaged block: %d spans, err %v", id, len(got), err)
				}
			}
			if got := search(t, s, tenant, filter.Request{}); len(got) < len(byTrace(good)) {
				t.Errorf("search found %d traces, want at least the healthy block's %d", len(got), len(byTrace(good)))
			}
			open, read := e.metric("waymark_store_block_open_errors_total", ""), e.metric("waymark_store_block_read_errors_total", "")
			if open+read < 1 {
				t.Errorf("damage not counted in a metric")
			}
			t.Logf("block open errors %v, block read errors %v", open, read)
			if !strings.Contains(e.logs.String(), "skipping") {
				t.Errorf("damage not logged")
			}
		})
	}
}
