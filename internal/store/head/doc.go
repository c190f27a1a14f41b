// Package head keeps the most recent spans of every tenant in memory,
// grouped by trace ID, so that a span is found by trace lookup and search the
// moment it is acknowledged. The store fills the head only with spans that
// are already durable in the write-ahead log, and periodically cuts it into
// an immutable block.
//
// A Head is safe for concurrent use. It imports only model and store/filter.
package head
