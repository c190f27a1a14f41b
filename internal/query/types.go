// Package query answers trace lookups, searches (by tags or TraceQL),
// TraceQL metrics, and service/operation listings for a tenant by merging
// the store's head and blocks. API front-ends call it; it never writes.
// Answers are bounded: a trace is cut to a span limit (its root spans, then
// its earliest spans) and a search stops at a per-query span budget, and
// either cut is reported in the answer, counted and logged, never silent.
package query

import (
	"errors"

	"waymark/internal/model"
)

// ErrTraceNotFound reports that no span of the requested trace is stored.
var ErrTraceNotFound = errors.New("trace not found")

// Operation is a span name as seen with one span kind in one service.
type Operation struct {
	Name string
	Kind model.SpanKind
}

// Dependency is a caller → callee edge between services, with the number of
// calls and of calls that ended in error within the queried window.
type Dependency struct {
	Parent     string
	Child      string
	CallCount  uint64
	ErrorCount uint64
}
