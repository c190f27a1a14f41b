package traceql

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// String returns the canonical form of q: intrinsics in their scoped form
// ("span:duration"), single spaces around operators, durations in one unit,
// and only the parentheses that precedence needs. Parsing it gives a query
// that prints the same.
func (q *Query) String() string {
	var b strings.Builder
	writePipeline(&b, q.Pipeline)
	if q.Metrics != nil {
		b.WriteString(" | ")
		q.Metrics.write(&b)
	}
	if len(q.Hints) > 0 {
		b.WriteString(" with (")
		for i, h := range q.Hints {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(h.Name)
			b.WriteByte('=')
			h.Value.write(&b)
		}
		b.WriteByte(')')
	}
	return b.String()
}

func writePipeline(b *strings.Builder, p *Pipeline) {
	for i, s := range p.Stages {
		if i > 0 {
			b.WriteString(" | ")
		}
		writeStage(b, s)
	}
}

func writeStage(b *strings.Builder, s Stage) {
	switch s := s.(type) {
	case SpansetExpr:
		writeSpanset(b, s)
	case *ScalarFilter:
		writeExpr(b, s.LHS)
		b.WriteString(" " + s.Op.String() + " ")
		writeExpr(b, s.RHS)
	case *GroupBy:
		b.WriteString("by(")
		writeExpr(b, s.Expr)
		b.WriteByte(')')
	case *Select:
		b.WriteString("select(")
		writeFields(b, s.Fields)
		b.WriteByte(')')
	case *Coalesce:
		b.WriteString("coalesce()")
	}
}

func writeFields(b *strings.Builder, fields []*Field) {
	for i, f := range fields {
		if i > 0 {
			b.WriteString(", ")
		}
		f.write(b)
	}
}

func writeSpanset(b *strings.Builder, e SpansetExpr) {
	switch e := e.(type) {
	case *SpansetFilter:
		if e.Expr == nil {
			b.WriteString("{}")
			return
		}
		b.WriteString("{ ")
		writeExpr(b, e.Expr)
		b.WriteString(" }")
	case *SpansetOperation:
		prec := spansetPrec(e.Op)
		writeSpansetOperand(b, e.LHS, prec, false)
		b.WriteString(" " + e.Op.String() + " ")
		writeSpansetOperand(b, e.RHS, prec, true)
	case *Pipeline:
		b.WriteByte('(')
		writePipeline(b, e)
		b.WriteByte(')')
	}
}

func writeSpansetOperand(b *strings.Builder, e SpansetExpr, parent int, right bool) {
	if op, ok := e.(*SpansetOperation); ok {
		if p := spansetPrec(op.Op); p < parent || (right && p == parent) || (parent == 1 && op.Op == SpansetAnd) {
			b.WriteByte('(')
			writeSpanset(b, e)
			b.WriteByte(')')
			return
		}
	}
	writeSpanset(b, e)
}

// String returns the canonical form of the spanset filter.
func (f *SpansetFilter) String() string { return stageString(f) }

// String returns the canonical form of the spanset operation.
func (o *SpansetOperation) String() string { return stageString(o) }

// String returns the canonical form of the pipeline, in parentheses.
func (p *Pipeline) String() string { return stageString(p) }

// String returns the canonical form of the scalar filter.
func (f *ScalarFilter) String() string { return stageString(f) }

// String returns the canonical form of the grouping.
func (g *GroupBy) String() string { return stageString(g) }

// String returns the canonical form of the selection.
func (s *Select) String() string { return stageString(s) }

// String returns "coalesce()".
func (c *Coalesce) String() string { return stageString(c) }

func stageString(s Stage) string {
	var b strings.Builder
	writeStage(&b, s)
	return b.String()
}

// String returns the canonical form of the metrics stage, without the
// leading '|'.
func (m *MetricsStage) String() string {
	var b strings.Builder
	m.write(&b)
	return b.String()
}

func (m *MetricsStage) write(b *strings.Builder) {
	b.WriteString(m.Func.String())
	b.WriteByte('(')
	switch {
	case m.Compare != nil:
		writeSpanset(b, m.Compare.Selection)
		b.WriteString(", " + strconv.Itoa(m.Compare.TopN))
		if m.Compare.StartUnixNano != 0 || m.Compare.EndUnixNano != 0 {
			b.WriteString(", " + strconv.FormatInt(m.Compare.StartUnixNano, 10))
			b.WriteString(", " + strconv.FormatInt(m.Compare.EndUnixNano, 10))
		}
	case m.Field != nil:
		m.Field.write(b)
		for _, q := range m.Quantiles {
			b.WriteString(", " + strconv.FormatFloat(q, 'g', -1, 64))
		}
	}
	b.WriteByte(')')
	if len(m.By) > 0 {
		b.WriteString(" by (")
		writeFields(b, m.By)
		b.WriteByte(')')
	}
	if m.Filter != nil {
		b.WriteString(" " + m.Filter.Op.String() + " " + strconv.FormatFloat(m.Filter.Value, 'g', -1, 64))
	}
	if m.TopK != nil {
		if m.TopK.Bottom {
			b.WriteString(" | bottomk(")
		} else {
			b.WriteString(" | topk(")
		}
		b.WriteString(strconv.Itoa(m.TopK.N) + ")")
	}
}

// exprPrec is the binding strength of an expression when printed as an
// operand: binary operators by precedence, unary ones and primaries above.
func exprPrec(e Expr) int {
	switch e := e.(type) {
	case *BinaryExpr:
		switch {
		case e.Op == OpOr:
			return 1
		case e.Op == OpAnd:
			return 2
		case e.Op.isComparison():
			return 3
		case e.Op == OpAdd || e.Op == OpSub:
			return 4
		case e.Op == OpPow:
			return 6
		}
		return 5
	case *UnaryExpr:
		return 7
	case *Static:
		if isNegative(e) {
			return 7
		}
	}
	return 8
}

func isNegative(s *Static) bool {
	switch s.Type {
	case TypeInt, TypeDuration:
		return s.Int < 0
	case TypeFloat:
		return s.Float < 0 || (s.Float == 0 && strings.HasPrefix(formatFloat(s.Float), "-"))
	}
	return false
}

func writeExpr(b *strings.Builder, e Expr) {
	switch e := e.(type) {
	case *BinaryExpr:
		prec := exprPrec(e)
		lhsParens := exprPrec(e.LHS) < prec || isOp(e.LHS, OpAnd) && e.Op == OpOr
		rhsParens := exprPrec(e.RHS) <= prec || isOp(e.RHS, OpAnd) && e.Op == OpOr
		if e.Op == OpPow {
			// The base of ^ is a primary; its exponent may be unary or ^.
			lhsParens = exprPrec(e.LHS) < 8
			rhsParens = exprPrec(e.RHS) < 6
		}
		writeOperand(b, e.LHS, lhsParens)
		b.WriteString(" " + e.Op.String() + " ")
		writeOperand(b, e.RHS, rhsParens)
	case *UnaryExpr:
		b.WriteString(e.Op.String())
		writeOperand(b, e.Expr, exprPrec(e.Expr) < 7 || (e.Op == OpNeg && exprPrec(e.Expr) == 7 && isStatic(e.Expr)))
	case *Static:
		e.write(b)
	case *Field:
		e.write(b)
	case *Aggregate:
		b.WriteString(e.Func.String())
		b.WriteByte('(')
		if e.Expr != nil {
			writeExpr(b, e.Expr)
		}
		b.WriteByte(')')
	}
}

// isOp reports whether e is a binary expression with operator op. An &&
// inside || is printed in parentheses although precedence does not need
// them, because some TraceQL dialects give && and || equal precedence.
func isOp(e Expr, op Op) bool {
	b, ok := e.(*BinaryExpr)
	return ok && b.Op == op
}

func isStatic(e Expr) bool {
	_, ok := e.(*Static)
	return ok
}

func writeOperand(b *strings.Builder, e Expr, parens bool) {
	if parens {
		b.WriteByte('(')
		writeExpr(b, e)
		b.WriteByte(')')
		return
	}
	writeExpr(b, e)
}

// String returns the canonical form of the expression.
func (e *BinaryExpr) String() string { return exprString(e) }

// String returns the canonical form of the expression.
func (e *UnaryExpr) String() string { return exprString(e) }

// String returns the canonical form of the aggregate, such as "avg(span:duration)".
func (a *Aggregate) String() string { return exprString(a) }

func exprString(e Expr) string {
	var b strings.Builder
	writeExpr(&b, e)
	return b.String()
}

// String returns the field as written in a query: "span:name",
// "resource.service.name", ".http.method" or `span."a b"`.
func (f *Field) String() string {
	var b strings.Builder
	f.write(&b)
	return b.String()
}

func (f *Field) write(b *strings.Builder) {
	if f.Intrinsic != IntrinsicNone {
		b.WriteString(f.Intrinsic.String())
		return
	}
	if f.Scope != ScopeNone {
		b.WriteString(f.Scope.String())
	}
	b.WriteByte('.')
	if plainName(f.Name, f.Scope == ScopeNone) {
		b.WriteString(f.Name)
		return
	}
	b.WriteByte('"')
	for i := 0; i < len(f.Name); i++ {
		if c := f.Name[i]; c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(f.Name[i])
	}
	b.WriteByte('"')
}

// plainName reports whether name reads back unquoted after its scope's
// dot. An unscoped name must not start with a digit, which would read as
// a number.
func plainName(name string, unscoped bool) bool {
	if name == "" || (unscoped && isDigit(name[0])) {
		return false
	}
	for i := 0; i < len(name); {
		r, w := utf8.DecodeRuneInString(name[i:])
		if !isAttributeRune(r) {
			return false
		}
		i += w
	}
	return true
}
