package compact

import (
	"bytes"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"sync"

	"waymark/internal/model"
	"waymark/internal/store/block"
)

// mergeBatch is the number of spans an input hands to the merge at once.
const mergeBatch = 256

// maxKeptTrace is the capacity, in spans, up to which the merge reuses its
// trace buffer; a larger one, left by an unusually large trace, is dropped.
const maxKeptTrace = 1 << 14

// Merged counts what Merge produced.
type Merged struct {
	// Spans is the number of distinct spans given to the sink.
	Spans int
	// Traces is the number of distinct traces.
	Traces int
	// Duplicates is the number of repeated copies dropped.
	Duplicates int
}

// TraceSink receives one merged trace: its distinct spans ordered by start
// time, then span ID. trace is reused once the sink returns, but the
// spans' attributes, events, links, resources and scopes are not; the sink
// must not modify any of them. An error stops the merge.
type TraceSink func(trace []model.Span) error

// Merge reads every span of inputs and hands them to sink trace by trace,
// in trace-ID order, with repeated copies of a span dropped: two spans are
// copies when they have the same trace ID, span ID and kind (a Zipkin
// shared span keeps its client and its server half). The first copy read
// is kept. Inputs are read concurrently and merged as they stream, so
// memory holds, per input, the row group block.Iter is reading and a few
// batches, plus the current trace, however large the inputs are.
func Merge(ctx context.Context, inputs []*block.Block, sink TraceSink) (Merged, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg      sync.WaitGroup
		streams = make(mergeHeap, 0, len(inputs))
		errs    = make([]error, len(inputs))
		all     = make([]*stream, len(inputs))
	)
	for i, b := range inputs {
		ch := make(chan []model.Span, 2)
		all[i] = &stream{batches: ch, err: &errs[i], block: b.Meta().ID}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(ch)
			errs[i] = produce(ctx, b, ch)
		}()
	}
	stop := func(err error) (Merged, error) {
		cancel()
		wg.Wait()
		return Merged{}, err
	}
	for _, s := range all {
		ok, err := s.next()
		if err != nil {
			return stop(err)
		}
		if ok {
			streams = append(streams, s)
		}
	}
	heap.Init(&streams)
	var (
		out   Merged
		d     deduper
		trace []model.Span // the distinct spans of the current trace
	)
	emit := func() error {
		out.Spans += len(trace)
		err := sink(trace)
		clear(trace)
		trace = trace[:0]
		if cap(trace) > maxKeptTrace {
			trace = nil
		}
		return err
	}
	for len(streams) > 0 {
		if err := ctx.Err(); err != nil {
			return stop(err)
		}
		s := streams[0]
		sp := &s.cur[s.i]
		if out.Traces == 0 || sp.TraceID != d.trace {
			if len(trace) > 0 {
				if err := emit(); err != nil {
					return stop(err)
				}
			}
			d.reset(sp.TraceID)
			out.Traces++
		}
		if d.seen(trace, sp) {
			out.Duplicates++
		} else {
			trace = append(trace, *sp)
		}
		ok, err := s.advance()
		if err != nil {
			return stop(err)
		}
		if ok {
			heap.Fix(&streams, 0)
		} else {
			heap.Pop(&streams)
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return Merged{}, err
	}
	if len(trace) > 0 {
		if err := emit(); err != nil {
			return Merged{}, err
		}
	}
	return out, nil
}

// produce sends b's spans to ch in batches.
func produce(ctx context.Context, b *block.Block, ch chan<- []model.Span) error {
	batch := make([]model.Span, 0, mergeBatch)
	send := func() error {
		select {
		case ch <- batch:
			batch = make([]model.Span, 0, mergeBatch)
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	err := b.Iter(ctx, func(s model.Span) error {
		batch = append(batch, s)
		if len(batch) == mergeBatch {
			return send()
		}
		return nil
	})
	if err == nil && len(batch) > 0 {
		err = send()
	}
	if err != nil {
		return fmt.Errorf("read block %s: %w", b.Meta().ID, err)
	}
	return nil
}

// stream is one input's position in the merge.
type stream struct {
	batches <-chan []model.Span
	err     *error // set by the producer before it closes batches
	block   string
	cur     []model.Span
	i       int
}

// next receives the next non-empty batch; false when the input is done.
func (s *stream) next() (bool, error) {
	for {
		b, ok := <-s.batches
		if !ok {
			return false, *s.err
		}
		if len(b) > 0 {
			s.cur, s.i = b, 0
			return true, nil
		}
	}
}

// advance moves to the input's next span; false when the input is done.
// It fails if the input is not in trace-ID order, which the block format
// guarantees and the merge relies on.
func (s *stream) advance() (bool, error) {
	prev := s.cur[s.i].TraceID
	s.i++
	if s.i == len(s.cur) {
		ok, err := s.next()
		if !ok || err != nil {
			return false, err
		}
	}
	if bytes.Compare(s.cur[s.i].TraceID[:], prev[:]) < 0 {
		return false, fmt.Errorf("%w: block %s is not in trace-ID order", block.ErrCorrupt, s.block)
	}
	return true, nil
}

// mergeHeap orders streams by their current span.
type mergeHeap []*stream

func (h mergeHeap) Len() int { return len(h) }
func (h mergeHeap) Less(i, j int) bool {
	return block.CompareSpans(&h[i].cur[h[i].i], &h[j].cur[h[j].i]) < 0
}
func (h mergeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *mergeHeap) Push(x any)   { *h = append(*h, x.(*stream)) }
func (h *mergeHeap) Pop() any {
	old := *h
	s := old[len(old)-1]
	*h = old[:len(old)-1]
	return s
}

// spanKey identifies a span within its trace for deduplication.
type spanKey struct {
	id   model.SpanID
	kind model.SpanKind
}

// smallTrace is the span count up to which a trace is deduplicated by
// scanning it rather than through a map.
const smallTrace = 32

// deduper finds repeated spans within the current trace.
type deduper struct {
	trace model.TraceID
	keys  map[spanKey]struct{}
}

func (d *deduper) reset(id model.TraceID) {
	d.trace, d.keys = id, nil
}

// seen reports whether a copy of sp is among kept, the kept spans of the
// current trace, remembering sp otherwise.
func (d *deduper) seen(kept []model.Span, sp *model.Span) bool {
	k := spanKey{sp.SpanID, sp.Kind}
	if d.keys == nil && len(kept) < smallTrace {
		for i := range kept {
			if kept[i].SpanID == k.id && kept[i].Kind == k.kind {
				return true
			}
		}
		return false
	}
	if d.keys == nil {
		d.keys = make(map[spanKey]struct{}, 2*len(kept))
		for i := range kept {
			d.keys[spanKey{kept[i].SpanID, kept[i].Kind}] = struct{}{}
		}
	}
	if _, ok := d.keys[k]; ok {
		return true
	}
	d.keys[k] = struct{}{}
	return false
}
