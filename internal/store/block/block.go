package block

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"
	"github.com/thanos-io/objstore"

	"waymark/internal/model"
)

// Size limits for the small objects of a block.
const (
	maxMetaSize  = 1 << 20
	maxIndexSize = 1 << 30
)

// readBufferSize is the read-ahead of each column's page reader. Page bodies
// larger than it are read directly, so it mostly covers page headers: a
// trace lookup then costs about two small reads per column.
const readBufferSize = 8 << 10

// ErrCorrupt marks a block whose objects cannot be decoded.
var ErrCorrupt = errors.New("corrupt block")

// ErrIncomplete marks a block whose meta.json is missing or is not a whole
// JSON document: a write that did not finish (a bucket need not write
// objects atomically, so a crash can leave meta.json torn). Such a block
// never held data anyone read; its objects may be deleted.
var ErrIncomplete = errors.New("incomplete block")

// readMeta reads the meta.json of a block, returning ErrIncomplete when it
// is missing or torn.
func readMeta(ctx context.Context, bkt objstore.Bucket, tenant, id string) ([]byte, error) {
	mb, err := readObject(ctx, bkt, BlockDir(tenant, id)+MetaFile, maxMetaSize)
	if bkt.IsObjNotFoundErr(err) {
		return nil, fmt.Errorf("%w: no %s", ErrIncomplete, MetaFile)
	}
	if err != nil {
		return nil, fmt.Errorf("read meta: %w", err)
	}
	if !json.Valid(mb) {
		return nil, fmt.Errorf("%w: %s is not a whole JSON document", ErrIncomplete, MetaFile)
	}
	return mb, nil
}

// Block is an open block. It keeps the meta, the trace-ID index and the
// Parquet footer in memory and reads column pages from the bucket on
// demand. A Block is safe for concurrent use.
type Block struct {
	meta      Meta
	index     *traceIndex
	file      *parquet.File
	dedicated []string
	cols      columnSet
	bkt       objstore.Bucket
	dataName  string
	// local is the data file held open when the bucket offers positioned
	// reads (see LocalBucket); nil means every read is a range request.
	local  *os.File
	cancel context.CancelFunc
	// readers, searchBufs and fetchBufs pool span readers, search buffers
	// and fetched bytes, which outlive one lookup.
	readers, searchBufs, fetchBufs sync.Pool
}

// Open reads a block's meta.json, index and Parquet footer.
func Open(ctx context.Context, bkt objstore.Bucket, tenant, id string) (*Block, error) {
	if err := model.ValidateTenant(tenant); err != nil {
		return nil, fmt.Errorf("open block: %w", err)
	}
	if err := ValidateID(id); err != nil {
		return nil, fmt.Errorf("open block: %w", err)
	}
	dir := BlockDir(tenant, id)
	mb, err := readMeta(ctx, bkt, tenant, id)
	if err != nil {
		return nil, fmt.Errorf("open block %s: %w", id, err)
	}
	meta, err := DecodeMeta(mb)
	if err != nil {
		return nil, fmt.Errorf("open block %s: %w: %w", id, ErrCorrupt, err)
	}
	if meta.Tenant != tenant || meta.ID != id {
		return nil, fmt.Errorf("open block %s: %w: meta names block %s/%s", id, ErrCorrupt, meta.Tenant, meta.ID)
	}
	ib, err := readObject(ctx, bkt, dir+IndexFile, maxIndexSize)
	if err != nil {
		return nil, fmt.Errorf("open block %s: read index: %w", id, err)
	}
	idx, err := decodeIndex(ib, meta.SpanCount)
	if err != nil {
		return nil, fmt.Errorf("open block %s: %w: %w", id, ErrCorrupt, err)
	}
	life, cancel := context.WithCancel(context.WithoutCancel(ctx))
	b := &Block{meta: meta, index: idx, bkt: bkt, dataName: dir + DataFile, cancel: cancel}
	var r io.ReaderAt = &bucketReaderAt{ctx: life, bkt: bkt, name: dir + DataFile, size: meta.DataSize}
	if lb, ok := bkt.(LocalBucket); ok {
		if b.local, err = lb.OpenFile(dir + DataFile); err != nil {
			cancel()
			return nil, fmt.Errorf("open block %s: %w", id, err)
		}
		r = b.local
	}
	if err := guard(func() error { return b.openData(r, meta.DataSize) }); err != nil {
		_ = b.Close() // read-only: closing cannot lose data
		return nil, fmt.Errorf("open block %s: %w", id, err)
	}
	return b, nil
}

// openData opens data.parquet, of size bytes, and checks it against the
// meta and index.
func (b *Block) openData(r io.ReaderAt, size int64) error {
	if size < 12 {
		return fmt.Errorf("%w: data file of %d bytes", ErrCorrupt, size)
	}
	var tail [8]byte
	if _, err := r.ReadAt(tail[:], size-8); err != nil {
		return fmt.Errorf("read data footer: %w", err)
	}
	if footer := int64(binary.LittleEndian.Uint32(tail[:4])); footer+12 > size || string(tail[4:]) != "PAR1" {
		return fmt.Errorf("%w: bad parquet footer", ErrCorrupt)
	}
	f, err := parquet.OpenFile(r, size,
		parquet.SkipBloomFilters(true),
		parquet.OptimisticRead(true),
		parquet.ReadBufferSize(readBufferSize),
	)
	if err != nil {
		return fmt.Errorf("%w: open parquet: %w", ErrCorrupt, err)
	}
	if !parquet.EqualNodes(f.Schema(), parquet.SchemaOf(spanRow{})) {
		return fmt.Errorf("%w: unexpected parquet schema", ErrCorrupt)
	}
	if f.NumRows() != b.meta.SpanCount {
		return fmt.Errorf("%w: data has %d rows, meta says %d", ErrCorrupt, f.NumRows(), b.meta.SpanCount)
	}
	rgs := f.RowGroups()
	if len(rgs) != len(b.index.RowGroups) {
		return fmt.Errorf("%w: data has %d row groups, index %d", ErrCorrupt, len(rgs), len(b.index.RowGroups))
	}
	for i, rg := range rgs {
		if rg.NumRows() != b.index.RowGroups[i].NumRows {
			return fmt.Errorf("%w: row group %d has %d rows, index says %d", ErrCorrupt, i, rg.NumRows(), b.index.RowGroups[i].NumRows)
		}
	}
	if v, ok := f.Lookup(kvDedicated); ok {
		if err := json.Unmarshal([]byte(v), &b.dedicated); err != nil {
			return fmt.Errorf("%w: dedicated attribute list: %w", ErrCorrupt, err)
		}
		opts := WriteOptions{DedicatedAttributes: b.dedicated}
		if err := opts.validate(); err != nil {
			return fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
	}
	cols, err := lookupColumns(f.Schema())
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	b.file, b.cols = f, cols
	return nil
}

// guard runs fn and turns a panic inside the Parquet decoder, which damaged
// data can provoke, into an ErrCorrupt error.
func guard(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: parquet decoder: %v", ErrCorrupt, r)
		}
	}()
	return fn()
}

// Meta returns the block's meta.
func (b *Block) Meta() Meta { return b.meta }

// MayContain reports whether the block may hold spans of trace id (false
// means it certainly does not). It does no I/O.
func (b *Block) MayContain(id model.TraceID) bool {
	return b.MayContainKey(NewTraceKey(id))
}

// TraceKey is a trace ID with the hashes its lookups use, computed once
// for asking many blocks.
type TraceKey struct {
	id     model.TraceID
	h1, h2 uint64
}

// NewTraceKey returns the key of trace id.
func NewTraceKey(id model.TraceID) TraceKey {
	h1, h2 := traceHashes(id)
	return TraceKey{id: id, h1: h1, h2: h2}
}

// MayContainKey is MayContain for a trace's key.
func (b *Block) MayContainKey(k TraceKey) bool {
	_, _, ok := b.locate(k)
	return ok
}

// locate returns the rows [from, to) that hold the trace of k if the block
// may have it: the bloom filter first, then the index.
func (b *Block) locate(k TraceKey) (from, to int64, ok bool) {
	if !b.index.Bloom.mayContainHashes(k.h1, k.h2) {
		return 0, 0, false
	}
	return b.index.lookup(k.id, b.meta.SpanCount)
}

// FindTrace returns the spans of trace id in block order, or nil, nil when
// the block has none. It fetches the trace_id pages of the index range that
// may hold the trace and narrows it to the trace's exact rows; only if there
// are any does it fetch every column's pages of those rows, in one request,
// and build spans from their values.
func (b *Block) FindTrace(ctx context.Context, id model.TraceID) ([]model.Span, error) {
	from, to, ok := b.locate(NewTraceKey(id))
	if !ok {
		return nil, nil
	}
	rgi := b.index.rowGroupOf(from)
	if rgi < 0 {
		return nil, fmt.Errorf("find trace %s: %w: row %d outside row groups", id, ErrCorrupt, from)
	}
	info := b.index.RowGroups[rgi]
	to = min(to, info.FirstRow+info.NumRows)
	local := rowRange{from - info.FirstRow, to - info.FirstRow}
	sr := b.spanReader()
	defer b.readers.Put(sr)
	var spans []model.Span
	err := guard(func() error {
		// The trace_id pages first: when the bloom filter was wrong (or the
		// trace is elsewhere), nothing else is fetched or decoded.
		ids, err := b.fetchColumns(ctx, rgi, []int{b.cols.traceID.index}, []rowRange{local})
		if err != nil {
			return err
		}
		exact, err := traceRows(ctx, ids, b.cols.traceID, local, id, sr.col(b.cols.traceID))
		ids.release()
		if err != nil || exact.from == exact.to {
			return err
		}
		rg, err := b.fetchColumns(ctx, rgi, b.allColumns(), []rowRange{exact})
		if err != nil {
			return err
		}
		defer rg.release()
		spans = make([]model.Span, 0, exact.to-exact.from)
		return sr.read(ctx, rg, []rowRange{exact}, nil, func(_ int64, s *model.Span) error {
			spans = append(spans, *s)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("find trace %s: %w", id, err)
	}
	return spans, nil
}

// traceRows returns the rows of r that hold trace id, which are contiguous,
// using c as the buffer for the trace_id column.
func traceRows(ctx context.Context, rg parquet.RowGroup, l leaf, r rowRange, id model.TraceID, c *column) (rowRange, error) {
	if err := readColumn(ctx, rg, l, []rowRange{r}, c); err != nil {
		return rowRange{}, err
	}
	if c.kind != encoding.FixedLenByteArray || c.size != len(id) || int64(c.numValues()) != r.to-r.from {
		return rowRange{}, fmt.Errorf("%w: trace_id column of %d values for %d rows", ErrCorrupt, c.numValues(), r.to-r.from)
	}
	out := rowRange{r.from, r.from}
	for i := range int(r.to - r.from) {
		if model.TraceID(c.fixed[i*16:i*16+16]) != id {
			if out.to > out.from {
				break
			}
			continue
		}
		if out.to == out.from {
			out = rowRange{r.from + int64(i), r.from + int64(i)}
		}
		out.to++
	}
	return out, nil
}

// spanReader returns a span reader from the block's pool.
func (b *Block) spanReader() *spanReader {
	if sr, ok := b.readers.Get().(*spanReader); ok {
		return sr
	}
	return newSpanReader(&b.cols, b.dedicated)
}

// iterRows is the number of rows Iter decodes at once, so that its memory
// does not depend on the row group size.
const iterRows = 2048

// Iter calls fn for every span in block order; it stops at fn's first error
// and returns it. It fetches a row group's bytes at once (one request) and
// decodes them iterRows rows at a time.
func (b *Block) Iter(ctx context.Context, fn func(model.Span) error) error {
	sr := b.spanReader()
	defer b.readers.Put(sr)
	cols := b.allColumns()
	for rgi, rg := range b.file.RowGroups() {
		var fnErr error
		err := guard(func() error {
			n := rg.NumRows()
			frg, err := b.fetchColumns(ctx, rgi, cols, []rowRange{{0, n}})
			if err != nil {
				return err
			}
			defer frg.release()
			for from := int64(0); from < n; from += iterRows {
				part := []rowRange{{from, min(from+iterRows, n)}}
				err := sr.read(ctx, frg, part, nil, func(_ int64, s *model.Span) error {
					fnErr = fn(*s)
					return fnErr
				})
				if err != nil {
					return err
				}
			}
			return nil
		})
		if fnErr != nil {
			return fnErr
		}
		if err != nil {
			return fmt.Errorf("iterate block %s: row group %d: %w", b.meta.ID, rgi, err)
		}
	}
	return nil
}

// Close releases the block; in-flight reads are cancelled.
func (b *Block) Close() error {
	b.cancel()
	if b.local != nil {
		if err := b.local.Close(); err != nil {
			return fmt.Errorf("close block %s: %w", b.meta.ID, err)
		}
	}
	return nil
}

// source returns what reads of the data file go through for a lookup
// under ctx: the open local file, or range requests tied to ctx.
func (b *Block) source(ctx context.Context) io.ReaderAt {
	if b.local != nil {
		return b.local
	}
	return &bucketReaderAt{ctx: ctx, bkt: b.bkt, name: b.dataName, size: b.meta.DataSize}
}
