// Package batch groups small batches of one tenant into larger ones, bounded
// by a span count and a wait time, so the durable queue and the exporter
// handle fewer, bigger items.
//
// Batching is a group commit: Consume returns only once the batch its spans
// joined has been passed on, and returns what the next stage returned, so a
// durable next stage keeps its guarantee ("nil means durable") through the
// batcher. Memory held in waiting batches is bounded; past the limit Consume
// returns *model.OverloadedError instead of growing. Nothing runs in the
// background: the first caller of each batch waits for it to fill or time
// out and then passes it on.
package batch
