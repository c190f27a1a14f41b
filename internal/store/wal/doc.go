// Package wal is the server's write-ahead log: every record Append accepts
// is written and fdatasynced to a segment file before Append returns, and
// Replay returns every intact record after a crash, even after kill -9 or a
// torn write. One writer goroutine gives all the records queued during the
// previous commit one fdatasync (group commit), so durability does not cost
// throughput.
//
// The log is a directory of segment files named by a zero-padded 8-digit
// index (00000000, 00000001, ...) plus a LOCK file. Open always starts a new
// segment, so a torn tail can only be at the end of an older segment, where
// Replay truncates it. A segment is a sequence of 32 KiB pages (the last one
// may be short). Each record is stored as one or more fragments, and a
// fragment never crosses a page boundary:
//
//	type     1 byte   1 full record, 2 first, 3 middle, 4 last fragment
//	length   2 bytes  payload length, big-endian
//	crc      4 bytes  CRC32C (Castagnoli) of type, length and payload, big-endian
//	payload  length bytes
//
// When 7 bytes or fewer remain in a page, they are zero padding; a type of
// zero also means the rest of the page is zero padding. A record never
// spans segments: one that does not fit in the rest of a segment starts the
// next, and one larger than the segment size gets a segment of its own.
// Records are at most MaxRecordSize bytes. Because fragments are page
// aligned, a reader that meets a bad checksum, length or type skips to the
// next page and resumes at the next record start, so damage costs only the
// records it touches. The package depends on no other Waymark package.
package wal
