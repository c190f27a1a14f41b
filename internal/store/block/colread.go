package block

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"
)

// Reads below the row level work on column values directly: a leaf column
// of some row ranges of a row group is decoded page by page into a column,
// which keeps the repetition and definition levels and the typed values, and
// byte arrays as references into the chunk's dictionary or into a copy of
// plain values. Predicates then run once per dictionary entry and spans are
// built straight from the values, without parquet-go's reflection.

// column is the decoded content of one leaf column for a list of row ranges.
// Slot i is one level entry (one per row for a flat column); values are
// stored for the slots whose definition level is the column's maximum.
type column struct {
	leaf  leaf
	slots int
	rep   []byte // per slot, when the column is repeated
	def   []byte // per slot, when the column is optional or repeated
	kind  encoding.Kind
	i32   []int32
	i64   []int64
	f64   []float64
	fixed []byte
	size  int // bytes per fixed-length value
	// Byte arrays: ids[k] >= 0 is entry ids[k] of dict, and ids[k] < 0 is
	// entry ^ids[k] of plain.
	ids   []int32
	dict  byteTable
	plain byteTable
	// dictOf is the parquet dictionary dict was copied from.
	dictOf parquet.Dictionary
	// memo holds the strings of dictionary entries made so far.
	memo    []string
	memoSet []bool

	// ranges are the rows read, as given to readColumn.
	ranges []rowRange
	// cursor state while rows are walked in order
	pos, val int
}

// byteTable is a list of byte strings: entry i is data[offs[i]:offs[i+1]].
type byteTable struct {
	data []byte
	offs []uint32
}

func (t *byteTable) reset() {
	t.data = t.data[:0]
	t.offs = append(t.offs[:0], 0)
}

func (t *byteTable) len() int { return max(len(t.offs)-1, 0) }

func (t *byteTable) at(i int) []byte { return t.data[t.offs[i]:t.offs[i+1]] }

func (t *byteTable) add(b []byte) {
	t.data = append(t.data, b...)
	t.offs = append(t.offs, uint32(len(t.data)))
}

// reset empties c for reading leaf l.
func (c *column) reset(l leaf) {
	c.leaf = l
	c.slots = 0
	c.rep = c.rep[:0]
	c.def = c.def[:0]
	c.kind = 0
	c.i32 = c.i32[:0]
	c.i64 = c.i64[:0]
	c.f64 = c.f64[:0]
	c.fixed = c.fixed[:0]
	c.size = 0
	c.ids = c.ids[:0]
	c.dict.reset()
	c.plain.reset()
	c.dictOf = nil
	c.memoSet = c.memoSet[:0]
	c.pos, c.val = 0, 0
}

// str returns byte-array value k as a string, made once per dictionary entry.
func (c *column) str(k int) string {
	id := c.ids[k]
	if id < 0 {
		return string(c.plain.at(int(^id)))
	}
	if n := c.dict.len(); len(c.memoSet) < n {
		c.memoSet = slices.Grow(c.memoSet[:0], n)[:n]
		clear(c.memoSet)
		c.memo = slices.Grow(c.memo[:0], n)[:n]
	}
	if !c.memoSet[id] {
		c.memo[id] = string(c.dict.at(int(id)))
		c.memoSet[id] = true
	}
	return c.memo[id]
}

// numValues returns the number of stored (non-null) values.
func (c *column) numValues() int {
	switch c.kind {
	case encoding.Int32:
		return len(c.i32)
	case encoding.Int64:
		return len(c.i64)
	case encoding.Double:
		return len(c.f64)
	case encoding.ByteArray:
		return len(c.ids)
	case encoding.FixedLenByteArray:
		if c.size == 0 {
			return 0
		}
		return len(c.fixed) / c.size
	}
	return 0
}

// bytes returns byte-array value k.
func (c *column) bytes(k int) []byte {
	if id := c.ids[k]; id >= 0 {
		return c.dict.at(int(id))
	}
	return c.plain.at(int(^c.ids[k]))
}

// defined reports whether slot i holds a value.
func (c *column) defined(i int) bool {
	return len(c.def) == 0 || int(c.def[i]) == c.leaf.maxDef
}

// readColumn decodes leaf l of rows in ranges (sorted, disjoint, relative to
// rg) into c.
func readColumn(ctx context.Context, rg parquet.RowGroup, l leaf, ranges []rowRange, c *column) error {
	c.reset(l)
	c.ranges = append(c.ranges[:0], ranges...)
	chunks := rg.ColumnChunks()
	if l.index < 0 || l.index >= len(chunks) {
		return fmt.Errorf("%w: no column %d", ErrCorrupt, l.index)
	}
	if l.maxDef > 0 && emptyChunk(chunks[l.index], rg.NumRows()) {
		c.appendEmpty(ranges)
		return nil
	}
	chunk := chunks[l.index]
	pages := chunk.Pages()
	defer pages.Close()
	// Pages are read whole and windowed here: asking the decoder to seek
	// into a page or to slice one copies the page.
	var firsts []int64 // first row of each page, when the chunk has an offset index
	if oi, err := chunk.OffsetIndex(); err == nil && oi.NumPages() > 0 {
		firsts = make([]int64, oi.NumPages())
		for i := range firsts {
			firsts[i] = oi.FirstRowIndex(i)
		}
	}
	pr := pageWindow{pages: pages, firsts: firsts, index: -1}
	defer pr.release()
	for _, r := range ranges {
		for row := r.from; row < r.to; {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := pr.load(row); err != nil {
				return fmt.Errorf("%w: column %d: %w", ErrCorrupt, l.index, err)
			}
			take := min(r.to, pr.first+pr.rows) - row
			if err := c.appendWindow(pr.page, row-pr.first, take); err != nil {
				return fmt.Errorf("%w: column %d: %w", ErrCorrupt, l.index, err)
			}
			row += take
		}
	}
	return nil
}

// pageWindow holds the page of a column chunk that covers a row, reading
// pages in order and seeking (by the offset index) only to skip pages.
type pageWindow struct {
	pages  parquet.Pages
	firsts []int64 // first row of each page; nil without an offset index
	page   parquet.Page
	index  int   // of page, -1 before the first
	first  int64 // first row of page
	rows   int64 // rows of page
}

// load makes the window's page the one holding row.
func (w *pageWindow) load(row int64) error {
	if w.page != nil && row >= w.first && row < w.first+w.rows {
		return nil
	}
	next, nextFirst := w.index+1, w.first+w.rows
	if w.firsts != nil {
		target := sort.Search(len(w.firsts), func(i int) bool { return w.firsts[i] > row }) - 1
		if target < 0 || target < w.index {
			return fmt.Errorf("no page holds row %d", row)
		}
		if target != next {
			if err := w.pages.SeekToRow(w.firsts[target]); err != nil {
				return fmt.Errorf("seek to row %d: %w", w.firsts[target], err)
			}
		}
		next, nextFirst = target, w.firsts[target]
	} else if w.page == nil {
		nextFirst = 0
	}
	for {
		w.release()
		p, err := w.pages.ReadPage()
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("column ends before row %d", row)
		}
		if err != nil {
			return err
		}
		w.page, w.index, w.first, w.rows = p, next, nextFirst, p.NumRows()
		if w.rows <= 0 {
			return fmt.Errorf("page of %d rows", w.rows)
		}
		if w.firsts != nil && next+1 < len(w.firsts) && w.firsts[next+1] != w.first+w.rows {
			return fmt.Errorf("page %d has %d rows, the offset index says %d", next, w.rows, w.firsts[next+1]-w.first)
		}
		if row < w.first+w.rows {
			return nil
		}
		if w.firsts != nil {
			return fmt.Errorf("no page holds row %d", row)
		}
		next, nextFirst = next+1, w.first+w.rows
	}
}

// release hands the page back to the decoder's pool: its values were copied.
func (w *pageWindow) release() {
	if w.page != nil {
		parquet.Release(w.page)
		w.page = nil
	}
}

// emptyChunk reports whether a column chunk of a row group of rows rows
// holds no value at all: one null (or empty list) slot per row, as its
// statistics say. Such chunks are not read.
func emptyChunk(chunk parquet.ColumnChunk, rows int64) bool {
	nc, ok := chunk.(interface{ NullCount() int64 })
	return ok && rows > 0 && chunk.NumValues() == rows && nc.NullCount() == rows
}

// appendEmpty appends one undefined slot per row of ranges, as an empty
// chunk holds.
func (c *column) appendEmpty(ranges []rowRange) {
	for _, r := range ranges {
		n := int(r.to - r.from)
		if c.leaf.maxRep > 0 {
			c.rep = append(c.rep, make([]byte, n)...)
		}
		if c.leaf.maxDef > 0 {
			c.def = append(c.def, make([]byte, n)...)
		}
		c.slots += n
	}
}

// appendWindow appends the levels and values of rows [skip, skip+take) of
// page p. The page's memory is not retained.
func (c *column) appendWindow(p parquet.Page, skip, take int64) error {
	n := int(p.NumValues())
	if n < 0 {
		return fmt.Errorf("page of %d values", n)
	}
	rep, def := p.RepetitionLevels(), p.DefinitionLevels()
	if c.leaf.maxRep > 0 && len(rep) != n {
		return fmt.Errorf("%d repetition levels for %d values", len(rep), n)
	}
	if c.leaf.maxDef > 0 && len(def) != n {
		return fmt.Errorf("%d definition levels for %d values", len(def), n)
	}
	// The window's slots: rows start where the repetition level is 0. Levels
	// above the maximum are not rejected: the readers of a column compare
	// levels with 0, the list depth and the maximum only.
	s0, s1 := int(skip), int(skip+take)
	if c.leaf.maxRep > 0 {
		if n > 0 && rep[0] != 0 {
			return errors.New("page starts inside a row")
		}
		if skip != 0 || skip+take != p.NumRows() {
			s0, s1 = rowSlot(rep, skip), rowSlot(rep, skip+take)
		} else {
			s0, s1 = 0, n
		}
		if s0 < 0 || s1 < 0 {
			return fmt.Errorf("page has no rows %d..%d", skip, skip+take)
		}
		c.rep = append(c.rep, rep[s0:s1]...)
	}
	if s0 < 0 || s1 > n || s0 > s1 {
		return fmt.Errorf("rows %d..%d outside a page of %d values", skip, skip+take, n)
	}
	// The window's values: those of the defined slots.
	v0, v1 := s0, s1
	if c.leaf.maxDef > 0 {
		full := []byte{byte(c.leaf.maxDef)}
		v0 = bytes.Count(def[:s0], full)
		v1 = v0 + bytes.Count(def[s0:s1], full)
		c.def = append(c.def, def[s0:s1]...)
	}
	c.slots += s1 - s0
	if v1 == v0 {
		return nil
	}
	vals := p.Data()
	if d := p.Dictionary(); d != nil {
		return c.appendIndexed(d, vals, v0, v1)
	}
	kind := vals.Kind()
	if c.kind != 0 && c.kind != kind {
		return fmt.Errorf("page of %s values in a column of %s", kind, c.kind)
	}
	c.kind = kind
	switch kind {
	case encoding.Int32:
		v := vals.Int32()
		if len(v) < v1 {
			return errShortPage(len(v), v1)
		}
		c.i32 = append(c.i32, v[v0:v1]...)
	case encoding.Int64:
		v := vals.Int64()
		if len(v) < v1 {
			return errShortPage(len(v), v1)
		}
		c.i64 = append(c.i64, v[v0:v1]...)
	case encoding.Double:
		v := vals.Double()
		if len(v) < v1 {
			return errShortPage(len(v), v1)
		}
		c.f64 = append(c.f64, v[v0:v1]...)
	case encoding.FixedLenByteArray:
		data, size := vals.FixedLenByteArray()
		if size <= 0 || (c.size != 0 && size != c.size) || len(data) < v1*size {
			return fmt.Errorf("fixed-length page of %d bytes, size %d, for %d values", len(data), size, v1)
		}
		c.size = size
		c.fixed = append(c.fixed, data[v0*size:v1*size]...)
	case encoding.ByteArray:
		data, offs := vals.ByteArray()
		if len(offs) < v1+1 {
			return errShortPage(len(offs)-1, v1)
		}
		// The values are contiguous in the page: one copy of their bytes,
		// then their offsets shifted to where the copy lands.
		lo, hi := offs[v0], offs[v1]
		if lo > hi || int(hi) > len(data) {
			return fmt.Errorf("byte array offsets %d..%d outside %d bytes", lo, hi, len(data))
		}
		shift := uint32(len(c.plain.data)) - lo // modular: offs[k]+shift is the new offset
		c.plain.data = append(c.plain.data, data[lo:hi]...)
		for k := v0 + 1; k <= v1; k++ {
			if offs[k] < offs[k-1] {
				return fmt.Errorf("byte array offsets %d..%d decrease", offs[k-1], offs[k])
			}
			c.ids = append(c.ids, int32(^c.plain.len()))
			c.plain.offs = append(c.plain.offs, offs[k]+shift)
		}
	default:
		return fmt.Errorf("unexpected page of %s values", kind)
	}
	return nil
}

// rowSlot returns the slot where row starts (len(rep) for the row after
// the last), or -1 when rep has fewer rows.
func rowSlot(rep []byte, row int64) int {
	for i, r := range rep {
		if r != 0 {
			continue
		}
		if row == 0 {
			return i
		}
		row--
	}
	if row == 0 {
		return len(rep)
	}
	return -1
}

// appendIndexed appends the dictionary indexes of a dictionary-encoded page.
func (c *column) appendIndexed(d parquet.Dictionary, vals encoding.Values, v0, v1 int) error {
	if vals.Kind() != encoding.Int32 {
		return fmt.Errorf("dictionary page with %s indexes", vals.Kind())
	}
	if c.kind != 0 && c.kind != encoding.ByteArray {
		return fmt.Errorf("dictionary page in a column of %s", c.kind)
	}
	c.kind = encoding.ByteArray
	if c.dictOf != d {
		if c.dictOf != nil {
			return errors.New("column chunk with two dictionaries")
		}
		dp := d.Page().Data()
		if dp.Kind() != encoding.ByteArray {
			return fmt.Errorf("dictionary of %s values", dp.Kind())
		}
		data, offs := dp.ByteArray()
		n := d.Len()
		if n < 0 || len(offs) < n+1 {
			return fmt.Errorf("dictionary of %d entries has %d offsets", n, len(offs))
		}
		for k := range n {
			from, to := offs[k], offs[k+1]
			if from > to || int(to) > len(data) {
				return fmt.Errorf("dictionary offsets %d..%d outside %d bytes", from, to, len(data))
			}
			c.dict.add(data[from:to])
		}
		c.dictOf = d
	}
	idx := vals.Int32()
	if len(idx) < v1 {
		return errShortPage(len(idx), v1)
	}
	n := int32(c.dict.len())
	for _, i := range idx[v0:v1] {
		if i < 0 || i >= n {
			return fmt.Errorf("dictionary index %d outside %d entries", i, n)
		}
	}
	c.ids = append(c.ids, idx[v0:v1]...)
	return nil
}

func errShortPage(got, want int) error {
	return fmt.Errorf("page holds %d values, levels say %d", got, want)
}

// startRows rewinds the row cursor of c.
func (c *column) startRows() { c.pos, c.val = 0, 0 }

// flat advances a flat column by one row and returns its value index, or -1
// when the row's value is null.
func (c *column) flat() (int, error) {
	if c.pos >= c.slots {
		return -1, fmt.Errorf("column %d ends early", c.leaf.index)
	}
	if !c.defined(c.pos) {
		c.pos++
		return -1, nil
	}
	c.pos++
	c.val++
	if c.val > c.numValues() {
		return -1, fmt.Errorf("column %d has too few values", c.leaf.index)
	}
	return c.val - 1, nil
}

// skipRow advances the row cursor of c past one row.
func (c *column) skipRow() {
	for first := true; c.pos < c.slots && (first || (c.leaf.maxRep > 0 && c.rep[c.pos] != 0)); first = false {
		if c.defined(c.pos) {
			c.val++
		}
		c.pos++
	}
}

// done reports an error unless every slot of c was consumed.
func (c *column) done() error {
	if c.pos != c.slots {
		return fmt.Errorf("%w: column %d has %d slots, %d used", ErrCorrupt, c.leaf.index, c.slots, c.pos)
	}
	return nil
}
