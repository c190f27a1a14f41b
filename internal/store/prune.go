package store

import (
	"waymark/internal/model"
	"waymark/internal/store/filter"
	"waymark/internal/store/summary"
)

// cannotMatch reports whether the block's summary proves that no span of
// the block satisfies req, so a search can skip the block without reading
// it. It judges equality, regular-expression and existence conditions on
// attributes from the summary's tag values, and span-name equality from its
// operations, and equality conditions on keys with too many values for the
// summary (request IDs) from the block's value filter. It only proves
// absence: a key whose value list is incomplete (too many values, or values
// the summary does not keep) prunes only through the value filter, and a
// summary written before value lists were exact never prunes.
func (b *storedBlock) cannotMatch(req *filter.Request) bool {
	for i := range req.Conditions {
		if b.conditionCannotMatch(&req.Conditions[i]) {
			return true
		}
	}
	return false
}

func (b *storedBlock) conditionCannotMatch(c *filter.Condition) bool {
	switch c.Op {
	case filter.OpEq, filter.OpRegex, filter.OpExists:
	default:
		return false // a missing key satisfies != and !~
	}
	var scopes []filter.Scope
	switch c.Scope {
	case filter.ScopeSpan, filter.ScopeResource:
		scopes = []filter.Scope{c.Scope}
	case filter.ScopeAny:
		scopes = []filter.Scope{filter.ScopeSpan, filter.ScopeResource}
	case filter.ScopeIntrinsic:
		if c.Key != filter.IntrinsicName || c.Op != filter.OpEq || len(b.sum.Operations) == 0 {
			return false
		}
		for _, op := range b.sum.Operations {
			if c.MatchValue(model.StringValue(op.Name)) {
				return false
			}
		}
		return true
	default:
		return false
	}
	// service.name is also the resource's own field (Lookup falls back to
	// it), and blocks are already chosen by their services.
	if c.Key == "service.name" {
		return false
	}
	for _, scope := range scopes {
		// The value filter covers the keys with too many values for the
		// summary to list, and does not depend on the summary.
		if c.Op == filter.OpEq && !b.MayContainValue(scope, c.Key, c.Value) {
			continue
		}
		if !b.sum.ExactTags {
			return false
		}
		tv, ok := b.sum.Tags[summaryScope(scope)][c.Key]
		if !ok {
			continue
		}
		if tv.Truncated || c.Op == filter.OpExists {
			return false
		}
		for _, v := range tv.Values {
			if c.MatchValue(v) {
				return false
			}
		}
	}
	return true
}

// summaryScope returns the summary's name of an attribute scope.
func summaryScope(s filter.Scope) string {
	if s == filter.ScopeResource {
		return summary.ScopeResource
	}
	return summary.ScopeSpan
}
