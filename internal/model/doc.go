// Package model is Waymark's shared vocabulary: trace and span IDs, the flat
// span representation every stage passes along, tenants, and the Consumer
// interface that links pipeline stages.
//
// Receivers decode their wire format into []Span; processors, the queue, the
// store and the query engines all speak Span. The package does no I/O and
// imports no other Waymark package.
package model
