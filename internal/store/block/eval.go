package block

import (
	"context"
	"fmt"
	"math/bits"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"

	"waymark/internal/model"
	"waymark/internal/store/filter"
)

// A search evaluates its request on columns: every part of
// filter.Request.MatchSpan (time range, duration bounds, each condition)
// clears the rows of a row group's selection that fail it, reading only the
// columns that part needs and only for rows still selected. Values of
// dictionary-encoded pages are judged once per dictionary entry.

// bitset is a set of rows of one row group.
type bitset []uint64

func newBitset(n int64, buf bitset) bitset {
	words := int((n + 63) / 64)
	if cap(buf) < words {
		return make(bitset, words)
	}
	buf = buf[:words]
	clear(buf)
	return buf
}

func (b bitset) set(i int64)      { b[i>>6] |= 1 << (i & 63) }
func (b bitset) clear(i int64)    { b[i>>6] &^= 1 << (i & 63) }
func (b bitset) has(i int64) bool { return b[i>>6]&(1<<(i&63)) != 0 }

func (b bitset) setRange(r rowRange) {
	for i := r.from; i < r.to; i++ {
		b.set(i)
	}
}

func (b bitset) count() int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}

// runs returns the selected rows as ranges, joining runs separated by fewer
// than gap unselected rows.
func (b bitset) runs(gap int64, n int64) []rowRange {
	var out []rowRange
	for w, word := range b {
		for word != 0 {
			t := bits.TrailingZeros64(word)
			row := int64(w)*64 + int64(t)
			word &^= 1 << t
			if row >= n {
				return out
			}
			if k := len(out); k > 0 && row <= out[k-1].to+gap {
				out[k-1].to = row + 1
				continue
			}
			out = append(out, rowRange{row, row + 1})
		}
	}
	return out
}

// verdict caches a yes/no answer: 0 unknown, 1 yes, 2 no.
type verdict uint8

func (v verdict) known() bool { return v != 0 }
func (v verdict) yes() bool   { return v == 1 }
func verdictOf(b bool) verdict {
	if b {
		return 1
	}
	return 2
}

// judge caches a predicate on the byte-array values of a column: entries of
// the dictionary are judged once.
type judge struct {
	dict []verdict
	fn   func([]byte) bool
}

func (j *judge) reset(fn func([]byte) bool) {
	j.fn = fn
	j.dict = j.dict[:0]
}

// value judges byte-array value k of c.
func (j *judge) value(c *column, k int) bool {
	id := c.ids[k]
	if id < 0 {
		return j.fn(c.plain.at(int(^id)))
	}
	if n := c.dict.len(); len(j.dict) < n {
		j.dict = append(j.dict[:0], make([]verdict, n)...)
	}
	if v := j.dict[id]; v.known() {
		return v.yes()
	}
	ok := j.fn(c.dict.at(int(id)))
	j.dict[id] = verdictOf(ok)
	return ok
}

// stringJudge returns the verdict of c on a found string value, judged on
// its bytes: equality and inequality compare with the text of c's value
// (which is what filter.Condition.MatchValue does for a string attribute),
// patterns match the bytes, and other operators go through MatchValue.
func stringJudge(c *filter.Condition) func([]byte) bool {
	switch c.Op {
	case filter.OpEq:
		want := c.Value.AsString()
		return func(b []byte) bool { return string(b) == want }
	case filter.OpNotEq:
		want := c.Value.AsString()
		return func(b []byte) bool { return string(b) != want }
	case filter.OpRegex:
		return func(b []byte) bool { return c.Regexp != nil && c.Regexp.Match(b) }
	case filter.OpNotRegex:
		return func(b []byte) bool { return c.Regexp != nil && !c.Regexp.Match(b) }
	case filter.OpExists:
		return func([]byte) bool { return true }
	}
	return func(b []byte) bool { return c.MatchValue(model.StringValue(view(b))) }
}

// view returns b as a string without copying; the string must not outlive
// b nor be kept by the callee (MatchValue keeps nothing).
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// rgSearch is the evaluation state of one row group.
type rgSearch struct {
	s      *searcher
	info   *rowGroupInfo
	rg     parquet.RowGroup
	n      int64
	sel    bitset
	ranges []rowRange // covering every selected row
}

// read decodes leaf l for the current ranges into a column of the searcher.
func (e *rgSearch) read(ctx context.Context, l leaf) (*column, error) {
	c := e.s.colBuf(l)
	if err := readColumn(ctx, e.rg, l, e.ranges, c); err != nil {
		return nil, err
	}
	if c.leaf.maxRep == 0 {
		var rows int64
		for _, r := range e.ranges {
			rows += r.to - r.from
		}
		if int64(c.slots) != rows {
			return nil, fmt.Errorf("%w: column %d has %d values for %d rows", ErrCorrupt, l.index, c.slots, rows)
		}
	}
	return c, nil
}

// readFetched is read for a column that was not prefetched with the row
// group: it fetches the column's pages for the current ranges first.
func (e *rgSearch) readFetched(ctx context.Context, rgi int, l leaf) (*column, error) {
	frg, err := e.s.b.fetchColumns(ctx, rgi, []int{l.index}, e.ranges)
	if err != nil {
		return nil, err
	}
	defer frg.release()
	saved := e.rg
	e.rg = frg
	defer func() { e.rg = saved }()
	return e.read(ctx, l)
}

// narrow recomputes the ranges from the selection and reports whether any
// row is left.
func (e *rgSearch) narrow() bool {
	e.ranges = e.sel.runs(narrowGap, e.n)
	return len(e.ranges) > 0
}

// narrowGap is the largest run of unselected rows that is read through
// rather than sought over when reading the next column.
const narrowGap = 512

// eachFlat walks a flat column's rows and calls fn with each selected row
// and its value index (-1 for null); fn returning false unselects the row.
func (e *rgSearch) eachFlat(c *column, fn func(k int) bool) {
	slot, val := 0, 0
	for _, r := range c.ranges {
		for row := r.from; row < r.to; row++ {
			k := -1
			if c.defined(slot) {
				k = val
				val++
			}
			slot++
			if e.sel.has(row) && !fn(k) {
				e.sel.clear(row)
			}
		}
	}
}

// required checks that a column without nulls has a value in every slot.
func required(c *column) error {
	if c.leaf.maxDef == 0 && c.numValues() != c.slots {
		return fmt.Errorf("%w: column %d has %d values in %d slots", ErrCorrupt, c.leaf.index, c.numValues(), c.slots)
	}
	return nil
}

// int64s checks that c holds int64 values (or only nulls).
func int64s(c *column) error {
	if err := required(c); err != nil {
		return err
	}
	if c.numValues() > 0 && c.kind != encoding.Int64 {
		return fmt.Errorf("%w: column %d is not of int64 values", ErrCorrupt, c.leaf.index)
	}
	return nil
}

func int32s(c *column) error {
	if err := required(c); err != nil {
		return err
	}
	if c.numValues() > 0 && c.kind != encoding.Int32 {
		return fmt.Errorf("%w: column %d is not of int32 values", ErrCorrupt, c.leaf.index)
	}
	return nil
}

func byteArrays(c *column) error {
	if err := required(c); err != nil {
		return err
	}
	if c.numValues() > 0 && c.kind != encoding.ByteArray {
		return fmt.Errorf("%w: column %d is not of byte arrays", ErrCorrupt, c.leaf.index)
	}
	return nil
}

// evalTime applies the request's time range and duration bounds.
func (e *rgSearch) evalTime(ctx context.Context) error {
	req := e.s.req
	hasRange := req.StartUnixNano != 0 || req.EndUnixNano != 0
	hasDur := req.MinDurationNano != 0 || req.MaxDurationNano != 0
	if !hasRange && !hasDur {
		return nil
	}
	if !hasDur {
		// A row group wholly inside the range needs no start times.
		if lo, hi, ok := startBounds(e.rg, e.s.b.cols.start); ok && req.InTimeRange(lo) && req.InTimeRange(hi) {
			return nil
		}
	}
	start, err := e.read(ctx, e.s.b.cols.start)
	if err != nil {
		return err
	}
	if err := int64s(start); err != nil {
		return err
	}
	var dur *column
	if hasDur {
		// start stays valid: it is a different buffer.
		if dur, err = e.read(ctx, e.s.b.cols.duration); err != nil {
			return err
		}
		if err := int64s(dur); err != nil {
			return err
		}
	}
	e.eachFlat(start, func(k int) bool {
		if k < 0 {
			return false
		}
		st := uint64(start.i64[k])
		if !req.InTimeRange(st) {
			return false
		}
		if dur != nil {
			d := spanDuration(st, uint64(dur.i64[k]))
			if d < req.MinDurationNano || (req.MaxDurationNano != 0 && d > req.MaxDurationNano) {
				return false
			}
		}
		return true
	})
	return nil
}

// spanDuration is model.Span.DurationNano of a stored start and duration.
func spanDuration(start, dur uint64) uint64 {
	end := start + dur
	if end < start {
		return 0
	}
	return end - start
}

// matchFound is the outcome of condition c when its key was found with
// value v (found) or not.
func matchFound(c *filter.Condition, found bool, v model.Value) bool {
	if c.Op == filter.OpExists {
		return found
	}
	if !found {
		return c.Op == filter.OpNotEq || c.Op == filter.OpNotRegex
	}
	return c.MatchValue(v)
}

// evalCondition applies condition c.
func (e *rgSearch) evalCondition(ctx context.Context, c *filter.Condition) error {
	cols := &e.s.b.cols
	if c.Scope == filter.ScopeIntrinsic {
		switch c.Key {
		case filter.IntrinsicName:
			return e.evalString(ctx, cols.name, c)
		case filter.IntrinsicStatusMessage:
			return e.evalString(ctx, cols.statusMessage, c)
		case filter.IntrinsicKind:
			return e.evalEnum(ctx, cols.kind, c, func(v int32) string { return model.SpanKind(v).String() })
		case filter.IntrinsicStatus:
			return e.evalEnum(ctx, cols.status, c, func(v int32) string { return model.StatusCode(v).String() })
		case filter.IntrinsicDuration:
			return e.evalDuration(ctx, c)
		}
		if !matchFound(c, false, model.Value{}) {
			clear(e.sel)
		}
		return nil
	}
	return e.evalAttr(ctx, c)
}

// evalString applies c to a required string column.
func (e *rgSearch) evalString(ctx context.Context, l leaf, c *filter.Condition) error {
	col, err := e.read(ctx, l)
	if err != nil {
		return err
	}
	if err := byteArrays(col); err != nil {
		return err
	}
	j := &e.s.judges[0]
	j.reset(stringJudge(c))
	e.eachFlat(col, func(k int) bool { return k >= 0 && j.value(col, k) })
	return nil
}

// evalEnum applies c to an int32 column whose values are compared by name.
func (e *rgSearch) evalEnum(ctx context.Context, l leaf, c *filter.Condition, name func(int32) string) error {
	col, err := e.read(ctx, l)
	if err != nil {
		return err
	}
	if err := int32s(col); err != nil {
		return err
	}
	var memo [8]verdict
	e.eachFlat(col, func(k int) bool {
		if k < 0 {
			return false
		}
		v := col.i32[k]
		if v >= 0 && int(v) < len(memo) && memo[v].known() {
			return memo[v].yes()
		}
		ok := matchFound(c, true, model.StringValue(name(v)))
		if v >= 0 && int(v) < len(memo) {
			memo[v] = verdictOf(ok)
		}
		return ok
	})
	return nil
}

// evalDuration applies c to the span duration.
func (e *rgSearch) evalDuration(ctx context.Context, c *filter.Condition) error {
	start, err := e.read(ctx, e.s.b.cols.start)
	if err != nil {
		return err
	}
	dur, err := e.read(ctx, e.s.b.cols.duration)
	if err != nil {
		return err
	}
	if err := int64s(start); err != nil {
		return err
	}
	if err := int64s(dur); err != nil {
		return err
	}
	e.eachFlat(start, func(k int) bool {
		return k >= 0 && matchFound(c, true, model.IntValue(int64(spanDuration(uint64(start.i64[k]), uint64(dur.i64[k])))))
	})
	return nil
}

// attrHits locates, per row of a row group, the first entry of one key in
// an attribute list: slot[row] is its slot (-1 when absent) and typ[row]
// its type code; val[row] is the index of its value in the value column of
// its type, which vcols holds (read for the same ranges as the key).
type attrHits struct {
	slot, typ, val []int32
	vcols          [4]*column // str, int, double, bytes
}

// valueColumn returns which of attrHits.vcols holds values of type t, or -1.
func valueColumn(t int32) int {
	switch model.ValueType(t) {
	case model.ValueString, model.ValueArray, model.ValueMap:
		return 0
	case model.ValueInt, model.ValueBool:
		return 1
	case model.ValueDouble:
		return 2
	case model.ValueBytes:
		return 3
	}
	return -1
}

// genericHits finds the first entry of key in attribute list g for the rows
// in want, reading the list's columns for the current ranges.
func (e *rgSearch) genericHits(ctx context.Context, g *attrLeaves, key string, want bitset) (*attrHits, error) {
	keys, err := e.read(ctx, g.key)
	if err != nil {
		return nil, err
	}
	typ, err := e.read(ctx, g.typ)
	if err != nil {
		return nil, err
	}
	if err := byteArrays(keys); err != nil {
		return nil, err
	}
	if err := int32s(typ); err != nil {
		return nil, err
	}
	if keys.slots != typ.slots || keys.numValues() != typ.numValues() || len(keys.rep) != keys.slots {
		return nil, fmt.Errorf("%w: attribute columns of unequal length", ErrCorrupt)
	}
	h := &e.s.hits
	h.slot = fillInt32(h.slot, int(e.n), -1)
	h.typ = fillInt32(h.typ, int(e.n), 0)
	h.val = fillInt32(h.val, int(e.n), -1)
	// Judge the key of every dictionary entry up front.
	isKey := e.s.isKey[:0]
	for i := range keys.dict.len() {
		isKey = append(isKey, string(keys.dict.at(i)) == key)
	}
	e.s.isKey = isKey
	var needed [4]bool
	slot, val := 0, 0
	for _, r := range keys.ranges {
		for row := r.from; row < r.to; row++ {
			if slot >= keys.slots || keys.rep[slot] != 0 {
				return nil, fmt.Errorf("%w: attribute list of row %d misplaced", ErrCorrupt, row)
			}
			look := want.has(row)
			for first := true; slot < keys.slots && (first || keys.rep[slot] != 0); first = false {
				if keys.defined(slot) {
					if look && keyAt(keys, val, isKey, key) {
						look = false
						t := typ.i32[val]
						h.slot[row], h.typ[row] = int32(slot), t
						if vc := valueColumn(t); vc >= 0 {
							needed[vc] = true
						}
					}
					val++
				}
				slot++
			}
		}
	}
	if slot != keys.slots {
		return nil, fmt.Errorf("%w: attribute column has %d slots, rows use %d", ErrCorrupt, keys.slots, slot)
	}
	for vc, l := range []leaf{g.str, g.int, g.double, g.bytes} {
		h.vcols[vc] = nil
		if !needed[vc] {
			continue
		}
		col, err := e.read(ctx, l)
		if err != nil {
			return nil, err
		}
		if col.slots != keys.slots {
			return nil, fmt.Errorf("%w: attribute columns of unequal length", ErrCorrupt)
		}
		h.vcols[vc] = col
		// Rows are in slot order, so one walk over the levels numbers the
		// values of the hits.
		s, k := 0, 0
		for _, r := range keys.ranges {
			for row := r.from; row < r.to; row++ {
				hs := int(h.slot[row])
				if hs < 0 || valueColumn(h.typ[row]) != vc {
					continue
				}
				for ; s < hs; s++ {
					if col.defined(s) {
						k++
					}
				}
				if col.defined(hs) && k < col.numValues() {
					h.val[row] = int32(k)
				}
			}
		}
	}
	return h, nil
}

// keyAt reports whether key value k of keys is key; isKey holds the answer
// for each dictionary entry.
func keyAt(keys *column, k int, isKey []bool, key string) bool {
	if id := keys.ids[k]; id >= 0 {
		return isKey[id]
	}
	return string(keys.plain.at(int(^keys.ids[k]))) == key
}

func fillInt32(buf []int32, n int, v int32) []int32 {
	if cap(buf) < n {
		buf = make([]int32, n)
	}
	buf = buf[:n]
	for i := range buf {
		buf[i] = v
	}
	return buf
}

// value returns the generic value found for row and whether it is intact.
func (h *attrHits) value(row int64) (model.Value, bool) {
	t := h.typ[row]
	vc := valueColumn(t)
	if vc < 0 {
		return model.Value{}, t == int32(model.ValueEmpty)
	}
	k, col := int(h.val[row]), h.vcols[vc]
	vt := model.ValueType(t)
	if k < 0 && (vc == 0 || vc == 1) {
		return model.Value{Type: vt}, true // a null str is "", a null int 0
	}
	if k < 0 || col == nil {
		return model.Value{}, false
	}
	switch vc {
	case 0:
		if col.kind != encoding.ByteArray {
			return model.Value{}, false
		}
		return model.Value{Type: vt, Str: view(col.bytes(k))}, true
	case 1:
		if col.kind != encoding.Int64 {
			return model.Value{}, false
		}
		return model.Value{Type: vt, Int: col.i64[k]}, true
	case 2:
		if col.kind != encoding.Double {
			return model.Value{}, false
		}
		return model.Value{Type: vt, Double: col.f64[k]}, true
	default:
		if col.kind != encoding.ByteArray {
			return model.Value{}, false
		}
		return model.Value{Type: vt, Str: view(col.bytes(k))}, true
	}
}

// judgeHit decides c on the generic value found for row, judging strings
// once per dictionary entry.
func (h *attrHits) judgeHit(c *filter.Condition, row int64, j *judge) (bool, error) {
	if model.ValueType(h.typ[row]) == model.ValueString && h.val[row] >= 0 {
		k, col := int(h.val[row]), h.vcols[0]
		if col == nil || col.kind != encoding.ByteArray {
			return false, fmt.Errorf("%w: string attribute without a value", ErrCorrupt)
		}
		return j.value(col, k), nil
	}
	v, ok := h.value(row)
	if !ok {
		return false, fmt.Errorf("%w: attribute of type %d without a value", ErrCorrupt, h.typ[row])
	}
	return matchFound(c, true, v), nil
}

// rowIndexes returns, per row of the row group, the value index of flat
// column c (-1 for null or rows not read).
func (e *rgSearch) rowIndexes(c *column, buf []int32) []int32 {
	buf = fillInt32(buf, int(e.n), -1)
	slot, val := 0, 0
	for _, r := range c.ranges {
		for row := r.from; row < r.to; row++ {
			if c.defined(slot) {
				buf[row] = int32(val)
				val++
			}
			slot++
		}
	}
	return buf
}

// evalFlat applies c to the rows of a flat optional column holding the
// condition's value; a null means the key was not found.
func (e *rgSearch) evalFlat(ctx context.Context, c *filter.Condition, l leaf, isInt bool, j *judge) error {
	col, err := e.read(ctx, l)
	if err != nil {
		return err
	}
	notFound := matchFound(c, false, model.Value{})
	if isInt {
		if err := int64s(col); err != nil {
			return err
		}
		e.eachFlat(col, func(k int) bool {
			return k < 0 && notFound || k >= 0 && matchFound(c, true, model.IntValue(col.i64[k]))
		})
		return nil
	}
	if err := byteArrays(col); err != nil {
		return err
	}
	j.reset(stringJudge(c))
	e.eachFlat(col, func(k int) bool { return k < 0 && notFound || k >= 0 && j.value(col, k) })
	return nil
}

// evalAttr applies an attribute condition. For each selected row it finds
// the value exactly as filter.Condition.Lookup finds it in the whole span:
// the first span attribute with the key (a generic entry, or a dedicated
// column when the list marks the entry so), else, for ScopeAny and
// ScopeResource, the resource's service name or first resource attribute.
func (e *rgSearch) evalAttr(ctx context.Context, c *filter.Condition) error {
	b, s := e.s.b, e.s
	notFound := matchFound(c, false, model.Value{})
	strJudge := func(j *judge) *judge {
		j.reset(stringJudge(c))
		return j
	}
	// The value lies in one flat column when no generic entry of the key can
	// come first: judge that column row by row.
	ded, hasDed := b.dedicatedLeaf(c.Key)
	spanGeneric := c.Scope != filter.ScopeResource && hasKey(e.info.SpanKeys, c.Key)
	resGeneric := c.Scope != filter.ScopeSpan && c.Key != keyServiceName && hasKey(e.info.ResourceKeys, c.Key)
	switch {
	case spanGeneric || resGeneric:
	case c.Scope != filter.ScopeResource && hasDed && (c.Scope == filter.ScopeSpan || c.Key != keyServiceName):
		return e.evalFlat(ctx, c, ded.leaf, ded.isInt, &s.judges[1])
	case c.Scope != filter.ScopeSpan && c.Key == keyServiceName && !hasDed:
		return e.evalFlat(ctx, c, b.cols.service, false, &s.judges[1])
	}
	pend := newBitset(e.n, s.pend)
	s.pend = pend
	if c.Scope == filter.ScopeResource {
		copy(pend, e.sel)
	} else {
		var (
			dedCol *column
			dedIdx []int32
			err    error
		)
		if hasDed {
			if dedCol, err = e.read(ctx, ded.leaf); err != nil {
				return err
			}
			if ded.isInt {
				err = int64s(dedCol)
			} else {
				err = byteArrays(dedCol)
			}
			if err != nil {
				return err
			}
			dedIdx = e.rowIndexes(dedCol, s.dedIdx)
			s.dedIdx = dedIdx
		}
		var hits *attrHits
		if spanGeneric {
			if hits, err = e.genericHits(ctx, &b.cols.spanAttrs, c.Key, e.sel); err != nil {
				return err
			}
		}
		jd, jg := strJudge(&s.judges[1]), strJudge(&s.judges[2])
		judgeDed := func(row int64) (bool, error) {
			k := dedIdx[row]
			if k < 0 {
				return false, fmt.Errorf("%w: dedicated attribute %q has no value", ErrCorrupt, c.Key)
			}
			if ded.isInt {
				return matchFound(c, true, model.IntValue(dedCol.i64[k])), nil
			}
			return jd.value(dedCol, int(k)), nil
		}
		for _, r := range e.ranges {
			for row := r.from; row < r.to; row++ {
				if !e.sel.has(row) {
					continue
				}
				var ok bool
				switch {
				case hits != nil && hits.slot[row] >= 0 && hits.typ[row] == valueDedicated:
					if !hasDed {
						return fmt.Errorf("%w: attribute %q marked dedicated without a column", ErrCorrupt, c.Key)
					}
					ok, err = judgeDed(row)
				case hits != nil && hits.slot[row] >= 0:
					ok, err = hits.judgeHit(c, row, jg)
				case hasDed && dedIdx[row] >= 0:
					ok, err = judgeDed(row)
				case c.Scope == filter.ScopeSpan:
					ok = notFound
				default:
					pend.set(row)
					continue
				}
				if err != nil {
					return err
				}
				if !ok {
					e.sel.clear(row)
				}
			}
		}
	}
	if c.Scope == filter.ScopeSpan || pend.count() == 0 {
		return nil
	}
	saved := e.ranges
	e.ranges = pend.runs(narrowGap, e.n)
	defer func() { e.ranges = saved }()
	svc, err := e.read(ctx, b.cols.service)
	if err != nil {
		return err
	}
	if err := byteArrays(svc); err != nil {
		return err
	}
	svcIdx := e.rowIndexes(svc, s.svcIdx)
	s.svcIdx = svcIdx
	var hits *attrHits
	if resGeneric {
		if hits, err = e.genericHits(ctx, &b.cols.resAttrs, c.Key, pend); err != nil {
			return err
		}
	}
	js, jg := strJudge(&s.judges[1]), strJudge(&s.judges[2])
	for _, r := range e.ranges {
		for row := r.from; row < r.to; row++ {
			if !pend.has(row) {
				continue
			}
			ok := notFound
			switch {
			case svcIdx[row] < 0: // no resource
			case c.Key == keyServiceName:
				ok = js.value(svc, int(svcIdx[row]))
			case hits != nil && hits.slot[row] >= 0:
				if hits.typ[row] == valueDedicated {
					return fmt.Errorf("%w: resource attribute %q cannot be dedicated", ErrCorrupt, c.Key)
				}
				if ok, err = hits.judgeHit(c, row, jg); err != nil {
					return err
				}
			}
			if !ok {
				e.sel.clear(row)
			}
		}
	}
	return nil
}
