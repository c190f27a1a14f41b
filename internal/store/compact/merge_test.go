package compact

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"math/rand/v2"
	"testing"

	"waymark/internal/model"
	"waymark/internal/store/block"
)

// mergeAll merges blocks and returns every span given to the sink. It
// fails the test if a sink call is not exactly one whole trace.
func mergeAll(t *testing.T, ctx context.Context, blocks []*block.Block) ([]model.Span, Merged, error) {
	t.Helper()
	var spans []model.Span
	seen := make(map[model.TraceID]bool)
	m, err := Merge(ctx, blocks, func(trace []model.Span) error {
		id := trace[0].TraceID
		if seen[id] {
			t.Errorf("trace %s given to the sink twice", id)
		}
		seen[id] = true
		for i := range trace {
			if trace[i].TraceID != id {
				t.Errorf("sink call for trace %s holds a span of trace %s", id, trace[i].TraceID)
			}
		}
		spans = append(spans, trace...)
		return nil
	})
	if err == nil && (m.Spans != len(spans) || m.Traces != len(seen)) {
		t.Errorf("Merge counts %d spans, %d traces; the sink got %d, %d", m.Spans, m.Traces, len(spans), len(seen))
	}
	return spans, m, err
}

func TestMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	a := genSpans(rng, 200, 1e15)
	b := genSpans(rng, 150, 1e15+5e8)
	// A trace of 100 spans, larger than the scan threshold, sent twice.
	big := make([]model.Span, 100)
	for i := range big {
		big[i] = a[0]
		big[i].TraceID = model.TraceID{0xbb}
		big[i].SpanID = model.SpanID{byte(i), 9}
		big[i].StartTimeUnixNano += uint64(i)
	}
	// A retried span whose copy carries another start time is still a copy.
	moved := a[3]
	moved.StartTimeUnixNano += 7
	moved.Name = "retried"
	tests := []struct {
		name       string
		inputs     [][]model.Span
		duplicates int
		traces     int
	}{
		{"disjoint blocks", [][]model.Span{a, b}, 0, 350},
		{"a trace split across blocks", [][]model.Span{a[:301], a[301:], b}, 0, 350},
		{"every span sent twice", [][]model.Span{a, b, a}, len(a), 350},
		{"copies within one block", [][]model.Span{append(append([]model.Span(nil), b...), b[:30]...), a}, 30, 350},
		{"large trace sent twice", [][]model.Span{big, a, big}, 100, 201},
		{"retried span with a new start time", [][]model.Span{a, {moved}}, 1, 200},
		{"shared span halves in different blocks", [][]model.Span{a[:2], a[2:3]}, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bkt := newBucket(t)
			var blocks []*block.Block
			for _, in := range tc.inputs {
				blocks = append(blocks, writeBlock(t, bkt, "t", 0, in))
			}
			spans, got, err := mergeAll(t, context.Background(), blocks)
			if err != nil {
				t.Fatal(err)
			}
			want := distinct(tc.inputs...)
			if got.Duplicates != tc.duplicates || got.Traces != tc.traces || got.Spans != len(want) {
				t.Errorf("merged %d spans, %d traces, %d duplicates; want %d, %d, %d",
					got.Spans, got.Traces, got.Duplicates, len(want), tc.traces, tc.duplicates)
			}
			if have := distinct(spans); !maps.Equal(have, want) {
				t.Errorf("merged spans differ from the distinct input spans")
			}
			for i := 1; i < len(spans); i++ {
				p, s := &spans[i-1], &spans[i]
				if c := bytes.Compare(p.TraceID[:], s.TraceID[:]); c > 0 || (c == 0 && p.StartTimeUnixNano > s.StartTimeUnixNano) {
					t.Fatalf("span %d out of order", i)
				}
			}
		})
	}
}

func TestMergeKeepsEverySpanField(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	in := genSpans(rng, 20, 1e15)
	in[0].Events = []model.Event{{TimeUnixNano: in[0].StartTimeUnixNano + 5, Name: "retry", Attributes: model.Attributes{{Key: "n", Value: model.IntValue(2)}}}}
	in[1].Links = []model.Link{{TraceID: in[5].TraceID, SpanID: in[5].SpanID, TraceState: "k=v"}}
	in[2].StatusCode, in[2].StatusMessage = model.StatusError, "boom"
	bkt := newBucket(t)
	got, _, err := mergeAll(t, context.Background(), []*block.Block{writeBlock(t, bkt, "t", 0, in[:30]), writeBlock(t, bkt, "t", 0, in[30:])})
	if err != nil {
		t.Fatal(err)
	}
	byKey := make(map[spanIdentity]model.Span)
	for _, s := range got {
		byKey[spanIdentity{s.TraceID, s.SpanID, s.Kind}] = s
	}
	for _, s := range in {
		m, ok := byKey[spanIdentity{s.TraceID, s.SpanID, s.Kind}]
		if !ok || m.Name != s.Name || m.StatusMessage != s.StatusMessage || len(m.Events) != len(s.Events) || len(m.Links) != len(s.Links) ||
			m.Resource.ServiceName != s.Resource.ServiceName || len(m.Attributes) != len(s.Attributes) {
			t.Errorf("span %s/%s changed by the merge: %+v", s.TraceID, s.SpanID, m)
		}
	}
}

func TestMergeStopsWhenCanceled(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	bkt := newBucket(t)
	blocks := []*block.Block{writeBlock(t, bkt, "t", 0, genSpans(rng, 2000, 1e15)), writeBlock(t, bkt, "t", 0, genSpans(rng, 2000, 1e15))}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := mergeAll(t, ctx, blocks); !errors.Is(err, context.Canceled) {
		t.Fatalf("Merge with a canceled context = %v, want context.Canceled", err)
	}
}

func TestMergeStopsAtSinkError(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	bkt := newBucket(t)
	blocks := []*block.Block{writeBlock(t, bkt, "t", 0, genSpans(rng, 2000, 1e15)), writeBlock(t, bkt, "t", 0, genSpans(rng, 2000, 1e15))}
	boom := errors.New("boom")
	tests := []struct {
		name   string
		failAt int // the sink call that fails
	}{
		{"first trace", 1},
		{"a middle trace", 1500},
		{"last trace", 4000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			_, err := Merge(context.Background(), blocks, func([]model.Span) error {
				if calls++; calls == tc.failAt {
					return boom
				}
				return nil
			})
			if !errors.Is(err, boom) || calls != tc.failAt {
				t.Fatalf("Merge = %v after %d sink calls, want the sink's error after %d", err, calls, tc.failAt)
			}
		})
	}
}
