package receivetest

import (
	"context"
	"sync"
	"testing"

	"waymark/internal/model"
)

// Recorder is a model.Consumer that records the batches it accepts. It is
// safe for concurrent use.
type Recorder struct {
	mu      sync.Mutex
	batches []model.Batch
	err     error
}

// Consume records b, or returns the error set by Fail without recording.
func (r *Recorder) Consume(_ context.Context, b model.Batch) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.batches = append(r.batches, b)
	return nil
}

// Fail makes Consume return err from now on; nil makes it accept again.
func (r *Recorder) Fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err = err
}

// Batches returns the recorded batches.
func (r *Recorder) Batches() []model.Batch {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]model.Batch(nil), r.batches...)
}

// Spans returns the spans of all recorded batches, in order.
func (r *Recorder) Spans() []model.Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []model.Span
	for _, b := range r.batches {
		out = append(out, b.Spans...)
	}
	return out
}

// Reset forgets the recorded batches.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches = nil
}

// ExpectBatch fails t unless r recorded exactly one batch of n spans, or
// no batch when n is 0, and returns that batch.
func (r *Recorder) ExpectBatch(t testing.TB, n int) model.Batch {
	t.Helper()
	batches := r.Batches()
	if n == 0 {
		if len(batches) != 0 {
			t.Fatalf("got %d batches, want none", len(batches))
		}
		return model.Batch{}
	}
	if len(batches) != 1 || len(batches[0].Spans) != n {
		t.Fatalf("got %d batches, want one of %d spans", len(batches), n)
	}
	return batches[0]
}
