package traceql

import (
	"regexp"

	"waymark/internal/model"
	"waymark/internal/store/filter"
)

// Conditions returns a search request holding conditions that every span
// q can match must satisfy, so that storage can skip blocks, row groups and
// spans that fail them. It is conservative: filter.Request.MatchSpan holds
// for every span that Eval could return (after Compile, a no-op for the
// conditions here). The evaluator stays the source of truth.
//
// Conditions come only from a query whose first stage is a single spanset
// filter, and only from its top-level && terms that the filter package
// evaluates the same way:
//   - span:name, span:statusMessage, span:status, span:kind and
//     span:duration compared with a literal (regexes are anchored);
//   - resource.service.name compared with a string;
//   - span., resource. and unscoped attributes != nil, as OpExists.
//
// Other attribute comparisons are left out because the filter package
// compares arrays and mixed types differently. The time range, duration
// bounds and limit are left zero for the caller to set.
func (q *Query) Conditions() filter.Request {
	var r filter.Request
	if q.Pipeline == nil || len(q.Pipeline.Stages) == 0 {
		return r
	}
	f, ok := q.Pipeline.Stages[0].(*SpansetFilter)
	if !ok || f.Expr == nil {
		return r
	}
	r.Conditions = appendConditions(nil, f.Expr)
	return r
}

func appendConditions(dst []filter.Condition, x Expr) []filter.Condition {
	b, ok := x.(*BinaryExpr)
	if !ok {
		return dst
	}
	if b.Op == OpAnd {
		return appendConditions(appendConditions(dst, b.LHS), b.RHS)
	}
	if !b.Op.isComparison() {
		return dst
	}
	op := b.Op
	f, fok := b.LHS.(*Field)
	s, sok := b.RHS.(*Static)
	if !fok || !sok {
		f, fok = b.RHS.(*Field)
		s, sok = b.LHS.(*Static)
		op = op.flip()
	}
	if !fok || !sok {
		return dst
	}
	if c, ok := condition(f, op, s, b.re); ok {
		dst = append(dst, c)
	}
	return dst
}

// filterOps maps comparison operators to the filter package's; a
// read-only table.
var filterOps = [...]filter.Op{
	OpEq: filter.OpEq, OpNeq: filter.OpNotEq, OpRegex: filter.OpRegex, OpNotRegex: filter.OpNotRegex,
	OpGt: filter.OpGt, OpGte: filter.OpGe, OpLt: filter.OpLt, OpLte: filter.OpLe,
}

// condition translates one field-literal comparison, if the filter
// package evaluates it as Eval does or more leniently.
func condition(f *Field, op Op, s *Static, re *regexp.Regexp) (filter.Condition, bool) {
	if s.Type == TypeNil {
		if op != OpNeq || f.Intrinsic != IntrinsicNone {
			return filter.Condition{}, false
		}
		switch f.Scope {
		case ScopeSpan:
			return filter.Condition{Scope: filter.ScopeSpan, Key: f.Name, Op: filter.OpExists}, true
		case ScopeResource:
			return filter.Condition{Scope: filter.ScopeResource, Key: f.Name, Op: filter.OpExists}, true
		case ScopeNone:
			return filter.Condition{Scope: filter.ScopeAny, Key: f.Name, Op: filter.OpExists}, true
		}
		return filter.Condition{}, false
	}
	if !op.isComparison() {
		return filter.Condition{}, false
	}
	c := filter.Condition{Scope: filter.ScopeIntrinsic, Op: filterOps[op], Value: s.modelValue(), Regexp: re}
	if re != nil {
		c.Value = model.StringValue(re.String())
	}
	switch f.Intrinsic {
	case IntrinsicName, IntrinsicStatusMessage:
		c.Key = filter.IntrinsicName
		if f.Intrinsic == IntrinsicStatusMessage {
			c.Key = filter.IntrinsicStatusMessage
		}
		return c, s.Type == TypeString
	case IntrinsicStatus:
		c.Key = filter.IntrinsicStatus
		return c, s.Type == TypeStatus
	case IntrinsicKind:
		c.Key = filter.IntrinsicKind
		return c, s.Type == TypeKind
	case IntrinsicDuration:
		c.Key = filter.IntrinsicDuration
		return c, s.Type.isNumeric() && re == nil
	case IntrinsicNone:
		if f.Scope == ScopeResource && f.Name == "service.name" && s.Type == TypeString {
			c.Scope, c.Key = filter.ScopeResource, "service.name"
			return c, true
		}
	}
	return filter.Condition{}, false
}

// prepare collects the fields reported on matched spans.
func (q *Query) prepare() {
	seen := map[string]bool{}
	add := func(f *Field) {
		name := f.String()
		if !seen[name] {
			seen[name] = true
			q.outFields = append(q.outFields, f)
			q.outNames = append(q.outNames, name)
		}
	}
	var walkExpr func(x Expr)
	walkExpr = func(x Expr) {
		switch x := x.(type) {
		case *BinaryExpr:
			walkExpr(x.LHS)
			walkExpr(x.RHS)
		case *UnaryExpr:
			walkExpr(x.Expr)
		case *Field:
			switch x.Intrinsic {
			case IntrinsicName, IntrinsicDuration, IntrinsicSpanID:
				return
			}
			if !x.Intrinsic.traceLevel() {
				add(x)
			}
		}
	}
	var walkStage func(s Stage)
	walkStage = func(s Stage) {
		switch s := s.(type) {
		case *SpansetFilter:
			if s.Expr != nil {
				walkExpr(s.Expr)
			}
		case *SpansetOperation:
			walkStage(s.LHS)
			walkStage(s.RHS)
		case *Pipeline:
			for _, st := range s.Stages {
				walkStage(st)
			}
		case *Select:
			for _, f := range s.Fields {
				add(f)
			}
		}
	}
	walkStage(q.Pipeline)
}
