package traceql

import (
	"slices"

	"waymark/internal/store/filter"
)

// Projection returns the span fields that evaluating q reads: those its
// spanset filters, pipeline stages and select() name, and the by() fields
// and argument of its metrics function. Evaluating q on spans holding only
// these fields (as filter.Projection describes them) gives the same result
// as on whole spans. It reports false when q needs whole spans or whole
// traces: spanset operators (structural ones read span and parent IDs of
// other spans), trace-level intrinsics, span:childCount, event, link and
// instrumentation fields, and compare().
//
// An unscoped attribute ".x" needs x in both the span and the resource
// attributes; resource.service.name (or ".service.name") needs the service
// name and the resource's service.name key, which an empty service name
// is told apart by.
func (q *Query) Projection() (filter.Projection, bool) {
	var pc projCollector
	if q.Pipeline != nil {
		pc.pipeline(q.Pipeline)
	}
	if m := q.Metrics; m != nil {
		if m.Func == MetricsCompare {
			pc.whole = true
		}
		for _, f := range m.By {
			pc.field(f)
		}
		if m.Field != nil {
			pc.field(m.Field)
		}
	}
	if pc.whole {
		return filter.Projection{}, false
	}
	return pc.p, true
}

// projCollector gathers the fields a query reads.
type projCollector struct {
	p     filter.Projection
	whole bool
}

func (pc *projCollector) pipeline(p *Pipeline) {
	for _, st := range p.Stages {
		switch st := st.(type) {
		case *SpansetFilter:
			pc.expr(st.Expr)
		case *ScalarFilter:
			pc.expr(st.LHS)
			pc.expr(st.RHS)
		case *GroupBy:
			pc.expr(st.Expr)
		case *Select:
			for _, f := range st.Fields {
				pc.field(f)
			}
		case *Pipeline:
			pc.pipeline(st)
		case *Coalesce:
		default:
			// Spanset operators relate spans to each other.
			pc.whole = true
		}
	}
}

func (pc *projCollector) expr(x Expr) {
	switch x := x.(type) {
	case nil, *Static:
	case *Field:
		pc.field(x)
	case *UnaryExpr:
		pc.expr(x.Expr)
	case *BinaryExpr:
		pc.expr(x.LHS)
		pc.expr(x.RHS)
	case *Aggregate:
		pc.expr(x.Expr)
	default:
		pc.whole = true
	}
}

// intrinsicField returns the projected field an intrinsic reads, or false
// when a projection cannot serve it. The trace ID needs no field: every
// projected span has it.
func intrinsicField(i Intrinsic) (filter.ProjectedField, bool) {
	switch i {
	case IntrinsicName:
		return filter.FieldName, true
	case IntrinsicStatus, IntrinsicStatusMessage:
		return filter.FieldStatus, true
	case IntrinsicKind:
		return filter.FieldKind, true
	case IntrinsicDuration:
		return filter.FieldDuration, true
	case IntrinsicSpanID:
		return filter.FieldSpanID, true
	case IntrinsicParentID:
		return filter.FieldParentSpanID, true
	case IntrinsicTraceID:
		return 0, true
	}
	return 0, false
}

func (pc *projCollector) field(f *Field) {
	if f.Intrinsic != IntrinsicNone {
		pf, ok := intrinsicField(f.Intrinsic)
		if !ok {
			pc.whole = true
		}
		pc.p.Fields |= pf
		return
	}
	switch f.Scope {
	case ScopeSpan:
		pc.p.SpanAttributes = addKey(pc.p.SpanAttributes, f.Name)
	case ScopeResource:
		pc.resource(f.Name)
	case ScopeNone:
		pc.p.SpanAttributes = addKey(pc.p.SpanAttributes, f.Name)
		pc.resource(f.Name)
	default:
		pc.whole = true
	}
}

func (pc *projCollector) resource(key string) {
	pc.p.ResourceAttributes = addKey(pc.p.ResourceAttributes, key)
	if key == "service.name" {
		pc.p.Fields |= filter.FieldServiceName
	}
}

func addKey(keys []string, k string) []string {
	if slices.Contains(keys, k) {
		return keys
	}
	return append(keys, k)
}
