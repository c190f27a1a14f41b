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
// operations. It only proves absence: a key whose value list is incomplete
// (too many values, or values the summary does not keep) never prunes, and
// neither does a summary written before value lists were exact.
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
	var scopes []string
	switch c.Scope {
	case filter.ScopeSpan:
		scopes = []string{summary.ScopeSpan}
	case filter.ScopeResource:
		scopes = []string{summary.ScopeResource}
	case filter.ScopeAny:
		scopes = []string{summary.ScopeSpan, summary.ScopeResource}
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
	if !b.sum.ExactTags || c.Key == "service.name" {
		return false
	}
	for _, scope := range scopes {
		tv, ok := b.sum.Tags[scope][c.Key]
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
