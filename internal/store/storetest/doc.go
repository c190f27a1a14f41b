// Package storetest is the conformance suite of Waymark's store: Run
// checks writing, cutting, reopening, trace lookup, newest-first search,
// deduplication, retention, the disk limit, compaction, recovery from an
// interrupted compaction, and damaged blocks, against any object-store
// bucket. The filesystem backend runs it always; StartMinIO runs a real
// MinIO server so that the S3 backend runs the same suite.
package storetest
