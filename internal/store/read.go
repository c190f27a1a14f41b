package store

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sync"

	"waymark/internal/model"
	"waymark/internal/store/block"
	"waymark/internal/store/filter"
	"waymark/internal/store/head"
	"waymark/internal/store/summary"
)

// heads returns the live head and the heads being cut, newest first.
func (s *Store) heads() []*head.Head {
	s.mu.RLock()
	h := s.head
	s.mu.RUnlock()
	s.cuttingMu.RLock()
	defer s.cuttingMu.RUnlock()
	out := make([]*head.Head, 0, 1+len(s.cutting))
	out = append(out, h)
	for i := len(s.cutting) - 1; i >= 0; i-- {
		out = append(out, s.cutting[i])
	}
	return out
}

// spanKey identifies a span for deduplication: Zipkin's shared spans have
// one span ID for a client and a server half, so the kind is part of it.
type spanKey struct {
	id   model.SpanID
	kind model.SpanKind
}

// FindTrace returns every stored span of trace id (deduplicated), or nil.
func (s *Store) FindTrace(ctx context.Context, tenant string, id model.TraceID) ([]model.Span, error) {
	var spans []model.Span
	for _, h := range s.heads() {
		spans = appendFound(spans, h.FindTrace(tenant, id))
	}
	key := block.NewTraceKey(id) // hashed once for every block's filter
	for _, b := range s.blocks.list(tenant) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !b.MayContainKey(key) {
			continue
		}
		found, err := b.FindTrace(ctx, id)
		if err != nil {
			if s.skipFailedBlock(ctx, b, err) {
				continue
			}
			return nil, fmt.Errorf("block %s: %w", b.Meta().ID, err)
		}
		spans = appendFound(spans, found)
	}
	return dedupSpans(spans), nil
}

// appendFound appends found, a source's fresh copy of a trace's spans, to
// spans; the first source's copy is kept as it is, as a trace usually lives
// in one source and copying a 50,000-span trace again costs milliseconds.
func appendFound(spans, found []model.Span) []model.Span {
	if spans == nil {
		return found
	}
	return append(spans, found...)
}

// dedupSpans removes repeated copies of a span (a retrying sender, or a WAL
// replayed after a block was already written), keeping the first.
func dedupSpans(spans []model.Span) []model.Span {
	if len(spans) < 2 {
		return spans
	}
	seen := make(map[spanKey]struct{}, len(spans))
	return slices.DeleteFunc(spans, func(sp model.Span) bool {
		k := spanKey{sp.SpanID, sp.Kind}
		if _, dup := seen[k]; dup {
			return true
		}
		seen[k] = struct{}{}
		return false
	})
}

// Search calls fn with traces having a span that matches req, newest first,
// each trace once, until fn returns false or req.Limit traces were given.
// Matches carry the matched spans of the source that found the trace first,
// whole: req.Projection is ignored.
func (s *Store) Search(ctx context.Context, tenant string, req filter.Request, fn func(filter.Match) bool) error {
	return s.search(ctx, tenant, req, false, fn)
}

// SearchSpans is Search for callers that need every matching span, such as
// metrics over spans: each match carries the matching spans of every
// source holding the trace (the head, heads being cut, blocks), each span
// once, instead of those of the first source only. req.Limit is ignored,
// since every source must be read.
//
// With req.Projection set, matches come in no particular order and blocks
// give light spans (see filter.Projection): fn must copy what it keeps of
// a match. Block matches then stream to fn as blocks are read, and only
// the traces another source may also hold (by the heads' matches and the
// blocks' trace-ID filters) are held back to be merged and deduplicated,
// so memory does not grow with the spans read.
func (s *Store) SearchSpans(ctx context.Context, tenant string, req filter.Request, fn func(filter.Match) bool) error {
	req.Limit = 0
	if req.Projection != nil {
		return s.searchProjected(ctx, tenant, req, fn)
	}
	return s.search(ctx, tenant, req, true, fn)
}

// heldMatch is a trace a projected search holds back; merged is set once
// a second source added spans, which are then deduplicated.
type heldMatch struct {
	filter.Match
	merged bool
}

// add merges m, a match of another source, into h, copying its spans.
func (h *heldMatch) add(m filter.Match) {
	h.StartUnixNano = min(h.StartUnixNano, m.StartUnixNano)
	h.EndUnixNano = max(h.EndUnixNano, m.EndUnixNano)
	h.Spans = append(h.Spans, filter.CloneSpans(m.Spans)...)
	h.merged = true
}

func (s *Store) searchProjected(ctx context.Context, tenant string, req filter.Request, fn func(filter.Match) bool) error {
	if err := req.Compile(); err != nil {
		return err
	}
	// Deduplicating a span needs its ID and kind.
	p := *req.Projection
	p.Fields |= filter.FieldSpanID | filter.FieldKind
	req.Projection = &p
	held := make(map[model.TraceID]*heldMatch)
	for _, h := range s.heads() {
		err := h.Search(ctx, tenant, &req, func(m filter.Match) bool {
			if x := held[m.TraceID]; x != nil {
				x.add(m)
			} else {
				held[m.TraceID] = &heldMatch{Match: m}
			}
			return true
		})
		if err != nil {
			return err
		}
	}
	blocks := s.searchCandidates(tenant, &req)
	s.metrics.searchBlocksRead.Add(float64(len(blocks)))
	// elsewhere reports whether a block other than blocks[i] may hold
	// trace id.
	elsewhere := func(i int, id model.TraceID) bool {
		key := block.NewTraceKey(id)
		for j, o := range blocks {
			if j != i && o.MayContainKey(key) {
				return true
			}
		}
		return false
	}
	stopped := false
	for i, b := range blocks {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := b.Search(ctx, &req, func(m filter.Match) bool {
			if x := held[m.TraceID]; x != nil {
				x.add(m)
				return true
			}
			if elsewhere(i, m.TraceID) {
				m.Spans = filter.CloneSpans(m.Spans)
				held[m.TraceID] = &heldMatch{Match: m}
				return true
			}
			stopped = !fn(m)
			return !stopped
		})
		if err != nil {
			if s.skipFailedBlock(ctx, b, err) {
				continue
			}
			return fmt.Errorf("search block %s: %w", b.Meta().ID, err)
		}
		if stopped {
			return nil
		}
	}
	// In trace ID order, so that a query's float sums do not change with
	// map order from one run to the next.
	ids := slices.SortedFunc(maps.Keys(held), func(a, b model.TraceID) int { return bytes.Compare(a[:], b[:]) })
	for _, id := range ids {
		x := held[id]
		if x.merged {
			x.Spans = dedupSpans(x.Spans)
		}
		if !fn(x.Match) {
			return nil
		}
	}
	return nil
}

func (s *Store) search(ctx context.Context, tenant string, req filter.Request, merge bool, fn func(filter.Match) bool) error {
	// Matches are kept until every source was read: whole spans only.
	req.Projection = nil
	if err := req.Compile(); err != nil {
		return err
	}
	var all []filter.Match
	seen := make(map[model.TraceID]int)
	var merged []int
	collect := func(m filter.Match) bool {
		if i, ok := seen[m.TraceID]; ok {
			if m.StartUnixNano < all[i].StartUnixNano {
				all[i].StartUnixNano = m.StartUnixNano
			}
			if merge {
				all[i].EndUnixNano = max(all[i].EndUnixNano, m.EndUnixNano)
				all[i].Spans = append(all[i].Spans, m.Spans...)
				merged = append(merged, i)
			}
			return true
		}
		seen[m.TraceID] = len(all)
		all = append(all, m)
		return true
	}
	for _, h := range s.heads() {
		if err := h.Search(ctx, tenant, &req, collect); err != nil {
			return err
		}
	}
	if err := s.searchBlocks(ctx, tenant, &req, &all, collect); err != nil {
		return err
	}
	for _, i := range merged {
		all[i].Spans = dedupSpans(all[i].Spans)
	}
	head.SortNewestFirst(all)
	for i, m := range all {
		if req.Limit > 0 && i >= req.Limit {
			break
		}
		if !fn(m) {
			break
		}
	}
	return nil
}

// searchCandidates returns tenant's blocks, newest first, that req may
// match: those overlapping its time range, holding its service, and not
// ruled out by their summary or value filter (counted as skipped).
func (s *Store) searchCandidates(tenant string, req *filter.Request) []*storedBlock {
	var blocks []*storedBlock
	for _, b := range s.blocks.list(tenant) {
		m := b.Meta()
		if (req.StartUnixNano != 0 && m.MaxTimeUnixNano < req.StartUnixNano) || (req.EndUnixNano != 0 && m.MinTimeUnixNano > req.EndUnixNano) {
			continue
		}
		if svc, ok := req.ServiceName(); ok && !slices.Contains(m.Services, svc) || b.cannotMatch(req) {
			s.metrics.searchBlocksSkip.Inc()
			continue
		}
		blocks = append(blocks, b)
	}
	return blocks
}

// blockSearch is one block's part of a search: the block's matches, once
// done is closed.
type blockSearch struct {
	b       *storedBlock
	matches []filter.Match
	err     error
	done    chan struct{}
}

// searchBlocks searches tenant's blocks that may match req and gives their
// matches to collect, block by block, newest block first. Up to GOMAXPROCS
// blocks are read at once (after the first, for a search with a limit), so
// a search that reads many blocks uses every core. Blocks are ordered newest first, and each returns its req.Limit
// newest matching traces: once *all, what collect gathered, holds limit
// traces, a block whose newest span is older than the limit-th trace
// cannot change the answer, and neither can any block after it: such
// blocks are not started, and those already started are cancelled.
func (s *Store) searchBlocks(ctx context.Context, tenant string, req *filter.Request, all *[]filter.Match, collect func(filter.Match) bool) error {
	blocks := s.searchCandidates(tenant, req)
	// past reports whether the block with newest span maxTime, and every
	// block after it, cannot change the answer.
	past := func(maxTime uint64) bool {
		if req.Limit <= 0 || len(*all) < req.Limit {
			return false
		}
		head.SortNewestFirst(*all)
		return maxTime < (*all)[req.Limit-1].StartUnixNano
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := max(runtime.GOMAXPROCS(0), 1)
	parts := make([]*blockSearch, 0, workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	for next, taken := 0, 0; next < len(blocks) || len(parts) > 0; taken++ {
		// Start blocks until workers are busy, unless the answer is known.
		// A search with a limit reads the newest block alone first: it
		// often holds the whole answer, and a second block read alongside
		// would only slow it down.
		busy := workers
		if req.Limit > 0 && taken == 0 {
			busy = 1
		}
		for next < len(blocks) && len(parts) < busy && !past(blocks[next].Meta().MaxTimeUnixNano) {
			p := &blockSearch{b: blocks[next], done: make(chan struct{})}
			next++
			parts = append(parts, p)
			s.metrics.searchBlocksRead.Inc()
			wg.Go(func() {
				defer close(p.done)
				p.err = p.b.Search(ctx, req, func(m filter.Match) bool {
					p.matches = append(p.matches, m)
					return true
				})
			})
		}
		if len(parts) == 0 || past(parts[0].b.Meta().MaxTimeUnixNano) {
			return nil // the remaining blocks cannot change the answer
		}
		p := parts[0]
		parts = parts[1:]
		<-p.done
		if p.err != nil {
			if s.skipFailedBlock(ctx, p.b, p.err) {
				continue
			}
			return fmt.Errorf("search block %s: %w", p.b.Meta().ID, p.err)
		}
		for _, m := range p.matches {
			collect(m)
		}
	}
	return nil
}

// Services returns every service name of tenant in the head and blocks, sorted.
func (s *Store) Services(ctx context.Context, tenant string) ([]string, error) {
	set := make(map[string]struct{})
	for _, h := range s.heads() {
		for _, svc := range h.Services(tenant) {
			set[svc] = struct{}{}
		}
	}
	for _, b := range s.blocks.list(tenant) {
		for _, svc := range b.Meta().Services {
			set[svc] = struct{}{}
		}
	}
	out := make([]string, 0, len(set))
	for svc := range set {
		out = append(out, svc)
	}
	slices.Sort(out)
	return out, nil
}

// Operations returns the operations of service (all services if empty) of
// tenant, sorted by name then kind.
func (s *Store) Operations(ctx context.Context, tenant, service string) ([]head.Operation, error) {
	set := make(map[head.Operation]struct{})
	for _, h := range s.heads() {
		for _, op := range h.Operations(tenant, service) {
			set[op] = struct{}{}
		}
	}
	for _, b := range s.blocks.list(tenant) {
		for _, op := range b.sum.Operations {
			if service != "" && op.Service != service {
				continue
			}
			set[head.Operation{Name: op.Name, Kind: model.SpanKind(op.Kind)}] = struct{}{}
		}
	}
	out := make([]head.Operation, 0, len(set))
	for op := range set {
		out = append(out, op)
	}
	head.SortOperations(out)
	return out, nil
}

// Dependencies returns the service call edges of tenant's traces in
// [start, end] (0 = unbounded): computed over the heads, read from the
// block metadata for blocks overlapping the window.
func (s *Store) Dependencies(ctx context.Context, tenant string, start, end uint64) ([]summary.Dependency, error) {
	edges := make(map[[2]string]*summary.Dependency)
	for _, h := range s.heads() {
		h.MergeDependencies(tenant, start, end, edges)
	}
	for _, b := range s.blocks.list(tenant) {
		m := b.Meta()
		if (end != 0 && m.MinTimeUnixNano > end) || (start != 0 && m.MaxTimeUnixNano < start) {
			continue
		}
		summary.MergeDependencies(edges, b.sum.Dependencies)
	}
	return summary.SortedDependencies(edges), nil
}

// Tags returns the attribute keys and values of tenant's spans per scope,
// from the heads and from blocks overlapping [start, end] (0 = unbounded).
func (s *Store) Tags(ctx context.Context, tenant string, start, end uint64) (summary.Tags, error) {
	tags := summary.NewTags()
	for _, h := range s.heads() {
		h.MergeTags(tenant, tags)
	}
	for _, b := range s.blocks.list(tenant) {
		m := b.Meta()
		if (end != 0 && m.MinTimeUnixNano > end) || (start != 0 && m.MaxTimeUnixNano < start) {
			continue
		}
		tags.Merge(b.sum.Tags.Tags())
	}
	return tags, nil
}
