// Package grpcgzip is the gzip codec Waymark's gRPC clients and servers
// use: the standard gzip format, compressed at the fastest level with
// pooled writers and readers. OTLP exporters gzip every request, and gRPC's
// built-in codec at its default level costs several microseconds of CPU per
// span; this one produces the same wire format, which every gzip reader
// accepts, for a fraction of that.
//
// gRPC keeps codecs in one process-wide registry that is not safe for
// concurrent use, so Register must be called once from main, before any gRPC
// client or server exists. Without it, gRPC's own gzip codec is used and
// nothing else changes.
package grpcgzip
