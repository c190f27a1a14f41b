package block

import (
	"context"
	"fmt"
	"slices"

	"github.com/parquet-go/parquet-go"

	"waymark/internal/model"
	"waymark/internal/store/filter"
)

// Search calls fn for each trace of the block that has at least one span
// satisfying req, with the spans that do, in block (trace ID) order. req must
// have been compiled. Matching is exactly req.MatchSpan: row groups and pages
// are skipped by time range, key lists and column statistics, then only the
// columns the request names are decoded to test each row, and whole rows are
// read only for rows that match. fn returning false stops the search, as does
// reaching req.Limit traces.
func (b *Block) Search(ctx context.Context, req *filter.Request, fn func(filter.Match) bool) error {
	if req.EndUnixNano != 0 && b.meta.MinTimeUnixNano > req.EndUnixNano {
		return nil
	}
	if req.StartUnixNano != 0 && b.meta.MaxTimeUnixNano < req.StartUnixNano {
		return nil
	}
	s := &searcher{b: b, req: req, fn: fn, in: interner{}, dec: spanDecoder{extra: b.dedicated}}
	for _, c := range req.Conditions {
		if c.Scope != filter.ScopeIntrinsic && !slices.Contains(s.keys, c.Key) {
			s.keys = append(s.keys, c.Key)
		}
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
	return nil
}

// searcher carries the state of one Search.
type searcher struct {
	b       *Block
	req     *filter.Request
	fn      func(filter.Match) bool
	in      interner
	keys    []string // attribute keys the conditions look up
	dec     spanDecoder
	emitted int
	buf     []parquet.Value
	// the trace being collected
	cur *filter.Match
}

// dedRead is a dedicated column a search decodes.
type dedRead struct {
	key   string
	leaf  leaf
	isInt bool
}

// pagePredicate reports whether a page with the given bounds of a column
// may hold a matching row.
type pagePredicate struct {
	leaf leaf
	may  func(min, max parquet.Value) bool
}

// rgPlan lists what a search reads of one row group.
type rgPlan struct {
	start, duration, name, kind, status, statusMessage, service bool
	spanGeneric, resGeneric                                     bool
	ded                                                         []dedRead
	prune                                                       []pagePredicate
}

func (p *rgPlan) addDed(d dedRead) {
	for _, x := range p.ded {
		if x.key == d.key {
			return
		}
	}
	p.ded = append(p.ded, d)
}

// dedicatedLeaf returns the dedicated column of span attribute key.
func (b *Block) dedicatedLeaf(key string) (dedRead, bool) {
	if l, ok := b.cols.dedicated[key]; ok {
		return dedRead{key: key, leaf: l, isInt: key == keyHTTPResponseStatusCode || key == keyHTTPStatusCode}, true
	}
	for i, k := range b.dedicated {
		if k == key {
			return dedRead{key: key, leaf: b.cols.extra[i]}, true
		}
	}
	return dedRead{}, false
}

// plan decides what to read of a row group, or reports that no row of it
// can match.
func (s *searcher) plan(info *rowGroupInfo) (rgPlan, bool) {
	var p rgPlan
	req, cols := s.req, &s.b.cols
	if req.StartUnixNano != 0 || req.EndUnixNano != 0 {
		p.start = true
		p.prune = append(p.prune, pagePredicate{leaf: cols.start, may: func(lo, hi parquet.Value) bool {
			return (req.EndUnixNano == 0 || lo.Uint64() <= req.EndUnixNano) && (req.StartUnixNano == 0 || hi.Uint64() >= req.StartUnixNano)
		}})
	}
	if req.MinDurationNano != 0 || req.MaxDurationNano != 0 {
		p.start, p.duration = true, true
	}
	for i := range req.Conditions {
		c := &req.Conditions[i]
		present := false
		var exact *leaf
		exactKind := parquet.ByteArray
		switch c.Scope {
		case filter.ScopeIntrinsic:
			present = true
			switch c.Key {
			case filter.IntrinsicName:
				p.name, exact = true, &cols.name
			case filter.IntrinsicKind:
				p.kind = true
			case filter.IntrinsicStatus:
				p.status = true
			case filter.IntrinsicStatusMessage:
				p.statusMessage, exact = true, &cols.statusMessage
			case filter.IntrinsicDuration:
				p.start, p.duration = true, true
			default:
				present = false
			}
		default:
			sources := 0
			if c.Scope != filter.ScopeResource {
				if d, ok := s.b.dedicatedLeaf(c.Key); ok {
					p.addDed(d)
					sources++
					l := d.leaf
					exact = &l
					if d.isInt {
						exactKind = parquet.Int64
					}
				}
				if hasKey(info.SpanKeys, c.Key) {
					p.spanGeneric = true
					sources++
				}
			}
			if c.Scope != filter.ScopeSpan {
				p.service = true
				if c.Key == keyServiceName {
					sources++
					exact, exactKind = &cols.service, parquet.ByteArray
				} else if hasKey(info.ResourceKeys, c.Key) {
					p.resGeneric = true
					sources++
				}
			}
			present = sources > 0
			if sources != 1 {
				exact = nil
			}
		}
		if !present && c.Op != filter.OpNotEq && c.Op != filter.OpNotRegex {
			return p, false
		}
		if exact != nil && c.Op == filter.OpEq {
			if pred, ok := eqPredicate(*exact, exactKind, c.Value); ok {
				p.prune = append(p.prune, pred)
			}
		}
	}
	return p, true
}

// eqPredicate prunes pages of a column whose values are all different from v.
func eqPredicate(l leaf, kind parquet.Kind, v model.Value) (pagePredicate, bool) {
	switch {
	case kind == parquet.ByteArray && v.Type == model.ValueString:
		return pagePredicate{leaf: l, may: func(lo, hi parquet.Value) bool {
			return string(lo.ByteArray()) <= v.Str && v.Str <= string(hi.ByteArray())
		}}, true
	case kind == parquet.Int64 && v.Type == model.ValueInt:
		return pagePredicate{leaf: l, may: func(lo, hi parquet.Value) bool {
			return lo.Int64() <= v.Int && v.Int <= hi.Int64()
		}}, true
	}
	return pagePredicate{}, false
}

func hasKey(keys []string, k string) bool {
	_, ok := slices.BinarySearch(keys, k)
	return ok
}

// rowRange is a half-open range of rows within a row group.
type rowRange struct{ from, to int64 }

// candidateRanges applies the plan's page predicates to the column indexes
// of rg and returns the row ranges that may match.
func candidateRanges(rg parquet.RowGroup, prune []pagePredicate) ([]rowRange, error) {
	ranges := []rowRange{{0, rg.NumRows()}}
	for _, pp := range prune {
		chunk := rg.ColumnChunks()[pp.leaf.index]
		ci, err := chunk.ColumnIndex()
		if err != nil {
			continue // no page index: nothing to prune with
		}
		oi, err := chunk.OffsetIndex()
		if err != nil || oi.NumPages() != ci.NumPages() {
			continue
		}
		var keep []rowRange
		for i := 0; i < ci.NumPages(); i++ {
			from := oi.FirstRowIndex(i)
			to := rg.NumRows()
			if i+1 < oi.NumPages() {
				to = oi.FirstRowIndex(i + 1)
			}
			if ci.NullPage(i) {
				continue // only nulls: an equality or time bound never holds
			}
			if !pp.may(ci.MinValue(i), ci.MaxValue(i)) {
				continue
			}
			if n := len(keep); n > 0 && keep[n-1].to == from {
				keep[n-1].to = to
			} else {
				keep = append(keep, rowRange{from, to})
			}
		}
		ranges = intersect(ranges, keep)
		if len(ranges) == 0 {
			break
		}
	}
	return ranges, nil
}

// intersect returns the rows present in both sorted range lists.
func intersect(a, b []rowRange) []rowRange {
	var out []rowRange
	for i, j := 0, 0; i < len(a) && j < len(b); {
		from, to := max(a[i].from, b[j].from), min(a[i].to, b[j].to)
		if from < to {
			out = append(out, rowRange{from, to})
		}
		if a[i].to < b[j].to {
			i++
		} else {
			j++
		}
	}
	return out
}

// rowGroup searches row group rgi; it reports whether the search must stop.
func (s *searcher) rowGroup(ctx context.Context, rgi int) (bool, error) {
	info := &s.b.index.RowGroups[rgi]
	p, ok := s.plan(info)
	if !ok {
		return false, nil
	}
	rg := s.b.file.RowGroups()[rgi]
	ranges, err := candidateRanges(rg, p.prune)
	if err != nil {
		return false, err
	}
	frg, err := s.b.fetchColumns(ctx, rgi, p.columns(&s.b.cols), ranges)
	if err != nil {
		return false, err
	}
	var matched []int64
	for _, r := range ranges {
		m, err := s.matchRows(ctx, frg, &p, r)
		if err != nil {
			return false, err
		}
		matched = append(matched, m...)
	}
	if len(matched) == 0 {
		return false, nil
	}
	runs := matchedRuns(matched)
	// Read whole rows a batch of runs at a time, so that a search that stops
	// early (a limit) reads little.
	for len(runs) > 0 {
		n, rows := 0, int64(0)
		for n < len(runs) && (n == 0 || rows+runs[n].to-runs[n].from <= maxRunRows) {
			rows += runs[n].to - runs[n].from
			n++
		}
		batch := runs[:n]
		runs = runs[n:]
		full, err := s.b.fetchColumns(ctx, rgi, s.b.allColumns(), batch)
		if err != nil {
			return false, err
		}
		rr := newRowReader(full)
		for _, run := range batch {
			if stop, err := s.emitRows(ctx, rr, run, matched); stop || err != nil {
				rr.close()
				return stop, err
			}
		}
		rr.close()
	}
	return s.flush(), nil
}

// maxRunRows bounds the rows of one run and of one batch of runs read whole.
const maxRunRows = 512

// runGap is the largest number of unmatched rows read through, rather than
// sought over, between two matched rows.
const runGap = 256

// matchedRuns groups sorted matched rows into ranges to read.
func matchedRuns(matched []int64) []rowRange {
	var runs []rowRange
	for _, row := range matched {
		if n := len(runs); n > 0 && row < runs[n-1].to+runGap && row-runs[n-1].from < maxRunRows {
			runs[n-1].to = row + 1
			continue
		}
		runs = append(runs, rowRange{row, row + 1})
	}
	return runs
}

// columns lists the leaf columns the plan reads.
func (p *rgPlan) columns(cols *columnSet) []int {
	var out []int
	add := func(need bool, l leaf) {
		if need {
			out = append(out, l.index)
		}
	}
	add(p.start, cols.start)
	add(p.duration, cols.duration)
	add(p.name, cols.name)
	add(p.kind, cols.kind)
	add(p.status, cols.status)
	add(p.statusMessage, cols.statusMessage)
	add(p.service, cols.service)
	for _, d := range p.ded {
		add(true, d.leaf)
	}
	for _, al := range []*attrLeaves{&cols.spanAttrs, &cols.resAttrs} {
		need := (al == &cols.spanAttrs && p.spanGeneric) || (al == &cols.resAttrs && p.resGeneric)
		for _, l := range []leaf{al.key, al.typ, al.str, al.int, al.double, al.bytes} {
			add(need, l)
		}
	}
	return out
}

// partialColumns holds the decoded columns of a row range.
type partialColumns struct {
	start, duration, name, kind, status, statusMessage, service []parquet.Value
	ded                                                         [][]parquet.Value
	spanAttrs, resAttrs                                         attrColumns
}

// matchRows decodes the planned columns of rows r and returns the rows
// (relative to the row group) whose partial spans satisfy the request.
func (s *searcher) matchRows(ctx context.Context, rg parquet.RowGroup, p *rgPlan, r rowRange) ([]int64, error) {
	var (
		pc   partialColumns
		err  error
		cols = &s.b.cols
	)
	read := func(need bool, l leaf, dst *[]parquet.Value) {
		if need && err == nil {
			*dst, err = flatColumn(ctx, rg, l, r.from, r.to, nil)
		}
	}
	read(p.start, cols.start, &pc.start)
	read(p.duration, cols.duration, &pc.duration)
	read(p.name, cols.name, &pc.name)
	read(p.kind, cols.kind, &pc.kind)
	read(p.status, cols.status, &pc.status)
	read(p.statusMessage, cols.statusMessage, &pc.statusMessage)
	read(p.service, cols.service, &pc.service)
	pc.ded = make([][]parquet.Value, len(p.ded))
	for i, d := range p.ded {
		read(true, d.leaf, &pc.ded[i])
	}
	if err == nil && p.spanGeneric {
		pc.spanAttrs, err = readAttrColumns(ctx, rg, &cols.spanAttrs, r.from, r.to, s.keys, s.in)
	}
	if err == nil && p.resGeneric {
		pc.resAttrs, err = readAttrColumns(ctx, rg, &cols.resAttrs, r.from, r.to, s.keys, s.in)
	}
	if err != nil {
		return nil, err
	}
	var (
		matched []int64
		span    model.Span
		res     model.Resource
		attrs   model.Attributes
	)
	for i := range int(r.to - r.from) {
		span = model.Span{}
		if p.start {
			span.StartTimeUnixNano = pc.start[i].Uint64()
			span.EndTimeUnixNano = span.StartTimeUnixNano
		}
		if p.duration {
			span.EndTimeUnixNano = span.StartTimeUnixNano + pc.duration[i].Uint64()
		}
		if p.name {
			span.Name = s.in.str(pc.name[i].ByteArray())
		}
		if p.kind {
			span.Kind = model.SpanKind(pc.kind[i].Int32())
		}
		if p.status {
			span.StatusCode = model.StatusCode(pc.status[i].Int32())
		}
		if p.statusMessage {
			span.StatusMessage = s.in.str(pc.statusMessage[i].ByteArray())
		}
		attrs = attrs[:0]
		if p.spanGeneric {
			attrs = append(attrs, pc.spanAttrs.row(i)...)
		}
		for j, d := range p.ded {
			v := pc.ded[j][i]
			if v.IsNull() {
				continue
			}
			if d.isInt {
				attrs = append(attrs, model.Attribute{Key: d.key, Value: model.IntValue(v.Int64())})
			} else {
				attrs = append(attrs, model.Attribute{Key: d.key, Value: model.StringValue(s.in.str(v.ByteArray()))})
			}
		}
		span.Attributes = attrs
		if p.service && !pc.service[i].IsNull() {
			res = model.Resource{ServiceName: s.in.str(pc.service[i].ByteArray())}
			if p.resGeneric {
				res.Attributes = pc.resAttrs.row(i)
			}
			span.Resource = &res
		}
		if s.req.MatchSpan(&span) {
			matched = append(matched, r.from+int64(i))
		}
	}
	return matched, nil
}

// emitRows reads the rows of run, keeps the matched ones, groups them by
// trace and calls fn for each completed trace. It reports whether the
// search must stop.
func (s *searcher) emitRows(ctx context.Context, rr *rowReader, run rowRange, matched []int64) (bool, error) {
	rows := make([]spanRow, run.to-run.from)
	n, err := rr.read(ctx, run.from, rows)
	if err != nil {
		return false, err
	}
	if n != len(rows) {
		return false, fmt.Errorf("%w: read %d of %d rows", ErrCorrupt, n, len(rows))
	}
	i, _ := slices.BinarySearch(matched, run.from)
	for ; i < len(matched) && matched[i] < run.to; i++ {
		var span model.Span
		if err := s.dec.decode(&rows[matched[i]-run.from], &span); err != nil {
			return false, fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		if s.cur != nil && s.cur.TraceID != span.TraceID && s.flush() {
			return true, nil
		}
		if s.cur == nil {
			s.cur = &filter.Match{TraceID: span.TraceID, StartUnixNano: span.StartTimeUnixNano, EndUnixNano: span.EndTimeUnixNano}
		}
		s.cur.StartUnixNano = min(s.cur.StartUnixNano, span.StartTimeUnixNano)
		s.cur.EndUnixNano = max(s.cur.EndUnixNano, span.EndTimeUnixNano)
		s.cur.Spans = append(s.cur.Spans, span)
	}
	return false, nil
}

// flush hands the collected trace to fn and reports whether to stop.
func (s *searcher) flush() bool {
	if s.cur == nil {
		return false
	}
	m := *s.cur
	s.cur = nil
	s.emitted++
	if !s.fn(m) {
		return true
	}
	return s.req.Limit > 0 && s.emitted >= s.req.Limit
}
