// Package traceql is Waymark's TraceQL language: a lexer, a recursive-descent
// parser that reports errors with exact byte offsets and line:column
// positions, an AST that prints back to a canonical query, and an evaluator
// that runs a query over the spans of one trace.
//
// Parse accepts spanset filters over intrinsics and scoped attributes,
// spanset && and ||, the structural operators (>, >>, <, <<, ~, their !
// negations and & unions), pipelines with count/avg/min/max/sum filters,
// by(), select() and coalesce(), the metrics functions (rate,
// count_over_time, *_over_time, quantile_over_time, histogram_over_time,
// compare) with by(), topk/bottomk and a comparison filter, and with(...)
// hints. Query.Eval is the source of truth for what a search matches;
// Query.Observe walks the same matched spans for metrics without building
// Eval's result; Query.Conditions extracts a conservative filter.Request
// that storage may use to skip data, which never rejects a span that Eval
// could match. A parsed Query is immutable and safe for concurrent use.
// The package does no I/O and imports only model and filter.
package traceql
