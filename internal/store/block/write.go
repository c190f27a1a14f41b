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
// lookup decompresses little, large enough to compress well.
const pageBufferSize = 64 << 10

// dictionaryMaxBytes bounds a column chunk's dictionary; a column with more
// distinct data falls back to plain encoding, so that reading one page never
// means decoding a huge dictionary.
const dictionaryMaxBytes = 64 << 10

// WriteOptions tune Write.
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
// Write stores data.parquet and the index, and meta.json last: the block becomes visible only when Write
// succeeds. On error it removes what it wrote.
func Write(ctx context.Context, bkt objstore.Bucket, tenant string, spans []model.Span, opts WriteOptions) (Meta, error) {
	if err := model.ValidateTenant(tenant); err != nil {
		return Meta{}, fmt.Errorf("write block: %w", err)
	}
	if err := opts.validate(); err != nil {
		return Meta{}, fmt.Errorf("write block: %w", err)
	}
	if len(spans) == 0 {
		return Meta{}, errors.New("write block: no spans")
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	created := now()
	meta := Meta{
		Version:         FormatVersion,
		ID:              NewID(created),
		Tenant:          tenant,
		Level:           opts.Level,
		CreatedUnixNano: created.UnixNano(),
	}
	dir := BlockDir(tenant, meta.ID)

	w := &blockWriter{opts: opts, meta: &meta}
	size, err := uploadStream(ctx, bkt, dir+DataFile, func(out io.Writer) error { return w.writeData(ctx, out, spans) })
	if err != nil {
		return Meta{}, cleanup(ctx, bkt, dir, fmt.Errorf("write block data: %w", err))
	}
	meta.DataSize = size
	idx := w.index.encode()
	meta.IndexSize = int64(len(idx))
	if err := bkt.Upload(ctx, dir+IndexFile, bytes.NewReader(idx)); err != nil {
		return Meta{}, cleanup(ctx, bkt, dir, fmt.Errorf("write block index: %w", err))
	}
	mb, err := encodeMeta(meta)
	if err != nil {
		return Meta{}, cleanup(ctx, bkt, dir, err)
	}
	if err := bkt.Upload(ctx, dir+MetaFile, bytes.NewReader(mb)); err != nil {
		return Meta{}, cleanup(ctx, bkt, dir, fmt.Errorf("write block meta: %w", err))
	}
	return meta, nil
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

// uploadStream uploads what produce writes to name without buffering the
// whole object, and returns its size.
func uploadStream(ctx context.Context, bkt objstore.Bucket, name string, produce func(io.Writer) error) (int64, error) {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := bkt.Upload(ctx, name, pr)
		_ = pr.CloseWithError(err) // unblock the producer if the upload stopped early
		done <- err
	}()
	cw := &countingWriter{w: pw}
	perr := produce(cw)
	_ = pw.CloseWithError(perr) // nil error closes normally
	uerr := <-done
	if perr != nil {
		return 0, perr
	}
	if uerr != nil {
		return 0, uerr
	}
	return cw.n, nil
}

// blockWriter carries the state of one Write.
type blockWriter struct {
	opts  WriteOptions
	meta  *Meta
	index traceIndex
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

// writeData writes spans (sorted) as Parquet to out and fills the index and
// the meta's statistics.
func (w *blockWriter) writeData(ctx context.Context, out io.Writer, spans []model.Span) error {
	order := sortOrder(spans)
	popts, err := writerOptions(w.opts.DedicatedAttributes)
	if err != nil {
		return err
	}
	pw := parquet.NewGenericWriter[spanRow](out, popts...)
	rgTarget := w.opts.RowGroupSpans
	if rgTarget == 0 {
		rgTarget = DefaultRowGroupSpans
	}
	b := &rowBuilder{ded: dedicatedKeys{extra: w.opts.DedicatedAttributes}}
	rows := make([]spanRow, 0, writeChunk)
	stats := newStatsCollector(spans, order)
	rgStart := 0
	for i := 0; i < len(spans); {
		if err := ctx.Err(); err != nil {
			return err
		}
		// Find the end of this row group: at least rgTarget spans, ending
		// with a trace.
		stats.startRowGroup()
		end := min(rgStart+rgTarget, len(spans))
		for end < len(spans) && spans[order[end]].TraceID == spans[order[end-1]].TraceID {
			end++
		}
		for i < end {
			n := min(writeChunk, end-i)
			rows = rows[:n]
			for j := range rows {
				s := &spans[order[i+j]]
				b.build(&rows[j], s)
				stats.add(int64(i+j), s, &rows[j])
			}
			if _, err := pw.Write(rows); err != nil {
				return fmt.Errorf("write rows: %w", err)
			}
			b.reset()
			clear(rows)
			i += n
		}
		if err := pw.Flush(); err != nil {
			return fmt.Errorf("flush row group: %w", err)
		}
		w.index.RowGroups = append(w.index.RowGroups, stats.rowGroup(int64(rgStart), int64(end-rgStart)))
		rgStart = end
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("close parquet: %w", err)
	}
	stats.finish(w.meta, &w.index)
	return nil
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

// newStatsCollector prepares for spans (sorted) and sizes the bloom filter
// for their number of traces.
func newStatsCollector(spans []model.Span, order []int) *statsCollector {
	traces := 0
	for i := range order {
		if i == 0 || spans[order[i]].TraceID != spans[order[i-1]].TraceID {
			traces++
		}
	}
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
