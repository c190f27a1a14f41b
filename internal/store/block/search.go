package block

import (
	"cmp"
	"container/heap"
	"context"
	"fmt"
	"slices"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"

	"waymark/internal/model"
	"waymark/internal/store/filter"
)

// Search calls fn for traces of the block that have at least one span
// satisfying req, with the spans that do. req must have been compiled.
// Matching is exactly req.MatchSpan; a Match's StartUnixNano is the earliest
// start of its matched spans and EndUnixNano their latest end.
//
// With req.Limit > 0, fn gets at most req.Limit traces: the newest ones by
// StartUnixNano, newest first, ties by trace ID (filter order of the head).
// With req.Limit == 0, fn gets every matching trace in block (trace ID)
// order. fn returning false stops the search.
//
// Row groups and pages are skipped by time range, key lists and column
// statistics; the conditions are evaluated on the columns they name (once
// per dictionary entry for dictionary-encoded pages); with a limit only the
// trace ID and start time of matching rows are kept as candidates, and
// whole spans are built only for the winning traces' matched rows.
//
// With req.Projection set and no limit, fn gets light spans holding only
// the projected fields, built from just the columns they need; the Match's
// Spans slice and the spans' Attributes are reused once fn returns, so fn
// must copy what it keeps (filter.CloneSpans). A search with a limit
// ignores the projection.
func (b *Block) Search(ctx context.Context, req *filter.Request, fn func(filter.Match) bool) error {
	if req.EndUnixNano != 0 && b.meta.MinTimeUnixNano > req.EndUnixNano {
		return nil
	}
	if req.StartUnixNano != 0 && b.meta.MaxTimeUnixNano < req.StartUnixNano {
		return nil
	}
	s := &searcher{b: b, req: req, fn: fn, order: conditionOrder(req), searchBuffers: b.searchBuffers()}
	defer b.searchBufs.Put(s.searchBuffers)
	if req.Projection != nil && req.Limit == 0 {
		s.proj = newProjected(req.Projection, s.sr, s.arena)
		s.spans = s.spanBuf[:0]
		defer func() {
			// Keep the buffers, without what they point to.
			clear(s.spans[:cap(s.spans)])
			s.spanBuf = s.spans[:0]
			clear(s.proj.arena[:cap(s.proj.arena)])
			s.arena = s.proj.arena[:0]
		}()
	}
	for rgi := range b.file.RowGroups() {
		if err := ctx.Err(); err != nil {
			return err
		}
		var stop bool
		err := guard(func() (err error) {
			stop, err = s.rowGroup(ctx, rgi)
			return err
		})
		if err != nil {
			return fmt.Errorf("search block %s: %w", b.meta.ID, err)
		}
		if stop {
			return nil
		}
	}
	if req.Limit > 0 {
		if err := guard(func() error { return s.emitTop(ctx) }); err != nil {
			return fmt.Errorf("search block %s: %w", b.meta.ID, err)
		}
	}
	return nil
}

// conditionOrder returns the indexes of req's conditions, cheapest first:
// intrinsics, then attributes.
func conditionOrder(req *filter.Request) []int {
	order := make([]int, len(req.Conditions))
	for i := range order {
		order[i] = i
	}
	cost := func(c *filter.Condition) int {
		if c.Scope == filter.ScopeIntrinsic {
			return 0
		}
		return 1
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Compare(cost(&req.Conditions[a]), cost(&req.Conditions[b]))
	})
	return order
}

// searcher carries the state of one Search.
type searcher struct {
	b     *Block
	req   *filter.Request
	fn    func(filter.Match) bool
	order []int // conditions in evaluation order
	*searchBuffers

	// top holds the best candidates of a search with a limit.
	top candidateHeap
	// cur is the trace being collected by a search without a limit.
	cur *filter.Match
	// curBuf holds cur. proj is the state of a search with a projection,
	// which streams light spans: cur's Spans slice (spans) and the spans'
	// Attributes are then reused once fn returns.
	curBuf filter.Match
	proj   *projected
	spans  []model.Span
}

// searchBuffers are the buffers of a search, reused across row groups and,
// through the block's pool, across searches.
type searchBuffers struct {
	cols           []column // by leaf index
	judges         [3]judge
	hits           attrHits
	sel, pend      bitset
	dedIdx, svcIdx []int32
	isKey          []bool
	sr             *spanReader
	// rowBuf lists the selected rows of a row group being streamed.
	rowBuf []int64
	// spanBuf and arena hold the light spans of a projected search.
	spanBuf []model.Span
	arena   model.Attributes
}

// searchBuffers returns search buffers from the block's pool.
func (b *Block) searchBuffers() *searchBuffers {
	if sb, ok := b.searchBufs.Get().(*searchBuffers); ok {
		return sb
	}
	return &searchBuffers{cols: make([]column, b.cols.numLeaves), sr: newSpanReader(&b.cols, b.dedicated)}
}

// colBuf returns the searcher's buffer for leaf l.
func (s *searcher) colBuf(l leaf) *column { return &s.cols[l.index] }

// rowGroup searches row group rgi; it reports whether the search must stop.
func (s *searcher) rowGroup(ctx context.Context, rgi int) (bool, error) {
	info := &s.b.index.RowGroups[rgi]
	p, ok := s.plan(info)
	if !ok {
		return false, nil
	}
	rg := s.b.file.RowGroups()[rgi]
	if s.req.Limit > 0 && s.top.full(s.req.Limit) {
		if hi, ok := maxStart(rg, s.b.cols.start); ok && hi < s.top[0].start {
			return false, nil // no trace here can be newer than the current top
		}
	}
	ranges, err := candidateRanges(rg, p.prune)
	if err != nil || len(ranges) == 0 {
		return false, err
	}
	cols := p.columns(&s.b.cols)
	if s.req.Limit > 0 {
		// collect fetches the few trace_id pages it needs itself.
		cols = append(cols, s.b.cols.start.index)
	}
	frg, err := s.b.fetchColumns(ctx, rgi, cols, ranges)
	if err != nil {
		return false, err
	}
	defer frg.release()
	e := &rgSearch{s: s, info: info, rg: frg, n: rg.NumRows(), ranges: ranges}
	e.sel = newBitset(e.n, s.sel)
	s.sel = e.sel
	for _, r := range ranges {
		e.sel.setRange(r)
	}
	if err := e.evalTime(ctx); err != nil {
		return false, err
	}
	for _, ci := range s.order {
		if !e.narrow() {
			return false, nil
		}
		if err := e.evalCondition(ctx, &s.req.Conditions[ci]); err != nil {
			return false, err
		}
	}
	if !e.narrow() {
		return false, nil
	}
	if s.req.Limit > 0 {
		return false, s.collect(ctx, e, rgi)
	}
	return s.stream(ctx, e, rgi)
}

// maxStart returns the largest span start in rg by its column index.
func maxStart(rg parquet.RowGroup, l leaf) (uint64, bool) {
	_, hi, ok := startBounds(rg, l)
	return hi, ok
}

// startBounds returns the smallest and largest span start in rg by its
// column index.
func startBounds(rg parquet.RowGroup, l leaf) (lo, hi uint64, ok bool) {
	ci, err := rg.ColumnChunks()[l.index].ColumnIndex()
	if err != nil || ci.NumPages() == 0 {
		return 0, 0, false
	}
	lo = ^uint64(0)
	for i := range ci.NumPages() {
		if ci.NullPage(i) {
			return 0, 0, false // the start column has no nulls
		}
		lo, hi = min(lo, ci.MinValue(i).Uint64()), max(hi, ci.MaxValue(i).Uint64())
	}
	return lo, hi, true
}

// candidate is a trace that matched, with its matched rows.
type candidate struct {
	start, end uint64
	id         model.TraceID
	rgi        int
	rows       []int64 // matched rows, relative to the row group
}

// newer reports whether a sorts before b newest-first: later start, then
// smaller trace ID.
func newer(a, b *candidate) bool {
	if a.start != b.start {
		return a.start > b.start
	}
	return string(a.id[:]) < string(b.id[:])
}

// candidateHeap keeps the best candidates with the worst at the root.
type candidateHeap []*candidate

func (h candidateHeap) Len() int           { return len(h) }
func (h candidateHeap) Less(i, j int) bool { return newer(h[j], h[i]) }
func (h candidateHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *candidateHeap) Push(x any)        { *h = append(*h, x.(*candidate)) }
func (h *candidateHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
func (h candidateHeap) full(limit int) bool { return len(h) >= limit }

// offer adds c if it is among the limit best so far; c's rows are copied.
func (s *searcher) offer(c *candidate) {
	if s.top.full(s.req.Limit) {
		if !newer(c, s.top[0]) {
			return
		}
		heap.Pop(&s.top)
	}
	cp := *c
	cp.rows = slices.Clone(c.rows)
	heap.Push(&s.top, &cp)
}

// collect reads the start times and trace IDs of the selected rows, groups
// them by trace and offers each trace to the top candidates. Once the top
// is full, a trace with a selected row older than its worst entry cannot
// enter, so trace IDs are read only around the selected rows that are not
// older ("live" rows): just the traces holding them are grouped.
func (s *searcher) collect(ctx context.Context, e *rgSearch, rgi int) error {
	starts, err := e.read(ctx, s.b.cols.start)
	if err != nil {
		return err
	}
	if err := int64s(starts); err != nil {
		return err
	}
	if starts.numValues() != starts.slots {
		return fmt.Errorf("%w: start column with nulls", ErrCorrupt)
	}
	startOf := e.rowIndexes(starts, s.dedIdx) // value index per row
	s.dedIdx = startOf
	live := newBitset(e.n, s.pend)
	s.pend = live
	full := s.top.full(s.req.Limit)
	for _, r := range e.ranges {
		for row := r.from; row < r.to; row++ {
			if e.sel.has(row) && (!full || uint64(starts.i64[startOf[row]]) >= s.top[0].start) {
				live.set(row)
			}
		}
	}
	if live.count() == 0 {
		return nil
	}
	// Read trace IDs around the live rows, widening a range while a live
	// row's trace may continue past its ends.
	ranges := live.runs(narrowGap, e.n)
	for i := range ranges {
		ranges[i] = rowRange{max(ranges[i].from-traceMargin, 0), min(ranges[i].to+traceMargin, e.n)}
	}
	ranges = mergeRanges(ranges)
	saved := e.ranges
	defer func() { e.ranges = saved }()
	var ids *column
	for {
		e.ranges = ranges
		if ids, err = e.readFetched(ctx, rgi, s.b.cols.traceID); err != nil {
			return err
		}
		if ids.kind != encoding.FixedLenByteArray || ids.size != 16 || ids.numValues() != ids.slots {
			return fmt.Errorf("%w: bad trace_id column", ErrCorrupt)
		}
		wider, grown := widenTraceRanges(ids, live, e.n)
		if !grown {
			break
		}
		ranges = wider
	}
	var cur candidate
	cur.rows = make([]int64, 0, 16)
	have, isLive := false, false
	flush := func() {
		if have && isLive {
			s.offer(&cur)
		}
		have, isLive = false, false
	}
	k := 0
	for _, r := range ids.ranges {
		for row := r.from; row < r.to; row, k = row+1, k+1 {
			id := model.TraceID(ids.fixed[k*16 : k*16+16])
			if have && id != cur.id {
				flush()
			}
			if !have {
				cur = candidate{start: ^uint64(0), id: id, rgi: rgi, rows: cur.rows[:0]}
				have = true
			}
			if !e.sel.has(row) {
				continue
			}
			isLive = isLive || live.has(row)
			cur.start = min(cur.start, uint64(starts.i64[startOf[row]]))
			cur.rows = append(cur.rows, row)
		}
		flush() // ranges are cut at trace boundaries
	}
	return nil
}

// traceMargin is how far trace IDs are first read around a live row.
const traceMargin = 64

// mergeRanges joins overlapping or touching sorted ranges.
func mergeRanges(rs []rowRange) []rowRange {
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 && r.from <= out[n-1].to {
			out[n-1].to = max(out[n-1].to, r.to)
			continue
		}
		out = append(out, r)
	}
	return out
}

// widenTraceRanges checks that every trace holding a live row lies wholly
// inside the ranges ids was read for; if not it returns wider ranges.
func widenTraceRanges(ids *column, live bitset, n int64) ([]rowRange, bool) {
	out := slices.Clone(ids.ranges)
	grown := false
	k := 0
	for i, r := range ids.ranges {
		at := func(row int64) model.TraceID {
			j := k + int(row-r.from)
			return model.TraceID(ids.fixed[j*16 : j*16+16])
		}
		// The trace at each end: does it hold a live row inside the range?
		first, last := at(r.from), at(r.to-1)
		headLive, tailLive := false, false
		for row := r.from; row < r.to && at(row) == first; row++ {
			headLive = headLive || live.has(row)
		}
		for row := r.to - 1; row >= r.from && at(row) == last; row-- {
			tailLive = tailLive || live.has(row)
		}
		if headLive && r.from > 0 {
			out[i].from, grown = max(r.from-4*traceMargin, 0), true
		}
		if tailLive && r.to < n {
			out[i].to, grown = min(r.to+4*traceMargin, n), true
		}
		k += int(r.to - r.from)
	}
	if !grown {
		return nil, false
	}
	return mergeRanges(out), true
}

// emitTop builds the matched spans of the top candidates and calls fn for
// them, newest first.
func (s *searcher) emitTop(ctx context.Context) error {
	top := []*candidate(s.top)
	slices.SortFunc(top, func(a, b *candidate) int {
		if newer(a, b) {
			return -1
		}
		return 1
	})
	matches := make([]filter.Match, len(top))
	// Build spans row group by row group, rows in order.
	byRG := map[int][]int{}
	for i, c := range top {
		byRG[c.rgi] = append(byRG[c.rgi], i)
		matches[i] = filter.Match{TraceID: c.id, StartUnixNano: c.start}
	}
	for rgi, idx := range byRG {
		var rows []int64
		owner := map[int64]int{}
		for _, i := range idx {
			for _, r := range top[i].rows {
				rows = append(rows, r)
				owner[r] = i
			}
		}
		slices.Sort(rows)
		err := s.buildRows(ctx, rgi, rows, func(row int64, sp *model.Span) error {
			m := &matches[owner[row]]
			if len(m.Spans) == 0 {
				m.EndUnixNano = sp.EndTimeUnixNano
			}
			m.EndUnixNano = max(m.EndUnixNano, sp.EndTimeUnixNano)
			m.Spans = append(m.Spans, *sp)
			return nil
		})
		if err != nil {
			return err
		}
	}
	for _, m := range matches {
		if !s.fn(m) {
			return nil
		}
	}
	return nil
}

// maxBuildRows bounds the rows of one batch of whole rows built at once.
const maxBuildRows = 4096

// buildGap is the largest run of unmatched rows read through, rather than
// sought over, when whole rows are built; rows read through are skipped
// without building their spans.
const buildGap = 512

// buildRows builds the spans of rows (sorted, relative to row group rgi)
// and calls fn with each, in row order. It reads a batch of runs at a time,
// so that a search that stops early reads little.
//
// With a projection (s.proj not nil) it decodes only the plan's columns and
// builds light spans (see projected).
func (s *searcher) buildRows(ctx context.Context, rgi int, rows []int64, fn func(int64, *model.Span) error) error {
	var runs []rowRange
	for _, row := range rows {
		if n := len(runs); n > 0 && row <= runs[n-1].to+buildGap {
			runs[n-1].to = row + 1
			continue
		}
		runs = append(runs, rowRange{row, row + 1})
	}
	if s.proj != nil {
		// Light spans are handed over as they are built: bound the rows
		// decoded at once, and so the column buffers.
		runs = splitRuns(runs, projBatchRows)
	}
	next := 0 // index in rows
	wanted := func(row int64) bool {
		for next < len(rows) && rows[next] < row {
			next++
		}
		return next < len(rows) && rows[next] == row
	}
	var all *fetchedRowGroup
	if s.proj != nil {
		// The few columns of light spans are fetched at once.
		var err error
		if all, err = s.b.fetchColumns(ctx, rgi, s.proj.plan.cols, runs); err != nil {
			return err
		}
		defer all.release()
	}
	for len(runs) > 0 {
		n, total := 0, int64(0)
		limit := int64(maxBuildRows)
		if all != nil {
			limit = projBatchRows
		}
		for n < len(runs) && (n == 0 || total+runs[n].to-runs[n].from <= limit) {
			total += runs[n].to - runs[n].from
			n++
		}
		batch := runs[:n]
		runs = runs[n:]
		if all != nil {
			if err := s.sr.readProjected(ctx, all, batch, wanted, s.proj, fn); err != nil {
				return err
			}
			continue
		}
		frg, err := s.b.fetchColumns(ctx, rgi, s.b.allColumns(), batch)
		if err != nil {
			return err
		}
		err = s.sr.read(ctx, frg, batch, wanted, fn)
		frg.release()
		if err != nil {
			return err
		}
	}
	return nil
}

// projBatchRows bounds the rows of light spans decoded at once. Pages of
// the few columns they read hold many rows (a dictionary-encoded page
// thousands), and a page across two batches is decoded twice.
const projBatchRows = 16384

// splitRuns cuts runs longer than n rows into runs of at most n.
func splitRuns(runs []rowRange, n int64) []rowRange {
	var out []rowRange
	for _, r := range runs {
		for r.to-r.from > n {
			out = append(out, rowRange{r.from, r.from + n})
			r.from += n
		}
		out = append(out, r)
	}
	return out
}

// errStop ends a streaming row walk when fn asked to stop.
var errStop = fmt.Errorf("search stopped")

// stream builds the selected rows of a row group in block order, groups
// them by trace and calls fn for each trace. It reports whether the search
// must stop.
func (s *searcher) stream(ctx context.Context, e *rgSearch, rgi int) (bool, error) {
	rows := s.rowBuf[:0]
	defer func() { s.rowBuf = rows[:0] }()
	for _, r := range e.ranges {
		for row := r.from; row < r.to; row++ {
			if e.sel.has(row) {
				rows = append(rows, row)
			}
		}
	}
	if s.proj != nil {
		s.proj.plan = s.b.projPlan(s.req.Projection, e.info, s.proj.plan.cols)
	}
	err := s.buildRows(ctx, rgi, rows, func(_ int64, sp *model.Span) error {
		if s.cur != nil && s.cur.TraceID != sp.TraceID {
			if s.flush() {
				return errStop
			}
			if s.proj != nil {
				s.proj.restart(sp)
			}
		}
		if s.cur == nil {
			s.curBuf = filter.Match{TraceID: sp.TraceID, StartUnixNano: sp.StartTimeUnixNano, EndUnixNano: sp.EndTimeUnixNano}
			if s.proj != nil {
				s.curBuf.Spans = s.spans[:0]
			}
			s.cur = &s.curBuf
		}
		s.cur.StartUnixNano = min(s.cur.StartUnixNano, sp.StartTimeUnixNano)
		s.cur.EndUnixNano = max(s.cur.EndUnixNano, sp.EndTimeUnixNano)
		s.cur.Spans = append(s.cur.Spans, *sp)
		return nil
	})
	if err == errStop {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	// A row group ends at a trace boundary.
	stop := s.flush()
	if s.proj != nil {
		s.proj.restart(nil)
	}
	return stop, nil
}

// flush hands the collected trace to fn and reports whether to stop.
func (s *searcher) flush() bool {
	if s.cur == nil {
		return false
	}
	m := *s.cur
	s.cur = nil
	stop := !s.fn(m)
	if s.proj != nil {
		// fn copied what it keeps: reuse the spans.
		s.spans = m.Spans[:0]
	}
	return stop
}
