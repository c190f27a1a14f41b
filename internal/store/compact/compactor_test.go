package compact

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/thanos-io/objstore"

	"waymark/internal/model"
	"waymark/internal/store/block"
	"waymark/internal/testkit"
)

// inputs writes n level-0 blocks of tenant t, the second repeating part of
// the first, and returns them with the plan that merges them.
func inputs(t *testing.T, bkt objstore.Bucket, rng *rand.Rand, n int) ([]*block.Block, Group, []model.Span) {
	t.Helper()
	var blocks []*block.Block
	var all []model.Span
	for i := 0; i < n; i++ {
		spans := genSpans(rng, 50, 1e15+uint64(i)*1e9)
		if i == 1 {
			spans = append(spans, all[:20]...)
		}
		all = append(all, spans...)
		blocks = append(blocks, writeBlock(t, bkt, "t", 0, spans))
	}
	g := Group{Tenant: "t", Level: 1}
	for _, b := range blocks {
		g.Inputs = append(g.Inputs, b.Meta())
	}
	return blocks, g, all
}

func blockIDs(t *testing.T, bkt objstore.Bucket) []string {
	t.Helper()
	ids, err := block.List(context.Background(), bkt, "t")
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func journalNames(t *testing.T, bkt objstore.Bucket) []string {
	t.Helper()
	j, o, err := journalObjects(context.Background(), bkt, "t")
	if err != nil {
		t.Fatal(err)
	}
	return append(j, o...)
}

// compactOnly runs a compaction and stops before Finish, as a crash would.
func compactOnly(t *testing.T, c *Compactor, g Group, blocks []*block.Block) Result {
	t.Helper()
	res, err := c.Compact(context.Background(), g, blocks, nil, func(context.Context, block.Meta) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestCompactThenFinish(t *testing.T) {
	ctx := context.Background()
	bkt := newBucket(t)
	reg := prometheus.NewRegistry()
	c := New(bkt, Config{Registerer: reg})
	blocks, g, all := inputs(t, bkt, rand.New(rand.NewPCG(1, 2)), 3)
	var seen []model.Span
	traces := make(map[model.TraceID]int)
	observe := func(trace []model.Span) {
		traces[trace[0].TraceID]++
		for i := range trace {
			if trace[i].TraceID != trace[0].TraceID {
				t.Errorf("observed trace %s holds a span of trace %s", trace[0].TraceID, trace[i].TraceID)
			}
		}
		seen = append(seen, trace...)
	}
	var seenAtWritten int
	res, err := c.Compact(ctx, g, blocks, observe, func(_ context.Context, m block.Meta) error {
		if len(journalNames(t, bkt)) != 1 {
			t.Errorf("no journal while the new block becomes visible")
		}
		seenAtWritten = len(seen)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := distinct(all)
	if res.Meta.Level != 1 || res.Meta.SpanCount != int64(len(want)) || res.Duplicates != 20 || seenAtWritten != len(want) {
		t.Errorf("compacted block: level %d, %d spans, %d duplicates, %d spans observed before written; want level 1, %d spans, 20 duplicates",
			res.Meta.Level, res.Meta.SpanCount, res.Duplicates, seenAtWritten, len(want))
	}
	if have := distinct(seen); !maps.Equal(have, want) {
		t.Errorf("observed spans differ from the distinct input spans")
	}
	for id, n := range traces {
		if n != 1 {
			t.Errorf("trace %s observed %d times, want once", id, n)
		}
	}
	if ids := blockIDs(t, bkt); len(ids) != 4 {
		t.Errorf("%d blocks before Finish, want the 3 inputs and the new one", len(ids))
	}
	if err := c.Finish(ctx, res.Journal); err != nil {
		t.Fatal(err)
	}
	if ids := blockIDs(t, bkt); !slices.Equal(ids, []string{res.Meta.ID}) {
		t.Errorf("blocks after Finish: %v, want only %s", ids, res.Meta.ID)
	}
	if j := journalNames(t, bkt); len(j) != 0 {
		t.Errorf("journal left after Finish: %v", j)
	}
	out, err := block.Open(ctx, bkt, "t", res.Meta.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	var stored []model.Span
	if err := out.Iter(ctx, func(s model.Span) error { stored = append(stored, s); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(seen) {
		t.Fatalf("compacted block holds %d spans, %d were observed", len(stored), len(seen))
	}
	for i := range stored {
		if block.CompareSpans(&stored[i], &seen[i]) != 0 || stored[i].Kind != seen[i].Kind {
			t.Fatalf("stored span %d is %s/%s, observed %s/%s", i, stored[i].TraceID, stored[i].SpanID, seen[i].TraceID, seen[i].SpanID)
		}
	}
	for id := range traces {
		tr, err := out.FindTrace(ctx, id)
		if err != nil || len(tr) != 3 {
			t.Errorf("trace %s from the compacted block: %d spans, %v; want 3", id, len(tr), err)
		}
	}
	for name, want := range map[string]float64{"waymark_compaction_runs_total": 1, "waymark_compaction_input_blocks_total": 3,
		"waymark_compaction_duplicate_spans_total": 20, "waymark_compaction_spans_written_total": float64(len(want))} {
		if got := testkit.MetricValue(t, reg, name, ""); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

func TestCompactLeavesInputsOnFailure(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name string
		// cancelAt cancels the context when that many traces were merged.
		cancelAt int
		written  Written
		want     error
	}{
		{"written fails", 0, func(context.Context, block.Meta) error { return boom }, boom},
		{"canceled mid-merge", 1, func(context.Context, block.Meta) error { return nil }, context.Canceled},
		{"canceled after the last trace", 100, func(context.Context, block.Meta) error { return nil }, context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			bkt := newBucket(t)
			reg := prometheus.NewRegistry()
			c := New(bkt, Config{Registerer: reg})
			blocks, g, _ := inputs(t, bkt, rand.New(rand.NewPCG(3, 4)), 2)
			before := blockIDs(t, bkt)
			merged := 0
			observe := func([]model.Span) {
				if merged++; merged == tc.cancelAt {
					cancel()
				}
			}
			if _, err := c.Compact(ctx, g, blocks, observe, tc.written); !errors.Is(err, tc.want) {
				t.Fatalf("Compact = %v, want %v", err, tc.want)
			}
			if after := blockIDs(t, bkt); !slices.Equal(after, before) {
				t.Errorf("blocks after a failed compaction: %v, want the inputs %v", after, before)
			}
			if incomplete, err := block.ListIncomplete(context.Background(), bkt, "t"); err != nil || len(incomplete) != 0 {
				t.Errorf("incomplete blocks after a failed compaction: %v, %v", incomplete, err)
			}
			if j := journalNames(t, bkt); len(j) != 0 {
				t.Errorf("journal left after a failed compaction: %v", j)
			}
			if got := testkit.MetricValue(t, reg, "waymark_compaction_failures_total", ""); got != 1 {
				t.Errorf("failures = %v, want 1", got)
			}
		})
	}
}

func TestCompactRejectsUnplannedInputs(t *testing.T) {
	bkt := newBucket(t)
	c := New(bkt, Config{})
	blocks, g, _ := inputs(t, bkt, rand.New(rand.NewPCG(3, 4)), 2)
	written := func(context.Context, block.Meta) error { return nil }
	if _, err := c.Compact(context.Background(), g, blocks, nil, nil); err == nil {
		t.Errorf("Compact without a written callback succeeded")
	}
	g.Inputs = g.Inputs[:1]
	if _, err := c.Compact(context.Background(), g, blocks, nil, written); err == nil {
		t.Errorf("Compact with blocks that were not planned succeeded")
	}
}

func TestRecover(t *testing.T) {
	tests := []struct {
		name string
		// crash leaves the bucket as a crash would and returns the block
		// IDs that must remain.
		crash func(t *testing.T, c *Compactor, bkt objstore.Bucket, rng *rand.Rand) []string
		want  Recovered
	}{
		{"new block complete, inputs not yet deleted", func(t *testing.T, c *Compactor, bkt objstore.Bucket, rng *rand.Rand) []string {
			blocks, g, _ := inputs(t, bkt, rng, 3)
			return []string{compactOnly(t, c, g, blocks).Meta.ID}
		}, Recovered{Finished: 1, InputsDeleted: 3}},
		{"inputs partly deleted", func(t *testing.T, c *Compactor, bkt objstore.Bucket, rng *rand.Rand) []string {
			blocks, g, _ := inputs(t, bkt, rng, 3)
			res := compactOnly(t, c, g, blocks)
			if err := block.Delete(context.Background(), bkt, "t", g.Inputs[0].ID); err != nil {
				t.Fatal(err)
			}
			return []string{res.Meta.ID}
		}, Recovered{Finished: 1, InputsDeleted: 2}},
		{"new block never completed", func(t *testing.T, c *Compactor, bkt objstore.Bucket, rng *rand.Rand) []string {
			_, g, _ := inputs(t, bkt, rng, 2)
			j := Journal{Version: journalVersion, Tenant: "t", Level: 1, CreatedUnixNano: time.Now().UnixNano()}
			for _, m := range g.Inputs {
				j.Inputs = append(j.Inputs, m.ID)
			}
			if err := writeJournal(context.Background(), bkt, j); err != nil {
				t.Fatal(err)
			}
			// The new block's data is there, its meta.json is not.
			id := block.NewID(time.Unix(0, j.CreatedUnixNano))
			if err := bkt.Upload(context.Background(), block.BlockDir("t", id)+block.DataFile, strings.NewReader("PAR1")); err != nil {
				t.Fatal(err)
			}
			return []string{g.Inputs[0].ID, g.Inputs[1].ID}
		}, Recovered{Abandoned: 1}},
		{"chained compactions", func(t *testing.T, c *Compactor, bkt objstore.Bucket, rng *rand.Rand) []string {
			blocks, g, _ := inputs(t, bkt, rng, 2)
			first := compactOnly(t, c, g, blocks)
			mid, err := block.Open(context.Background(), bkt, "t", first.Meta.ID)
			if err != nil {
				t.Fatal(err)
			}
			defer mid.Close()
			other := writeBlock(t, bkt, "t", 1, genSpans(rng, 10, 2e15))
			second := compactOnly(t, c, Group{Tenant: "t", Level: 2, Inputs: []block.Meta{mid.Meta(), other.Meta()}}, []*block.Block{mid, other})
			return []string{second.Meta.ID}
		}, Recovered{Finished: 2, InputsDeleted: 4}},
		{"unreadable journal and leftovers", func(t *testing.T, c *Compactor, bkt objstore.Bucket, rng *rand.Rand) []string {
			_, g, _ := inputs(t, bkt, rng, 2)
			for name, body := range map[string]string{
				journalName("t", 12345):      `{"version":1,"tenant":"t","inputs":[`,
				"t/" + JournalDir + ".tmp-x": "partial",
				"t/" + JournalDir + "notes":  "?",
			} {
				if err := bkt.Upload(context.Background(), name, strings.NewReader(body)); err != nil {
					t.Fatal(err)
				}
			}
			return []string{g.Inputs[0].ID, g.Inputs[1].ID}
		}, Recovered{Unreadable: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bkt := newBucket(t)
			c := New(bkt, Config{})
			want := tc.crash(t, c, bkt, rand.New(rand.NewPCG(7, 8)))
			got, err := New(bkt, Config{}).Recover(context.Background(), "t")
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Recover = %+v, want %+v", got, tc.want)
			}
			slices.Sort(want)
			if ids := blockIDs(t, bkt); !slices.Equal(ids, want) {
				t.Errorf("blocks after Recover: %v, want %v", ids, want)
			}
			if j := journalNames(t, bkt); len(j) != 0 {
				t.Errorf("objects left in the journal directory: %v", j)
			}
		})
	}
}

func TestJournalRoundTrip(t *testing.T) {
	j := Journal{Version: journalVersion, Tenant: "acme", Inputs: []string{block.NewID(time.Now()), block.NewID(time.Now())}, Level: 2, CreatedUnixNano: 17}
	data, err := j.encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeJournal(data)
	if err != nil || !slices.Equal(got.Inputs, j.Inputs) || got.Level != 2 || got.CreatedUnixNano != 17 || got.Tenant != "acme" {
		t.Fatalf("DecodeJournal(encode(j)) = %+v, %v", got, err)
	}
	bad := map[string]string{
		"unknown field":  strings.Replace(string(data), `"level"`, `"lvl"`, 1),
		"trailing data":  string(data) + "{}",
		"bad version":    strings.Replace(string(data), `"version": 1`, `"version": 9`, 1),
		"level zero":     strings.Replace(string(data), `"level": 2`, `"level": 0`, 1),
		"bad input id":   strings.Replace(string(data), j.Inputs[0], "x", 1),
		"repeated input": strings.Replace(string(data), j.Inputs[0], j.Inputs[1], 1),
		"no time":        strings.Replace(string(data), `"created_unix_nano": 17`, `"created_unix_nano": 0`, 1),
		"bad tenant":     strings.Replace(string(data), `"acme"`, `""`, 1),
	}
	for name, doc := range bad {
		if _, err := DecodeJournal([]byte(doc)); err == nil {
			t.Errorf("%s: DecodeJournal accepted %s", name, doc)
		}
	}
	if !bytes.HasSuffix(data, []byte("\n")) {
		t.Errorf("journal does not end in a newline")
	}
}

func TestCompactSplitTraces(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(9, 10))
	all := genSpans(rng, 400, 1e15)
	// Every trace's three spans go to different blocks, the middle one
	// twice, so traces overlap all inputs and row groups of the output.
	parts := make([][]model.Span, 3)
	for i := range all {
		parts[i%3] = append(parts[i%3], all[i])
		if i%3 == 1 {
			parts[(i+1)%3] = append(parts[(i+1)%3], all[i])
		}
	}
	bkt := newBucket(t)
	var blocks []*block.Block
	g := Group{Tenant: "t", Level: 1}
	for _, p := range parts {
		b := writeBlock(t, bkt, "t", 0, p)
		blocks = append(blocks, b)
		g.Inputs = append(g.Inputs, b.Meta())
	}
	c := New(bkt, Config{Block: block.WriteOptions{RowGroupSpans: 100}})
	res, err := c.Compact(ctx, g, blocks, nil, func(context.Context, block.Meta) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if res.Meta.SpanCount != int64(len(all)) || res.Meta.TraceCount != 400 || res.Duplicates != 400 {
		t.Errorf("compacted %d spans, %d traces, %d duplicates; want %d, 400, 400", res.Meta.SpanCount, res.Meta.TraceCount, res.Duplicates, len(all))
	}
	out, err := block.Open(ctx, bkt, "t", res.Meta.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	for i := 0; i < len(all); i += 3 {
		tr, err := out.FindTrace(ctx, all[i].TraceID)
		if err != nil || !maps.Equal(distinct(tr), distinct(all[i:i+3])) {
			t.Fatalf("trace %s from the compacted block: %d spans, %v; want its 3 spans", all[i].TraceID, len(tr), err)
		}
	}
}
