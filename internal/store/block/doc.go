// Package block writes and reads Waymark's immutable on-disk blocks. A block
// is three objects under <tenant>/<id>/ in an objstore.Bucket: data.parquet, a
// standard Parquet file with one row per span sorted by trace ID then start
// time; index, a compact trace-ID index (sparse sorted row index plus a bloom
// filter) with per-row-group attribute key lists and a value filter that
// rules out absent values of high-cardinality attribute keys
// (MayContainValue); and meta.json, written
// last. A block exists only once its meta.json is a whole JSON document, so
// a crash while writing, even one that tears meta.json, leaves nothing that
// List shows (ListIncomplete finds the leftovers). Write stores a slice of
// spans; a Writer builds a block of any size from spans streamed in block
// order, holding one row group at a time. Reading builds spans
// straight from decoded column values and reconstructs every field of
// model.Span exactly. Searches push time ranges and conditions down to
// column statistics and evaluate them on the columns they name, with the
// exact meaning of filter.Request.MatchSpan; a search with a limit returns
// the block's newest matching traces, newest first, building spans only for
// them. The package imports only model and filter from Waymark.
package block
