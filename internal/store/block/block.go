package block

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"
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
	cancel    context.CancelFunc
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
	mb, err := readObject(ctx, bkt, dir+MetaFile, maxMetaSize)
	if err != nil {
		return nil, fmt.Errorf("open block %s: read meta: %w", id, err)
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
	r := &bucketReaderAt{ctx: life, bkt: bkt, name: dir + DataFile, size: meta.DataSize}
	if err := guard(func() error { return b.openData(r) }); err != nil {
		cancel()
		return nil, fmt.Errorf("open block %s: %w", id, err)
	}
	return b, nil
}

// openData opens data.parquet and checks it against the meta and index.
func (b *Block) openData(r *bucketReaderAt) error {
	if r.size < 12 {
		return fmt.Errorf("%w: data file of %d bytes", ErrCorrupt, r.size)
	}
	var tail [8]byte
	if _, err := r.ReadAt(tail[:], r.size-8); err != nil {
		return fmt.Errorf("read data footer: %w", err)
	}
	if footer := int64(binary.LittleEndian.Uint32(tail[:4])); footer+12 > r.size || string(tail[4:]) != "PAR1" {
		return fmt.Errorf("%w: bad parquet footer", ErrCorrupt)
	}
	f, err := parquet.OpenFile(r, r.size,
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
	if !b.index.Bloom.mayContain(id) {
		return false
	}
	_, _, ok := b.index.lookup(id, b.meta.SpanCount)
	return ok
}

// FindTrace returns the spans of trace id in block order, or nil, nil when
// the block has none.
func (b *Block) FindTrace(ctx context.Context, id model.TraceID) ([]model.Span, error) {
	if !b.MayContain(id) {
		return nil, nil
	}
	from, to, _ := b.index.lookup(id, b.meta.SpanCount)
	rgi := b.index.rowGroupOf(from)
	if rgi < 0 {
		return nil, fmt.Errorf("find trace %s: %w: row %d outside row groups", id, ErrCorrupt, from)
	}
	info := b.index.RowGroups[rgi]
	to = min(to, info.FirstRow+info.NumRows)
	var spans []model.Span
	err := guard(func() error {
		local := from - info.FirstRow
		rg, err := b.fetchColumns(ctx, rgi, b.allColumns(), []rowRange{{local, local + (to - from)}})
		if err != nil {
			return err
		}
		rows := make([]spanRow, to-from)
		n, err := readRows(ctx, rg, local, rows)
		if err != nil {
			return err
		}
		d := spanDecoder{extra: b.dedicated}
		for i := range rows[:n] {
			if rows[i].TraceID != id {
				continue
			}
			spans = append(spans, model.Span{})
			if err := d.decode(&rows[i], &spans[len(spans)-1]); err != nil {
				return fmt.Errorf("%w: row %d: %w", ErrCorrupt, from+int64(i), err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find trace %s: %w", id, err)
	}
	return spans, nil
}

// rowReader reads whole rows of one row group at increasing positions.
type rowReader struct {
	r *parquet.GenericReader[spanRow]
}

func newRowReader(rg parquet.RowGroup) *rowReader {
	return &rowReader{r: parquet.NewGenericRowGroupReader[spanRow](rg)}
}

func (rr *rowReader) close() { _ = rr.r.Close() }

// read reads len(rows) rows starting at row, or fewer at the row group's end.
func (rr *rowReader) read(ctx context.Context, row int64, rows []spanRow) (int, error) {
	if err := rr.r.SeekToRow(row); err != nil {
		return 0, fmt.Errorf("%w: seek to row %d: %w", ErrCorrupt, row, err)
	}
	got := 0
	for got < len(rows) {
		if err := ctx.Err(); err != nil {
			return got, err
		}
		n, err := rr.r.Read(rows[got:])
		got += n
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return got, fmt.Errorf("%w: read rows: %w", ErrCorrupt, err)
		}
		if n == 0 {
			break
		}
	}
	return got, nil
}

// readRows reads len(rows) rows of rg starting at row, or fewer at its end.
func readRows(ctx context.Context, rg parquet.RowGroup, row int64, rows []spanRow) (int, error) {
	rr := newRowReader(rg)
	defer rr.close()
	return rr.read(ctx, row, rows)
}

// iterBatch is the number of rows Iter decodes at once.
const iterBatch = 512

// Iter calls fn for every span in block order; it stops at fn's first error
// and returns it.
func (b *Block) Iter(ctx context.Context, fn func(model.Span) error) error {
	d := spanDecoder{extra: b.dedicated}
	rows := make([]spanRow, iterBatch)
	for rgi, rg := range b.file.RowGroups() {
		var fnErr error
		err := guard(func() error {
			frg, err := b.fetchColumns(ctx, rgi, b.allColumns(), []rowRange{{0, rg.NumRows()}})
			if err != nil {
				return err
			}
			r := parquet.NewGenericRowGroupReader[spanRow](frg)
			defer r.Close()
			for {
				if err := ctx.Err(); err != nil {
					return err
				}
				n, err := r.Read(rows)
				for i := range rows[:n] {
					var s model.Span
					if derr := d.decode(&rows[i], &s); derr != nil {
						return fmt.Errorf("%w: row group %d: %w", ErrCorrupt, rgi, derr)
					}
					if fnErr = fn(s); fnErr != nil {
						return fnErr
					}
				}
				if errors.Is(err, io.EOF) || (err == nil && n == 0) {
					return nil
				}
				if err != nil {
					return fmt.Errorf("%w: row group %d: %w", ErrCorrupt, rgi, err)
				}
			}
		})
		if fnErr != nil {
			return fnErr
		}
		if err != nil {
			return fmt.Errorf("iterate block %s: %w", b.meta.ID, err)
		}
	}
	return nil
}

// Close releases the block; in-flight reads are cancelled.
func (b *Block) Close() error {
	b.cancel()
	return nil
}
