package block

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"

	"github.com/parquet-go/parquet-go"
)

// A block read fetches the byte ranges of the pages it needs up front, with
// as few object reads as possible, and then lets the Parquet decoder read
// from memory. This bounds the requests per lookup (each is a round trip on
// object storage) and ties every read to the caller's context.

// coalesceGap is the largest gap between two needed ranges that is read
// rather than split into two requests.
const coalesceGap = 32 << 10

// byteRange is a half-open range of a data file.
type byteRange struct{ off, end int64 }

// fetched holds prefetched ranges of one object and serves reads from them,
// falling back to src for anything outside them.
type fetched struct {
	src    io.ReaderAt
	size   int64
	ranges []byteRange // sorted, disjoint
	data   [][]byte    // of each range, in buf
	buf    []byte
	pool   *sync.Pool
}

// ReadAt implements io.ReaderAt.
func (f *fetched) ReadAt(p []byte, off int64) (int, error) {
	i := sort.Search(len(f.ranges), func(i int) bool { return f.ranges[i].end > off })
	if i < len(f.ranges) && f.ranges[i].off <= off && off+int64(len(p)) <= f.ranges[i].end {
		return copy(p, f.data[i][off-f.ranges[i].off:]), nil
	}
	return f.src.ReadAt(p, off)
}

// fetchRanges reads the given ranges of src, an object of size bytes,
// after coalescing them, into one buffer taken from pool.
func fetchRanges(src io.ReaderAt, size int64, want []byteRange, pool *sync.Pool) (*fetched, error) {
	slices.SortFunc(want, func(a, b byteRange) int { return cmp.Compare(a.off, b.off) })
	f := &fetched{src: src, size: size, pool: pool}
	for _, r := range want {
		r.off, r.end = max(r.off, 0), min(r.end, size)
		if r.off >= r.end {
			continue
		}
		if n := len(f.ranges); n > 0 && r.off <= f.ranges[n-1].end+coalesceGap {
			f.ranges[n-1].end = max(f.ranges[n-1].end, r.end)
			continue
		}
		f.ranges = append(f.ranges, r)
	}
	total := 0
	for _, r := range f.ranges {
		total += int(r.end - r.off)
	}
	if bp, ok := pool.Get().(*[]byte); ok && cap(*bp) >= total {
		f.buf = (*bp)[:total]
	} else {
		f.buf = make([]byte, total)
	}
	f.data = make([][]byte, len(f.ranges))
	at := 0
	for i, r := range f.ranges {
		n := int(r.end - r.off)
		f.data[i] = f.buf[at : at+n : at+n]
		at += n
		if got, err := src.ReadAt(f.data[i], r.off); got < n {
			f.release()
			return nil, fmt.Errorf("read %d bytes at %d: %w", n, r.off, cmp.Or(err, io.ErrUnexpectedEOF))
		}
	}
	return f, nil
}

// maxPooledFetch bounds the buffers kept for reuse.
const maxPooledFetch = 16 << 20

// release hands the fetched bytes back to the pool. Reads through f must
// be over: the decoder copies what it reads, so nothing refers to them.
func (f *fetched) release() {
	if f.buf == nil {
		return
	}
	if cap(f.buf) <= maxPooledFetch {
		buf := f.buf[:0]
		f.pool.Put(&buf)
	}
	f.buf, f.data, f.ranges = nil, nil, nil
}

// chunkRanges returns the byte ranges of column col of row group rgi that
// hold rows [from, to): its dictionary page and the data pages of those rows,
// each padded by the decoder's read-ahead.
func (b *Block) chunkRanges(rgi, col int, from, to int64) ([]byteRange, error) {
	rgs := b.file.Metadata().RowGroups
	if rgi >= len(rgs) || col >= len(rgs[rgi].Columns) {
		return nil, fmt.Errorf("%w: no column %d in row group %d", ErrCorrupt, col, rgi)
	}
	md := &rgs[rgi].Columns[col].MetaData
	start := md.DataPageOffset
	if md.DictionaryPageOffset > 0 && md.DictionaryPageOffset < start {
		start = md.DictionaryPageOffset
	}
	end := start + md.TotalCompressedSize
	if start < 0 || md.TotalCompressedSize < 0 || end > b.meta.DataSize {
		return nil, fmt.Errorf("%w: column %d of row group %d out of bounds", ErrCorrupt, col, rgi)
	}
	oi, err := b.file.RowGroups()[rgi].ColumnChunks()[col].OffsetIndex()
	if err != nil || oi.NumPages() == 0 {
		return []byteRange{{start, end}}, nil // no page index: the whole chunk
	}
	out := []byteRange{}
	if first := oi.Offset(0); first > start {
		out = append(out, byteRange{start, first + readBufferSize}) // dictionary page
	}
	for i := range oi.NumPages() {
		pageEnd := to
		if i+1 < oi.NumPages() {
			pageEnd = oi.FirstRowIndex(i + 1)
		}
		if oi.FirstRowIndex(i) >= to || pageEnd <= from {
			continue
		}
		out = append(out, byteRange{oi.Offset(i), oi.Offset(i) + oi.CompressedPageSize(i) + readBufferSize})
	}
	return out, nil
}

// fetchColumns prefetches columns cols of row group rgi for rows in ranges
// and returns the row group reading from the fetched bytes.
// The caller must release the row group once it is done reading it.
func (b *Block) fetchColumns(ctx context.Context, rgi int, cols []int, ranges []rowRange) (*fetchedRowGroup, error) {
	if err := ctx.Err(); err != nil {
		return nil, err // a local file read does not look at ctx
	}
	var want []byteRange
	rg := b.file.RowGroups()[rgi]
	chunks := rg.ColumnChunks()
	for _, col := range cols {
		if col >= 0 && col < len(chunks) && emptyChunk(chunks[col], rg.NumRows()) {
			continue // readColumn does not read it
		}
		for _, r := range ranges {
			rs, err := b.chunkRanges(rgi, col, r.from, r.to)
			if err != nil {
				return nil, err
			}
			want = append(want, rs...)
		}
	}
	f, err := fetchRanges(b.source(ctx), b.meta.DataSize, want, &b.fetchBufs)
	if err != nil {
		return nil, err
	}
	return newFetchedRowGroup(b.file.RowGroups()[rgi], f), nil
}

// allColumns lists every leaf column index of the block schema.
func (b *Block) allColumns() []int {
	cols := make([]int, len(b.file.RowGroups()[0].ColumnChunks()))
	for i := range cols {
		cols[i] = i
	}
	return cols
}

// fetchedRowGroup is a row group whose pages are read from prefetched bytes.
type fetchedRowGroup struct {
	parquet.RowGroup
	chunks []parquet.ColumnChunk
	f      *fetched
}

// release hands the prefetched bytes back for reuse; g must not be read
// afterwards.
func (g *fetchedRowGroup) release() { g.f.release() }

func newFetchedRowGroup(rg parquet.RowGroup, f *fetched) *fetchedRowGroup {
	g := &fetchedRowGroup{RowGroup: rg, f: f}
	for _, c := range rg.ColumnChunks() {
		if fc, ok := c.(*parquet.FileColumnChunk); ok {
			g.chunks = append(g.chunks, &fetchedChunk{FileColumnChunk: fc, r: f})
		} else {
			g.chunks = append(g.chunks, c)
		}
	}
	return g
}

// ColumnChunks implements parquet.RowGroup.
func (g *fetchedRowGroup) ColumnChunks() []parquet.ColumnChunk { return g.chunks }

// Rows implements parquet.RowGroup.
func (g *fetchedRowGroup) Rows() parquet.Rows { return parquet.NewRowGroupRowReader(g) }

// fetchedChunk is a column chunk reading its pages from prefetched bytes.
type fetchedChunk struct {
	*parquet.FileColumnChunk
	r io.ReaderAt
}

// Pages implements parquet.ColumnChunk.
func (c *fetchedChunk) Pages() parquet.Pages { return c.FileColumnChunk.PagesFrom(c.r) }
