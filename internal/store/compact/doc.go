// Package compact merges a tenant's small blocks into larger ones. Plan
// groups blocks by the time window their newest span falls in and picks
// merges the way a leveled compactor does; Merge streams the inputs in
// trace-ID order, so spans of one trace from different blocks end up
// together, and drops repeated copies of a span (same trace ID, span ID and
// kind: the client and server halves of a Zipkin shared span both stay).
// The merged traces stream into a block.Writer, so a compaction's memory
// does not grow with the size of the blocks it merges.
//
// Guarantee: a compaction is crash-safe at every step. Before the new block
// is written, a journal object records its inputs and the creation time the
// new block will carry; the inputs are deleted only after the new block is
// complete, and the journal last. Recover, run before blocks are opened,
// finishes a journaled compaction whose new block exists (deleting inputs
// that are still there) and abandons one whose block does not, so spans are
// never lost and never counted twice. The package imports only model and
// block from Waymark.
package compact
