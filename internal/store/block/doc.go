// Package block writes and reads Waymark's immutable on-disk blocks. A block
// is three objects under <tenant>/<id>/ in an objstore.Bucket: data.parquet, a
// standard Parquet file with one row per span sorted by trace ID then start
// time; index, a compact trace-ID index (sparse sorted row index plus a bloom
// filter) with per-row-group attribute key lists; and meta.json, written
// last. A block exists only once its meta.json exists, so a crash while
// writing leaves nothing visible. Reading reconstructs every field of
// model.Span exactly; searches push time ranges and conditions down to column
// statistics and to the columns the conditions name, and then apply
// filter.Request.MatchSpan, so results mean exactly what they mean in the
// head. The package imports only model and filter from Waymark.
package block
