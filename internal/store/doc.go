// Package store is Waymark's storage engine facade. It makes every batch
// durable in the write-ahead log before acknowledging it, keeps recent spans
// in the head where they are searchable at once, cuts the head into
// immutable Parquet blocks in an object-store bucket, and answers trace
// lookups and searches by merging head and blocks.
//
// A maintenance loop, apart from head cuts, merges small blocks (package
// compact), deletes blocks past their tenant's retention, and keeps blocks
// under the disk limit, oldest data first.
//
// Guarantee: Consume returns nil only after the batch's WAL record is
// fsynced; such a batch survives a crash at any point, because WAL segments
// are deleted only after every block cut from them is completely written,
// and a compaction's inputs only after its block is (Open settles a
// compaction a crash interrupted). Reads return each span once.
package store
