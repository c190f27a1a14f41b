// Package store is Waymark's storage engine facade. It makes every batch
// durable in the write-ahead log before acknowledging it, keeps recent spans
// in the head where they are searchable at once, cuts the head into
// immutable Parquet blocks in an object-store bucket, and answers trace
// lookups and searches by merging head and blocks.
//
// Guarantee: Consume returns nil only after the batch's WAL record is
// fsynced; such a batch survives a crash at any point, because WAL segments
// are deleted only after every block cut from them is completely written.
package store
