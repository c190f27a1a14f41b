package store

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"waymark/internal/model"
	"waymark/internal/store/block"
	"waymark/internal/store/bucket"
	"waymark/internal/store/head"
)

func TestSummarizerMatchesHead(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	spans := genTraces(rng, 150, uint64(time.Now().UnixNano()), 7) // fewer seq values than a tag keeps
	h := head.New()
	h.Append("t", spans)
	want, _ := json.Marshal(summarizeHead(h, "t"))
	grouped := h.Spans("t") // grouped by trace
	tests := []struct {
		name string
		feed func(z *summarizer)
	}{
		{"span by span", func(z *summarizer) {
			for i := range grouped {
				z.add(&grouped[i])
			}
		}},
		{"trace by trace", func(z *summarizer) {
			for start, i := 0, 1; i <= len(grouped); i++ {
				if i == len(grouped) || grouped[i].TraceID != grouped[start].TraceID {
					z.addTrace(grouped[start:i])
					start = i
				}
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			z := newSummarizer()
			tc.feed(z)
			got, _ := json.Marshal(z.summary())
			if string(got) != string(want) {
				t.Errorf("summarizer differs from summarizeHead:\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestSummarizerManyResourceValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	spans := genTraces(rng, 3000, uint64(time.Now().UnixNano()), 7)
	if len(spans) <= maxSeenResources {
		t.Fatalf("%d spans do not exceed the %d remembered resources", len(spans), maxSeenResources)
	}
	shared := newSummarizer()
	fresh := newSummarizer()
	for i := range spans {
		shared.add(&spans[i])
		s := spans[i]
		// A fresh but equal resource for every span, as a block read of
		// many resources gives.
		res := *s.Resource
		s.Resource = &res
		fresh.add(&s)
	}
	want, _ := json.Marshal(shared.summary())
	got, _ := json.Marshal(fresh.summary())
	if string(got) != string(want) {
		t.Errorf("summary with a resource per span differs:\n got %s\nwant %s", got, want)
	}
	if n := len(fresh.resources); n > maxSeenResources {
		t.Errorf("summarizer remembers %d resources, more than %d", n, maxSeenResources)
	}
}

func TestCompactedInputsStayReadableUntilDue(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bkt, err := bucket.OpenFilesystem(dir + "/blocks")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, Options{Dir: dir, Bucket: bkt, HeadMaxAge: time.Hour, CompactionInterval: -1, ReplacedBlockDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rng := rand.New(rand.NewPCG(13, 14))
	base := uint64(time.Now().Add(-3 * time.Hour).UnixNano())
	var all []model.Span
	for i := 0; i < 3; i++ {
		spans := genTraces(rng, 20, base+uint64(i)*1e9, 0)
		all = append(all, spans...)
		if err := s.Consume(ctx, model.Batch{Tenant: "t", Spans: spans}); err != nil {
			t.Fatal(err)
		}
		if err := s.CutHead(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// A query that took its snapshot of the blocks before the compaction.
	snapshot := s.blocks.list("t")
	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	if n := s.blocks.count(); n != 1 {
		t.Fatalf("%d open blocks after compaction, want 1", n)
	}
	for _, b := range snapshot {
		if got, err := b.FindTrace(ctx, all[0].TraceID); err != nil {
			t.Fatalf("replaced block %s unreadable before its delay: %v", b.Meta().ID, err)
		} else if b.MayContain(all[0].TraceID) && len(got) == 0 {
			t.Fatalf("replaced block %s lost its spans", b.Meta().ID)
		}
	}
	if ids, _ := block.List(ctx, bkt, "t"); len(ids) != 4 {
		t.Fatalf("%d blocks in the bucket, want the 3 inputs kept and the new one", len(ids))
	}
	s.maintMu.Lock()
	err = s.deleteReplacedLocked(ctx, time.Now().Add(2*time.Hour))
	s.maintMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if ids, _ := block.List(ctx, bkt, "t"); len(ids) != 1 {
		t.Fatalf("%d blocks in the bucket after the delay, want 1", len(ids))
	}
	for _, sp := range all[:10] {
		if got, err := s.FindTrace(ctx, "t", sp.TraceID); err != nil || len(got) != 2 {
			t.Fatalf("trace %s: %d spans, %v", sp.TraceID, len(got), err)
		}
	}
}
