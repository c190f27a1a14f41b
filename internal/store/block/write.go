package block

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
	"github.com/thanos-io/objstore"

	"waymark/internal/model"
)

// Object names inside a block's directory.
const (
	DataFile  = "data.parquet"
	IndexFile = "index"
	MetaFile  = "meta.json"
)

// Parquet key-value metadata keys written into data.parquet.
const (
	kvFormatVersion = "waymark.block.version"
	kvDedicated     = "waymark.block.dedicated_attributes"
	kvSortOrder     = "waymark.block.sort_order"
)

// DefaultRowGroupSpans is the default target number of spans per row group.
const DefaultRowGroupSpans = 50_000

// writeChunk is the number of rows converted and handed to Parquet at once.
const writeChunk = 1024

// pageBufferSize is the uncompressed page size: small enough that a trace
// lookup decompresses little, large enough to compress well. A lookup
// decompresses about one page per column, half its CPU time: against 64
// KiB pages, 32 KiB cut a lookup's CPU by a quarter and cost 3 % more bytes
// on disk (16 KiB: half, and 11 % more bytes).
const pageBufferSize = 32 << 10

// dictionaryMaxBytes bounds a column chunk's dictionary; a column with more
// distinct data falls back to plain encoding, so that reading one page never
// means decoding a huge dictionary.
const dictionaryMaxBytes = 64 << 10

// WriteOptions tune Write and NewWriter.
type WriteOptions struct {
	// RowGroupSpans is the target number of spans per row group; a row group
	// always ends at a trace boundary. 0 means DefaultRowGroupSpans.
	RowGroupSpans int
	// DedicatedAttributes are extra span-attribute keys whose string values
	// get columns of their own (at most MaxDedicatedAttributes), in addition
	// to the always-dedicated HTTP keys.
	DedicatedAttributes []string
	// Level is the compaction level recorded in Meta.Level.
	Level int
	// Now, when set, replaces time.Now for the block ID and creation time.
	Now func() time.Time
}

func (o *WriteOptions) validate() error {
	if o.RowGroupSpans < 0 {
		return fmt.Errorf("negative row group size %d", o.RowGroupSpans)
	}
	if o.Level < 0 {
		return fmt.Errorf("negative level %d", o.Level)
	}
	if len(o.DedicatedAttributes) > MaxDedicatedAttributes {
		return fmt.Errorf("%d dedicated attributes; at most %d are allowed", len(o.DedicatedAttributes), MaxDedicatedAttributes)
	}
	for i, k := range o.DedicatedAttributes {
		switch {
		case k == "":
			return errors.New("empty dedicated attribute key")
		case isFixedDedicated(k):
			return fmt.Errorf("dedicated attribute %q always has its own column", k)
		case slices.Contains(o.DedicatedAttributes[:i], k):
			return fmt.Errorf("dedicated attribute %q listed twice", k)
		}
	}
	return nil
}

// BlockDir returns the object prefix of a block, ending in "/".
func BlockDir(tenant, id string) string { return tenant + "/" + id + "/" }

// Write stores spans as a new block of tenant and returns its meta. Rows are
// sorted by (trace ID, start time, span ID); spans itself is left as it is.
// Write stores data.parquet and the index, and meta.json last: the block
// becomes visible only when Write succeeds. On error it removes what it
// wrote. It is a Writer fed with spans in sorted order.
func Write(ctx context.Context, bkt objstore.Bucket, tenant string, spans []model.Span, opts WriteOptions) (Meta, error) {
	order := sortOrder(spans)
	w, err := NewWriter(ctx, bkt, tenant, opts, countTraces(spans, order))
	if err != nil {
		return Meta{}, err
	}
	for _, i := range order {
		if err := w.put(&spans[i]); err != nil {
			return Meta{}, err
		}
	}
	return w.Close()
}

// cleanup removes a half-written block and returns err.
func cleanup(ctx context.Context, bkt objstore.Bucket, dir string, err error) error {
	ctx = context.WithoutCancel(ctx)
	for _, name := range []string{MetaFile, IndexFile, DataFile} {
		_ = bkt.Delete(ctx, dir+name) // best effort: the block is invisible without meta.json
	}
	return err
}

// traceRun is a run of input spans of one trace.
type traceRun struct {
	hi, lo   uint64 // the trace ID, big-endian halves
	from, to int
}

// sortOrder returns the indexes of spans ordered by trace ID, then start
// time, then span ID. Spans usually arrive grouped by trace (the head keeps
// them so), so it sorts runs of one trace and then each trace's spans.
func sortOrder(spans []model.Span) []int {
	var runs []traceRun
	for i := range spans {
		id := &spans[i].TraceID
		hi, lo := binary.BigEndian.Uint64(id[:8]), binary.BigEndian.Uint64(id[8:])
		if n := len(runs); n > 0 && runs[n-1].hi == hi && runs[n-1].lo == lo {
			runs[n-1].to = i + 1
			continue
		}
		runs = append(runs, traceRun{hi: hi, lo: lo, from: i, to: i + 1})
	}
	slices.SortFunc(runs, func(a, b traceRun) int {
		if c := cmp.Compare(a.hi, b.hi); c != 0 {
			return c
		}
		return cmp.Compare(a.lo, b.lo)
	})
	order := make([]int, 0, len(spans))
	bySpan := func(a, b int) int {
		sa, sb := &spans[a], &spans[b]
		if c := cmp.Compare(sa.StartTimeUnixNano, sb.StartTimeUnixNano); c != 0 {
			return c
		}
		return bytes.Compare(sa.SpanID[:], sb.SpanID[:])
	}
	for i := 0; i < len(runs); {
		start := len(order)
		j := i
		for ; j < len(runs) && runs[j].hi == runs[i].hi && runs[j].lo == runs[i].lo; j++ {
			for k := runs[j].from; k < runs[j].to; k++ {
				order = append(order, k)
			}
		}
		if trace := order[start:]; !slices.IsSortedFunc(trace, bySpan) {
			slices.SortFunc(trace, bySpan)
		}
		i = j
	}
	return order
}

// countTraces returns the number of traces of spans taken in order.
func countTraces(spans []model.Span, order []int) int {
	traces := 0
	for i := range order {
		if i == 0 || spans[order[i]].TraceID != spans[order[i-1]].TraceID {
			traces++
		}
	}
	return traces
}

// countingWriter counts bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// streamUpload uploads what is written to it as one object, without
// buffering the whole object.
type streamUpload struct {
	pw   *io.PipeWriter
	cw   countingWriter
	done chan error
	size int64
	err  error
	over bool
}

// startUpload starts uploading name from what is then written to the
// returned streamUpload; finish must follow.
func startUpload(ctx context.Context, bkt objstore.Bucket, name string) *streamUpload {
	pr, pw := io.Pipe()
	u := &streamUpload{pw: pw, cw: countingWriter{w: pw}, done: make(chan error, 1)}
	go func() {
		err := bkt.Upload(ctx, name, pr)
		_ = pr.CloseWithError(err) // unblock the producer if the upload stopped early
		u.done <- err
	}()
	return u
}

func (u *streamUpload) Write(p []byte) (int, error) { return u.cw.Write(p) }

// finish ends the object, or with a non-nil cause makes the upload fail,
// waits for the upload and returns the object's size. Later calls return
// the first result.
func (u *streamUpload) finish(cause error) (int64, error) {
	if u.over {
		return u.size, u.err
	}
	u.over = true
	_ = u.pw.CloseWithError(cause) // a nil cause closes normally
	u.err = <-u.done
	if u.err == nil && cause != nil {
		u.err = cause
	}
	u.size = u.cw.n
	return u.size, u.err
}

// writerOptions are the Parquet writer settings of every block.
func writerOptions(dedicated []string) ([]parquet.WriterOption, error) {
	ded, err := json.Marshal(dedicated)
	if err != nil {
		return nil, fmt.Errorf("encode dedicated keys: %w", err)
	}
	opts := []parquet.WriterOption{
		parquet.Compression(&zstd.Codec{Level: zstd.SpeedFastest}),
		parquet.PageBufferSize(pageBufferSize),
		parquet.DictionaryMaxBytes(dictionaryMaxBytes),
		// Page bounds go to the page index, where searches read them; the
		// same statistics in every page header would only cost time.
		parquet.DataPageStatistics(false),
		parquet.KeyValueMetadata(kvFormatVersion, fmt.Sprint(FormatVersion)),
		parquet.KeyValueMetadata(kvDedicated, string(ded)),
		parquet.KeyValueMetadata(kvSortOrder, "trace_id,start_time_unix_nano,span_id"),
		parquet.CreatedBy("waymark", fmt.Sprint(FormatVersion), ""),
	}
	for _, path := range parquet.SchemaOf(spanRow{}).Columns() {
		if !hasPageBounds(path[0]) {
			opts = append(opts, parquet.SkipPageBounds(path...))
		}
	}
	return opts, nil
}

// hasPageBounds reports whether the pages of a top-level column get min/max
// bounds in the page index: only the columns whose bounds searches use to
// skip pages do; computing the others would only cost time.
func hasPageBounds(column string) bool {
	switch column {
	case "start_time_unix_nano", "name", "status_message", "service_name",
		"http_request_method", "http_method", "http_route", "http_response_status_code", "http_status_code":
		return true
	}
	return strings.HasPrefix(column, "dedicated_")
}

// Writer writes one block from spans given in block order (trace ID, start
// time, span ID), streaming its data to the bucket as row groups fill:
// memory holds the row group being encoded, the trace index and the
// statistics, not the block. Row groups end at trace boundaries. Close completes the block
// (meta.json last, so it becomes visible only then); Abort or a failure
// removes what was written. A Writer is not safe for concurrent use.
type Writer struct {
	ctx      context.Context
	bkt      objstore.Bucket
	popts    []parquet.WriterOption
	meta     Meta
	dir      string
	rgTarget int64
	index    traceIndex
	stats    *statsCollector
	b        rowBuilder
	rows     []spanRow // built rows not yet handed to Parquet
	upload   *streamUpload
	pw       *parquet.GenericWriter[spanRow]
	row      int64      // rows added so far
	rgStart  int64      // first row of the current row group
	last     model.Span // the sort key of the last span added
	err      error      // the failure that ended the Writer
	done     bool       // the block is complete or removed
}

// NewWriter starts a block of tenant. expectedTraces sizes the block's
// trace bloom filter: an upper bound of the number of traces to be added
// is fine, an underestimate raises its false-positive rate. The caller
// must end the Writer with Close or Abort; ctx bounds every write of it.
func NewWriter(ctx context.Context, bkt objstore.Bucket, tenant string, opts WriteOptions, expectedTraces int) (*Writer, error) {
	if err := model.ValidateTenant(tenant); err != nil {
		return nil, fmt.Errorf("write block: %w", err)
	}
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("write block: %w", err)
	}
	popts, err := writerOptions(opts.DedicatedAttributes)
	if err != nil {
		return nil, fmt.Errorf("write block: %w", err)
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	created := now()
	w := &Writer{
		ctx:   ctx,
		bkt:   bkt,
		popts: popts,
		meta: Meta{
			Version:         FormatVersion,
			ID:              NewID(created),
			Tenant:          tenant,
			Level:           opts.Level,
			CreatedUnixNano: created.UnixNano(),
		},
		rgTarget: int64(opts.RowGroupSpans),
		stats:    newStatsCollector(expectedTraces),
		b:        rowBuilder{ded: dedicatedKeys{extra: opts.DedicatedAttributes}},
		rows:     make([]spanRow, 0, writeChunk),
	}
	if w.rgTarget == 0 {
		w.rgTarget = DefaultRowGroupSpans
	}
	w.dir = BlockDir(tenant, w.meta.ID)
	return w, nil
}

// CompareSpans orders spans as blocks store them: by trace ID, then start
// time, then span ID.
func CompareSpans(a, b *model.Span) int {
	if c := bytes.Compare(a.TraceID[:], b.TraceID[:]); c != 0 {
		return c
	}
	if c := cmp.Compare(a.StartTimeUnixNano, b.StartTimeUnixNano); c != 0 {
		return c
	}
	return bytes.Compare(a.SpanID[:], b.SpanID[:])
}

// Add appends spans, which must be in block order (see CompareSpans) and
// not before the spans added earlier; a call that violates the order is
// rejected without effect. The Writer keeps references to the spans'
// attributes, events, links, resources and scopes until Close, so the
// caller must not modify those; the slice spans itself may be reused.
// After any other error the block is removed and the Writer is done.
func (w *Writer) Add(spans []model.Span) error {
	if err := w.usable(); err != nil {
		return err
	}
	for i := range spans {
		prev := &w.last
		if i > 0 {
			prev = &spans[i-1]
		} else if w.row == 0 {
			continue
		}
		if CompareSpans(prev, &spans[i]) > 0 {
			return fmt.Errorf("write block: span %s/%s added out of order", spans[i].TraceID, spans[i].SpanID)
		}
	}
	for i := range spans {
		if err := w.put(&spans[i]); err != nil {
			return err
		}
	}
	return nil
}

// usable returns the error of a Writer that can take no more spans.
func (w *Writer) usable() error {
	if w.err != nil {
		return w.err
	}
	if w.done {
		return errors.New("write block: writer closed")
	}
	return nil
}

// put adds one span that follows the previous one in block order; a
// failure removes the block.
func (w *Writer) put(s *model.Span) error {
	if err := w.add(s); err != nil {
		return w.fail(fmt.Errorf("write block data: %w", err))
	}
	return nil
}

func (w *Writer) add(s *model.Span) error {
	if w.row == 0 {
		w.upload = startUpload(w.ctx, w.bkt, w.dir+DataFile)
		w.pw = parquet.NewGenericWriter[spanRow](w.upload, w.popts...)
		w.stats.startRowGroup()
	} else if w.row-w.rgStart >= w.rgTarget && s.TraceID != w.last.TraceID {
		// The row group has its target size and a trace ends here.
		if err := w.endRowGroup(); err != nil {
			return err
		}
		w.stats.startRowGroup()
	}
	w.rows = w.rows[:len(w.rows)+1]
	r := &w.rows[len(w.rows)-1]
	w.b.build(r, s)
	w.stats.add(w.row, s, r)
	w.row++
	w.last.TraceID, w.last.StartTimeUnixNano, w.last.SpanID = s.TraceID, s.StartTimeUnixNano, s.SpanID
	if len(w.rows) == writeChunk {
		return w.flushRows()
	}
	return nil
}

// flushRows hands the built rows to Parquet.
func (w *Writer) flushRows() error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	if _, err := w.pw.Write(w.rows); err != nil {
		return fmt.Errorf("write rows: %w", err)
	}
	w.b.reset()
	clear(w.rows)
	w.rows = w.rows[:0]
	return nil
}

// endRowGroup writes the current row group and records it in the index.
func (w *Writer) endRowGroup() error {
	if len(w.rows) > 0 {
		if err := w.flushRows(); err != nil {
			return err
		}
	}
	if err := w.pw.Flush(); err != nil {
		return fmt.Errorf("flush row group: %w", err)
	}
	w.index.RowGroups = append(w.index.RowGroups, w.stats.rowGroup(w.rgStart, w.row-w.rgStart))
	w.rgStart = w.row
	return nil
}

// Close completes the block, storing the rest of its data, the index and
// meta.json, and returns its meta. A block needs at least one span. On
// error the block is removed.
func (w *Writer) Close() (Meta, error) {
	if err := w.usable(); err != nil {
		return Meta{}, err
	}
	if w.row == 0 {
		w.done = true
		return Meta{}, errors.New("write block: no spans")
	}
	if err := w.finishData(); err != nil {
		return Meta{}, w.fail(fmt.Errorf("write block data: %w", err))
	}
	w.stats.finish(&w.meta, &w.index)
	idx := w.index.encode()
	w.meta.IndexSize = int64(len(idx))
	if err := w.bkt.Upload(w.ctx, w.dir+IndexFile, bytes.NewReader(idx)); err != nil {
		return Meta{}, w.fail(fmt.Errorf("write block index: %w", err))
	}
	mb, err := encodeMeta(w.meta)
	if err != nil {
		return Meta{}, w.fail(err)
	}
	if err := w.bkt.Upload(w.ctx, w.dir+MetaFile, bytes.NewReader(mb)); err != nil {
		return Meta{}, w.fail(fmt.Errorf("write block meta: %w", err))
	}
	w.done = true
	return w.meta, nil
}

// finishData ends the last row group and the Parquet file.
func (w *Writer) finishData() error {
	if err := w.endRowGroup(); err != nil {
		return err
	}
	if err := w.pw.Close(); err != nil {
		return fmt.Errorf("close parquet: %w", err)
	}
	size, err := w.upload.finish(nil)
	if err != nil {
		return err
	}
	w.meta.DataSize = size
	return nil
}

// Abort removes what the Writer stored. It does nothing once the block is
// complete or already removed, so it may be deferred.
func (w *Writer) Abort() {
	if !w.done {
		w.abort(errors.New("block aborted"))
	}
}

// fail ends the Writer with err, removing the block, and returns err.
func (w *Writer) fail(err error) error {
	w.err = err
	w.abort(err)
	return err
}

// abort stops the data upload with cause and removes the block.
func (w *Writer) abort(cause error) {
	w.done = true
	if w.upload == nil {
		return // nothing stored yet
	}
	_, _ = w.upload.finish(cause)
	_ = cleanup(w.ctx, w.bkt, w.dir, nil)
}

// statsCollector gathers meta statistics and index data while rows are built.
type statsCollector struct {
	entries   []indexEntry
	bloom     bloom
	traces    int64
	spans     int64
	minStart  uint64
	maxEnd    uint64
	lastRow   int64
	lastTrace model.TraceID
	lastRes   *model.Resource
	lastAttrs []attrRow
	services  map[string]struct{}
	spanKeys  map[string]struct{}
	resKeys   map[string]struct{}
	values    valueCollector
}

// newStatsCollector sizes the bloom filter for the given number of traces.
func newStatsCollector(traces int) *statsCollector {
	return &statsCollector{
		bloom:    newBloom(traces),
		minStart: ^uint64(0),
		lastRow:  -indexInterval,
		services: map[string]struct{}{},
		spanKeys: map[string]struct{}{},
		resKeys:  map[string]struct{}{},
	}
}

func (c *statsCollector) add(row int64, s *model.Span, r *spanRow) {
	c.spans++
	if row == 0 || s.TraceID != c.lastTrace {
		c.traces++
		c.lastTrace = s.TraceID
		c.bloom.add(s.TraceID)
		if row-c.lastRow >= indexInterval || c.lastRow < 0 {
			c.entries = append(c.entries, indexEntry{TraceID: s.TraceID, Row: row})
			c.lastRow = row
		}
	}
	c.values.add(s)
	c.minStart = min(c.minStart, s.StartTimeUnixNano)
	c.maxEnd = max(c.maxEnd, s.EndTimeUnixNano, s.StartTimeUnixNano)
	if !sameKeys(c.lastAttrs, r.Attributes) {
		for i := range r.Attributes {
			if r.Attributes[i].Type != valueDedicated {
				c.spanKeys[r.Attributes[i].Key] = struct{}{}
			}
		}
		c.lastAttrs = append(c.lastAttrs[:0], r.Attributes...)
	}
	if s.Resource != c.lastRes {
		c.lastRes = s.Resource
		if s.Resource != nil {
			c.services[s.Resource.ServiceName] = struct{}{}
			for i := range r.ResourceAttributes {
				if r.ResourceAttributes[i].Type != valueDedicated {
					c.resKeys[r.ResourceAttributes[i].Key] = struct{}{}
				}
			}
		}
	}
}

// startRowGroup makes the next trace start an index entry, so that index
// ranges never cross row groups.
func (c *statsCollector) startRowGroup() { c.lastRow = -indexInterval }

// rowGroup ends a row group and returns its index description.
func (c *statsCollector) rowGroup(first, n int64) rowGroupInfo {
	rg := rowGroupInfo{FirstRow: first, NumRows: n, SpanKeys: sortedKeys(c.spanKeys), ResourceKeys: sortedKeys(c.resKeys)}
	clear(c.spanKeys)
	clear(c.resKeys)
	c.lastAttrs = c.lastAttrs[:0]
	c.lastRes = nil // a new row group lists its resource keys afresh
	return rg
}

// sameKeys reports whether a and b list the same keys with the same
// dedicated markers, so that b adds no key a did not.
func sameKeys(a, b []attrRow) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].Key || (a[i].Type == valueDedicated) != (b[i].Type == valueDedicated) {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]struct{}) []string {
	if len(m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// finish fills meta and index from the collected statistics.
func (c *statsCollector) finish(m *Meta, x *traceIndex) {
	m.SpanCount = c.spans
	m.TraceCount = c.traces
	m.MinTimeUnixNano = c.minStart
	m.MaxTimeUnixNano = c.maxEnd
	m.Services = sortedKeys(c.services)
	if m.Services == nil {
		m.Services = []string{}
	}
	x.Entries = c.entries
	x.Bloom = c.bloom
	x.Values = c.values.finish()
}
