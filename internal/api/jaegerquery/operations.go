package jaegerquery

import (
	"waymark/internal/model"
	"waymark/internal/query"
)

// Operation is one entry of an operation list.
type Operation struct {
	// Name is the span name.
	Name string `json:"name"`
	// SpanKind is the lower-case span kind.
	SpanKind string `json:"spanKind"`
}

// V3Operations lists a service's operations as api_v3 does: an unspecified
// span kind is reported as internal, so that a filter on internal matches
// both; with filtered, only operations of kind are kept. ops are sorted by
// name then kind, as the querier returns them, and repeats that the
// internal mapping creates are dropped.
func V3Operations(ops []query.Operation, kind model.SpanKind, filtered bool) []Operation {
	if kind == model.KindUnspecified {
		kind = model.KindInternal
	}
	out := make([]Operation, 0, len(ops))
	for _, op := range ops {
		k := op.Kind
		if k == model.KindUnspecified {
			k = model.KindInternal
		}
		if filtered && k != kind {
			continue
		}
		o := Operation{Name: op.Name, SpanKind: k.String()}
		if n := len(out); n > 0 && out[n-1] == o {
			continue
		}
		out = append(out, o)
	}
	return out
}
