package traceql

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"waymark/internal/model"
)

// maxDepth bounds the nesting of parentheses, braces and unary operators.
const maxDepth = 256

// ParseError is a syntax or type error in a query, with its position.
type ParseError struct {
	// Pos is the byte offset of the offending token in the query.
	Pos int
	// Line and Column are 1-based; Column counts characters, not bytes.
	Line   int
	Column int
	// Msg is the whole message, position included, fit to show under a
	// search box: "unexpected '}' at 1:17, expected a value".
	Msg string
}

// Error returns Msg.
func (e *ParseError) Error() string { return e.Msg }

// bailout carries a *ParseError up the parser's call stack to Parse.
type bailout struct{ err *ParseError }

// Parse parses a TraceQL query. Every error it returns is a *ParseError.
func Parse(q string) (query *Query, err error) {
	p := &parser{src: q, lex: lexer{src: q}}
	defer func() {
		if r := recover(); r != nil {
			b, ok := r.(bailout)
			if !ok {
				panic(r)
			}
			query, err = nil, b.err
		}
	}()
	query = p.parseQuery()
	query.prepare()
	return query, nil
}

// parser is a recursive-descent parser over a lazily lexed token stream.
type parser struct {
	src   string
	lex   lexer
	ahead []token
	depth int
}

func (p *parser) peek(k int) token {
	for len(p.ahead) <= k {
		p.ahead = append(p.ahead, p.lex.next())
	}
	return p.ahead[k]
}

func (p *parser) next() token {
	t := p.peek(0)
	n := copy(p.ahead, p.ahead[1:])
	p.ahead = p.ahead[:n]
	return t
}

// fail stops parsing with an error at byte offset pos.
func (p *parser) fail(pos int, what, hint string) {
	line, col := position(p.src, pos)
	msg := fmt.Sprintf("%s at %d:%d", what, line, col)
	if hint != "" {
		msg += ", " + hint
	}
	panic(bailout{&ParseError{Pos: pos, Line: line, Column: col, Msg: msg}})
}

// unexpected fails on token t, saying what was expected instead.
func (p *parser) unexpected(t token, expected string) {
	if t.kind == tokError {
		p.fail(t.pos, t.text, t.str)
	}
	hint := ""
	if expected != "" {
		hint = "expected " + expected
	}
	p.fail(t.pos, "unexpected "+describe(t), hint)
}

func (p *parser) expect(kind tokenKind, expected string) token {
	t := p.next()
	if t.kind != kind {
		p.unexpected(t, expected)
	}
	return t
}

// expectClose consumes the token that closes open, or fails naming both.
func (p *parser) expectClose(kind tokenKind, open token, expected string) {
	t := p.peek(0)
	if t.kind == kind {
		p.next()
		return
	}
	if t.kind == tokEOF {
		line, col := position(p.src, open.pos)
		expected = fmt.Sprintf("%s to close '%s' at %d:%d", expected, open.text, line, col)
	}
	p.unexpected(t, expected)
}

func (p *parser) enter(t token) {
	p.depth++
	if p.depth > maxDepth {
		p.fail(t.pos, fmt.Sprintf("query nests deeper than %d levels", maxDepth), "")
	}
}

func (p *parser) leave() { p.depth-- }

// position converts a byte offset to a 1-based line and character column.
func position(src string, pos int) (line, col int) {
	if pos > len(src) {
		pos = len(src)
	}
	before := src[:pos]
	line = 1 + strings.Count(before, "\n")
	if i := strings.LastIndexByte(before, '\n'); i >= 0 {
		before = before[i+1:]
	}
	return line, 1 + utf8.RuneCountInString(before)
}

// describe names a token for an error message.
func describe(t token) string {
	switch t.kind {
	case tokEOF:
		return "end of query"
	case tokString:
		s := t.text
		if utf8.RuneCountInString(s) > 24 {
			s = string([]rune(s)[:20]) + "…"
		}
		return "string " + s
	case tokInt, tokFloat:
		return "number " + t.text
	case tokDuration:
		return "duration " + t.text
	}
	return quoteTok(t.text)
}

func (p *parser) parseQuery() *Query {
	q := &Query{}
	q.Pipeline, q.Metrics = p.parsePipeline(true)
	if t := p.peek(0); t.kind == tokIdent && t.text == "with" {
		q.Hints = p.parseHints()
	}
	if t := p.peek(0); t.kind != tokEOF {
		switch {
		case len(q.Hints) > 0:
			p.unexpected(t, "the end of the query; with(...) comes last")
		case t.kind == tokLBrace:
			p.unexpected(t, "'|' or the end of the query; join spanset filters with an operator such as && or >")
		case q.Metrics != nil:
			p.unexpected(t, "the end of the query; only by(), a comparison, topk() or bottomk() may follow a metrics function")
		default:
			p.unexpected(t, "'|' or the end of the query")
		}
	}
	return q
}

// parsePipeline parses stages separated by '|'. At the top level a metrics
// function may end the pipeline.
func (p *parser) parsePipeline(top bool) (*Pipeline, *MetricsStage) {
	pl := &Pipeline{Stages: []Stage{p.parseStage()}}
	for p.peek(0).kind == tokPipe {
		p.next()
		if t := p.peek(0); t.kind == tokIdent {
			if _, ok := metricsByName(t.text); ok {
				if !top {
					p.fail(t.pos, t.text+"() is only allowed at the end of the whole query", "not inside parentheses")
				}
				return pl, p.parseMetrics()
			}
			if t.text == "topk" || t.text == "bottomk" {
				p.fail(t.pos, t.text+"() must follow a metrics function", "as in { } | rate() by (resource.service.name) | "+t.text+"(5)")
			}
		}
		pl.Stages = append(pl.Stages, p.parseStage())
	}
	return pl, nil
}

func (p *parser) parseStage() Stage {
	t := p.peek(0)
	switch t.kind {
	case tokLBrace:
		return p.parseSpansetExpr(1)
	case tokLParen:
		k := 0
		for p.peek(k).kind == tokLParen {
			k++
		}
		if p.peek(k).kind == tokLBrace {
			return p.parseSpansetExpr(1)
		}
		return p.parseScalarFilter()
	case tokInt, tokFloat, tokDuration, tokSub:
		return p.parseScalarFilter()
	case tokIdent:
		switch t.text {
		case "by":
			return p.parseGroupBy()
		case "select":
			return p.parseSelect()
		case "coalesce":
			p.next()
			p.expect(tokLParen, "'('")
			p.expect(tokRParen, "')'; coalesce() takes no arguments")
			return &Coalesce{}
		case "count", "avg", "min", "max", "sum":
			return p.parseScalarFilter()
		}
		if _, ok := metricsByName(t.text); ok {
			p.fail(t.pos, t.text+"() must follow a spanset filter", "as in { } | "+t.text+"()")
		}
	}
	p.unexpected(t, "a spanset filter such as { resource.service.name = \"api\" }")
	return nil
}

// spansetOpOf maps a token between spanset expressions to its operator and
// precedence: || binds loosest, then &&, then the structural operators.
func spansetOpOf(k tokenKind) (SpansetOp, int, bool) {
	switch k {
	case tokOr:
		return SpansetOr, 1, true
	case tokAnd:
		return SpansetAnd, 2, true
	case tokGt:
		return SpansetChild, 3, true
	case tokLt:
		return SpansetParent, 3, true
	case tokDesc:
		return SpansetDescendant, 3, true
	case tokAnce:
		return SpansetAncestor, 3, true
	case tokTilde:
		return SpansetSibling, 3, true
	case tokNotChild:
		return SpansetNotChild, 3, true
	case tokNotParent:
		return SpansetNotParent, 3, true
	case tokNotDesc:
		return SpansetNotDescendant, 3, true
	case tokNotAnce:
		return SpansetNotAncestor, 3, true
	case tokNre:
		return SpansetNotSibling, 3, true
	case tokUnionChild:
		return SpansetUnionChild, 3, true
	case tokUnionParent:
		return SpansetUnionParent, 3, true
	case tokUnionDesc:
		return SpansetUnionDescendant, 3, true
	case tokUnionAnce:
		return SpansetUnionAncestor, 3, true
	case tokUnionSibling:
		return SpansetUnionSibling, 3, true
	}
	return 0, 0, false
}

func spansetPrec(op SpansetOp) int {
	switch op {
	case SpansetOr:
		return 1
	case SpansetAnd:
		return 2
	}
	return 3
}

// parseSpansetExpr parses spanset operators by precedence climbing; all
// are left-associative.
func (p *parser) parseSpansetExpr(minPrec int) SpansetExpr {
	lhs := p.parseSpansetAtom()
	for {
		op, prec, ok := spansetOpOf(p.peek(0).kind)
		if !ok || prec < minPrec {
			return lhs
		}
		p.next()
		rhs := p.parseSpansetExpr(prec + 1)
		lhs = &SpansetOperation{Op: op, LHS: lhs, RHS: rhs}
	}
}

func (p *parser) parseSpansetAtom() SpansetExpr {
	t := p.peek(0)
	switch t.kind {
	case tokLBrace:
		return p.parseSpansetFilter()
	case tokLParen:
		p.next()
		p.enter(t)
		pl, _ := p.parsePipeline(false)
		p.expectClose(tokRParen, t, "')'")
		p.leave()
		if len(pl.Stages) == 1 {
			if se, ok := pl.Stages[0].(SpansetExpr); ok {
				return se
			}
		}
		return pl
	}
	p.unexpected(t, "'{' or '('")
	return nil
}

func (p *parser) parseSpansetFilter() *SpansetFilter {
	open := p.next()
	switch p.peek(0).kind {
	case tokRBrace:
		p.next()
		return &SpansetFilter{}
	case tokEOF:
		p.expectClose(tokRBrace, open, "a condition or '}'")
	}
	p.enter(open)
	start := p.peek(0)
	e, typ := p.parseExpr(ctxField)
	if !isBoolish(typ) {
		p.fail(start.pos, "a spanset filter needs a condition, found "+article(typ)+" value", "as in { span.http.status_code >= 500 }")
	}
	p.expectClose(tokRBrace, open, "an operator or '}'")
	p.leave()
	return &SpansetFilter{Expr: e}
}

// exprCtx says where an expression stands: inside a spanset filter, or in
// a scalar filter after '|' (aggregates and numbers only).
type exprCtx uint8

const (
	ctxField exprCtx = iota
	ctxScalar
)

// binaryOpOf maps a token to a binary field operator and its precedence.
// ^ is parsed with the unary operators and is not listed.
func binaryOpOf(k tokenKind) (Op, int, bool) {
	switch k {
	case tokOr:
		return OpOr, 1, true
	case tokAnd:
		return OpAnd, 2, true
	case tokEq:
		return OpEq, 3, true
	case tokNeq:
		return OpNeq, 3, true
	case tokGt:
		return OpGt, 3, true
	case tokGte:
		return OpGte, 3, true
	case tokLt:
		return OpLt, 3, true
	case tokLte:
		return OpLte, 3, true
	case tokRe:
		return OpRegex, 3, true
	case tokNre:
		return OpNotRegex, 3, true
	case tokAdd:
		return OpAdd, 4, true
	case tokSub:
		return OpSub, 4, true
	case tokMul:
		return OpMul, 5, true
	case tokDiv:
		return OpDiv, 5, true
	case tokMod:
		return OpMod, 5, true
	}
	return OpNone, 0, false
}

func (p *parser) parseExpr(ctx exprCtx) (Expr, Type) { return p.parseBinaryExpr(ctx, 1) }

// parseBinaryExpr parses left-associative binary operators by precedence
// climbing: || < && < comparisons < + - < * / %.
func (p *parser) parseBinaryExpr(ctx exprCtx, minPrec int) (Expr, Type) {
	lhs, lt := p.parseUnaryExpr(ctx)
	for {
		t := p.peek(0)
		op, prec, ok := binaryOpOf(t.kind)
		if !ok || prec < minPrec || (ctx == ctxScalar && !op.isArithmetic()) {
			return lhs, lt
		}
		p.next()
		rhsTok := p.peek(0)
		rhs, rt := p.parseBinaryExpr(ctx, prec+1)
		lhs, lt = p.makeBinary(t, rhsTok, op, lhs, lt, rhs, rt)
	}
}

// parseUnaryExpr parses ! and unary -, which bind tighter than every
// binary operator except the right-associative ^.
func (p *parser) parseUnaryExpr(ctx exprCtx) (Expr, Type) {
	t := p.peek(0)
	switch t.kind {
	case tokNot:
		if ctx == ctxScalar {
			p.unexpected(t, "a number or an aggregate such as count()")
		}
		p.next()
		p.enter(t)
		operand, ot := p.parseUnaryExpr(ctx)
		p.leave()
		if !isBoolish(ot) {
			p.fail(t.pos, "'!' needs a condition, found "+article(ot)+" value", "")
		}
		return &UnaryExpr{Op: OpNot, Expr: operand}, TypeBool
	case tokSub:
		p.next()
		if n := p.peek(0); n.kind == tokInt && p.peek(1).kind != tokPow {
			p.next()
			v, err := strconv.ParseInt("-"+n.text, 10, 64)
			if err != nil {
				p.fail(t.pos, "integer -"+n.text+" is out of range", "")
			}
			return &Static{Type: TypeInt, Int: v}, TypeInt
		}
		p.enter(t)
		operand, ot := p.parseUnaryExpr(ctx)
		p.leave()
		if !isNumberish(ot) {
			p.fail(t.pos, "'-' needs a number, found "+article(ot)+" value", "")
		}
		if s, ok := operand.(*Static); ok && !(s.Type != TypeFloat && s.Int == math.MinInt64) {
			if neg, ok := negate(*s); ok {
				return &neg, ot
			}
		}
		return &UnaryExpr{Op: OpNeg, Expr: operand}, ot
	}
	base, bt := p.parsePrimary(ctx)
	if op := p.peek(0); op.kind == tokPow {
		p.next()
		p.enter(op)
		rhsTok := p.peek(0)
		exp, et := p.parseUnaryExpr(ctx)
		p.leave()
		return p.makeBinary(op, rhsTok, OpPow, base, bt, exp, et)
	}
	return base, bt
}

func (p *parser) parsePrimary(ctx exprCtx) (Expr, Type) {
	t := p.next()
	scalarOnly := "a number or an aggregate such as count()"
	switch t.kind {
	case tokLParen:
		p.enter(t)
		e, typ := p.parseExpr(ctx)
		p.expectClose(tokRParen, t, "an operator or ')'")
		p.leave()
		return e, typ
	case tokInt:
		v, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			p.fail(t.pos, "integer "+t.text+" is out of range", "")
		}
		return &Static{Type: TypeInt, Int: v}, TypeInt
	case tokFloat:
		return &Static{Type: TypeFloat, Float: t.num}, TypeFloat
	case tokDuration:
		return &Static{Type: TypeDuration, Int: t.dur}, TypeDuration
	}
	if ctx == ctxScalar {
		if t.kind == tokIdent {
			switch t.text {
			case "count", "avg", "min", "max", "sum":
				return p.parseAggregate(t)
			}
		}
		p.unexpected(t, scalarOnly)
	}
	switch t.kind {
	case tokString:
		return &Static{Type: TypeString, Str: t.str}, TypeString
	case tokAttribute:
		return &Field{Scope: t.scope, Name: t.str}, typeUnknown
	case tokIntrinsic:
		in, _ := intrinsicByScopedName(t.text)
		return &Field{Intrinsic: in}, in.Type()
	case tokIdent:
		if s, ok := keywordStatic(t.text); ok {
			return &s, s.Type
		}
		if in, ok := intrinsicByLegacyName(t.text); ok {
			return &Field{Intrinsic: in}, in.Type()
		}
		switch t.text {
		case "count", "avg", "min", "max", "sum":
			p.fail(t.pos, t.text+"() is only allowed after '|'", "as in { } | "+t.text+"() > 3")
		}
		p.fail(t.pos, "unknown identifier "+quoteTok(t.text), "expected a value; attributes need a scope, as in span."+t.text+" or ."+t.text)
	}
	p.unexpected(t, "a value")
	return nil, TypeNil
}

// keywordStatic returns the literal a keyword stands for.
func keywordStatic(w string) (Static, bool) {
	switch w {
	case "true":
		return BoolStatic(true), true
	case "false":
		return BoolStatic(false), true
	case "nil":
		return Static{Type: TypeNil}, true
	case "minInt":
		return IntStatic(math.MinInt64), true
	case "maxInt":
		return IntStatic(math.MaxInt64), true
	case "ok":
		return StatusStatic(model.StatusOK), true
	case "error":
		return StatusStatic(model.StatusError), true
	case "unset":
		return StatusStatic(model.StatusUnset), true
	}
	if k, ok := model.ParseSpanKind(w); ok {
		return KindStatic(k), true
	}
	return Static{}, false
}

func isBoolish(t Type) bool   { return t == TypeBool || t == typeUnknown }
func isNumberish(t Type) bool { return t.isNumeric() || t == typeUnknown }

// makeBinary type-checks and builds a binary expression. opTok is the
// operator's token and rhsTok the first token of the right operand.
func (p *parser) makeBinary(opTok, rhsTok token, op Op, lhs Expr, lt Type, rhs Expr, rt Type) (Expr, Type) {
	b := &BinaryExpr{Op: op, LHS: lhs, RHS: rhs}
	switch {
	case op == OpAnd || op == OpOr:
		if !isBoolish(lt) || !isBoolish(rt) {
			bad := lt
			if isBoolish(lt) {
				bad = rt
			}
			p.fail(opTok.pos, op.String()+" needs a condition on both sides, found "+article(bad)+" value", "")
		}
		return b, TypeBool
	case op == OpRegex || op == OpNotRegex:
		s, ok := rhs.(*Static)
		if !ok || s.Type != TypeString {
			p.fail(rhsTok.pos, "the right side of "+op.String()+" must be a string literal", "as in name =~ \"GET .*\"")
		}
		if lt != typeUnknown && lt != TypeString {
			p.fail(opTok.pos, "cannot match "+article(lt)+" value against a regular expression", "")
		}
		if _, err := regexp.Compile(s.Str); err != nil {
			p.fail(rhsTok.pos, "invalid regular expression "+strconv.Quote(s.Str), err.Error())
		}
		re, err := regexp.Compile("^(?:" + s.Str + ")$")
		if err != nil {
			p.fail(rhsTok.pos, "invalid regular expression "+strconv.Quote(s.Str), err.Error())
		}
		b.re = re
		return b, TypeBool
	case op.isComparison():
		p.checkComparable(opTok, op, lt, rt)
		b.nilCmp = lt == TypeNil || rt == TypeNil
		if op == OpEq || op == OpNeq {
			b.id = idLiteralOf(lhs, rhs)
		}
		return b, TypeBool
	}
	// Arithmetic.
	if !isNumberish(lt) || !isNumberish(rt) {
		bad := lt
		if isNumberish(lt) {
			bad = rt
		}
		p.fail(opTok.pos, "'"+op.String()+"' needs numbers, found "+article(bad)+" value", "")
	}
	switch {
	case lt == typeUnknown || rt == typeUnknown:
		return b, typeUnknown
	case lt == TypeFloat || rt == TypeFloat || op == OpDiv || op == OpPow:
		return b, TypeFloat
	case lt == TypeDuration || rt == TypeDuration:
		return b, TypeDuration
	}
	return b, TypeInt
}

// checkComparable rejects comparisons that can never hold because of the
// operands' types, such as name = 1 or status > ok.
func (p *parser) checkComparable(opTok token, op Op, lt, rt Type) {
	for _, t := range [2]Type{lt, rt} {
		if op.isOrdering() && (t == TypeNil || t == TypeBool || t == TypeStatus || t == TypeKind) {
			if t == TypeNil {
				p.fail(opTok.pos, "nil can only be compared with = or !=", "")
			}
			p.fail(opTok.pos, "cannot order "+t.String()+" values", "use = or !=")
		}
	}
	if lt == typeUnknown || rt == typeUnknown || lt == TypeNil || rt == TypeNil || lt == rt || (lt.isNumeric() && rt.isNumeric()) {
		return
	}
	hint := ""
	switch {
	case lt == TypeStatus || rt == TypeStatus:
		hint = "write status values without quotes: error, ok or unset"
	case lt == TypeKind || rt == TypeKind:
		hint = "write kinds without quotes: unspecified, internal, server, client, producer or consumer"
	}
	p.fail(opTok.pos, "cannot compare "+article(lt)+" with "+article(rt), hint)
}

// idLiteralOf returns the binary form of a string literal compared with an
// ID intrinsic, or nil when the comparison is of another kind.
func idLiteralOf(lhs, rhs Expr) *idLiteral {
	f, ok := lhs.(*Field)
	s, ok2 := rhs.(*Static)
	if !ok || !ok2 {
		f, ok = rhs.(*Field)
		s, ok2 = lhs.(*Static)
	}
	if !ok || !ok2 || s.Type != TypeString {
		return nil
	}
	switch f.Intrinsic {
	case IntrinsicTraceID, IntrinsicLinkTraceID:
		id, err := model.ParseTraceID(s.Str)
		return &idLiteral{trace: id, valid: err == nil}
	case IntrinsicSpanID, IntrinsicParentID, IntrinsicLinkSpanID:
		id, err := model.ParseSpanID(s.Str)
		return &idLiteral{span: id, valid: err == nil && !id.IsZero()}
	}
	return nil
}

func (p *parser) parseAggregate(t token) (Expr, Type) {
	fn := AggregateCount
	for i, n := range aggregateNames {
		if n == t.text {
			fn = AggregateFunc(i)
		}
	}
	open := p.expect(tokLParen, "'('")
	if fn == AggregateCount {
		p.expect(tokRParen, "')'; count() takes no arguments")
		return &Aggregate{Func: fn}, TypeInt
	}
	arg := p.peek(0)
	if arg.kind == tokRParen {
		p.fail(arg.pos, t.text+"() needs a field", "as in "+t.text+"(duration)")
	}
	p.enter(open)
	e, et := p.parseExpr(ctxField)
	p.leave()
	if !isNumberish(et) {
		p.fail(arg.pos, t.text+"() needs a number, found "+article(et)+" value", "")
	}
	p.expectClose(tokRParen, open, "an operator or ')'")
	if fn == AggregateAvg {
		return &Aggregate{Func: fn, Expr: e}, TypeFloat
	}
	return &Aggregate{Func: fn, Expr: e}, et
}

func containsAggregate(e Expr) bool {
	switch e := e.(type) {
	case *Aggregate:
		return true
	case *BinaryExpr:
		return containsAggregate(e.LHS) || containsAggregate(e.RHS)
	case *UnaryExpr:
		return containsAggregate(e.Expr)
	}
	return false
}

// scalarCompareOp maps a token to a comparison allowed in scalar filters.
func scalarCompareOp(k tokenKind) (Op, bool) {
	switch k {
	case tokEq:
		return OpEq, true
	case tokNeq:
		return OpNeq, true
	case tokGt:
		return OpGt, true
	case tokGte:
		return OpGte, true
	case tokLt:
		return OpLt, true
	case tokLte:
		return OpLte, true
	}
	return OpNone, false
}

func (p *parser) parseScalarFilter() *ScalarFilter {
	start := p.peek(0)
	lhs, _ := p.parseExpr(ctxScalar)
	t := p.peek(0)
	op, ok := scalarCompareOp(t.kind)
	if !ok {
		p.unexpected(t, "a comparison such as count() > 3")
	}
	p.next()
	rhs, _ := p.parseExpr(ctxScalar)
	if !containsAggregate(lhs) && !containsAggregate(rhs) {
		p.fail(start.pos, "a scalar filter must compare an aggregate", "as in count() > 3 or avg(duration) > 20ms")
	}
	return &ScalarFilter{Op: op, LHS: lhs, RHS: rhs}
}

func (p *parser) parseGroupBy() *GroupBy {
	p.next()
	open := p.expect(tokLParen, "'('")
	if t := p.peek(0); t.kind == tokRParen {
		p.fail(t.pos, "by() needs a field", "as in by(resource.service.name)")
	}
	p.enter(open)
	e, _ := p.parseExpr(ctxField)
	p.leave()
	if t := p.peek(0); t.kind == tokComma {
		p.fail(t.pos, "by() takes one field", "chain groups as in | by(a) | by(b)")
	}
	p.expectClose(tokRParen, open, "an operator or ')'")
	return &GroupBy{Expr: e}
}

// parseFieldList parses "(f1, f2, ...)" of attributes and intrinsics.
func (p *parser) parseFieldList(fn string) []*Field {
	open := p.expect(tokLParen, "'('")
	var fields []*Field
	for {
		t := p.peek(0)
		if t.kind == tokRParen && len(fields) == 0 {
			p.fail(t.pos, fn+"() needs at least one field", "as in "+fn+"(resource.service.name)")
		}
		fields = append(fields, p.parseField(fn))
		if p.peek(0).kind != tokComma {
			break
		}
		p.next()
	}
	p.expectClose(tokRParen, open, "',' or ')'")
	return fields
}

// parseField parses one attribute or intrinsic.
func (p *parser) parseField(fn string) *Field {
	t := p.peek(0)
	e, _ := p.parsePrimary(ctxField)
	f, ok := e.(*Field)
	if !ok {
		p.fail(t.pos, fn+"() takes attributes or intrinsics", "as in "+fn+"(span.http.url)")
	}
	return f
}

func (p *parser) parseSelect() *Select {
	p.next()
	return &Select{Fields: p.parseFieldList("select")}
}

// parseNumber parses an optionally negative int or float literal.
func (p *parser) parseNumber(expected string) float64 {
	neg := false
	if p.peek(0).kind == tokSub {
		p.next()
		neg = true
	}
	t := p.next()
	var v float64
	switch t.kind {
	case tokInt:
		i, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			p.fail(t.pos, "number "+t.text+" is out of range", "")
		}
		v = i
	case tokFloat:
		v = t.num
	default:
		p.unexpected(t, expected)
	}
	if neg {
		v = -v
	}
	return v
}

// parseInt parses a non-negative int literal.
func (p *parser) parseInt(expected string) int64 {
	t := p.next()
	if t.kind != tokInt {
		p.unexpected(t, expected)
	}
	v, err := strconv.ParseInt(t.text, 10, 64)
	if err != nil {
		p.fail(t.pos, "integer "+t.text+" is out of range", "")
	}
	return v
}

func (p *parser) parseMetrics() *MetricsStage {
	t := p.next()
	fn, _ := metricsByName(t.text)
	m := &MetricsStage{Func: fn}
	open := p.expect(tokLParen, "'('")
	switch fn {
	case MetricsRate, MetricsCountOverTime:
		p.expect(tokRParen, "')'; "+t.text+"() takes no arguments")
	case MetricsCompare:
		m.Compare = p.parseCompareArgs(open)
	default:
		if a := p.peek(0); a.kind == tokRParen {
			p.fail(a.pos, t.text+"() needs a field", "as in "+t.text+"(span:duration)")
		}
		arg := p.peek(0)
		m.Field = p.parseField(t.text)
		if typ := fieldType(m.Field); !isNumberish(typ) {
			p.fail(arg.pos, t.text+"() needs a number, found "+article(typ)+" value", "")
		}
		if fn == MetricsQuantileOverTime {
			if c := p.peek(0); c.kind != tokComma {
				p.unexpected(c, "',' and the quantiles, as in quantile_over_time(span:duration, 0.5, 0.99)")
			}
			for p.peek(0).kind == tokComma {
				p.next()
				qt := p.peek(0)
				q := p.parseNumber("a quantile between 0 and 1")
				if q < 0 || q > 1 {
					p.fail(qt.pos, "quantile "+strconv.FormatFloat(q, 'g', -1, 64)+" is not between 0 and 1", "")
				}
				m.Quantiles = append(m.Quantiles, q)
			}
		}
		p.expectClose(tokRParen, open, "')'")
	}
	if t := p.peek(0); t.kind == tokIdent && t.text == "by" {
		p.next()
		m.By = p.parseFieldList("by")
	}
	if op, ok := scalarCompareOp(p.peek(0).kind); ok {
		p.next()
		m.Filter = &MetricsFilter{Op: op, Value: p.parseNumber("a number")}
	}
	if p.peek(0).kind == tokPipe {
		if t := p.peek(1); t.kind == tokIdent && (t.text == "topk" || t.text == "bottomk") {
			p.next()
			p.next()
			open := p.expect(tokLParen, "'('")
			nt := p.peek(0)
			n := p.parseInt("a positive integer")
			if n < 1 || n > math.MaxInt32 {
				p.fail(nt.pos, t.text+"() needs a positive integer", "")
			}
			p.expectClose(tokRParen, open, "')'")
			m.TopK = &TopK{Bottom: t.text == "bottomk", N: int(n)}
		}
	}
	return m
}

func (p *parser) parseCompareArgs(open token) *CompareArgs {
	if t := p.peek(0); t.kind != tokLBrace {
		p.unexpected(t, "a spanset filter, as in compare({ status = error })")
	}
	c := &CompareArgs{Selection: p.parseSpansetFilter(), TopN: 10}
	if p.peek(0).kind == tokComma {
		p.next()
		nt := p.peek(0)
		n := p.parseInt("the number of values per attribute")
		if n < 1 || n > math.MaxInt32 {
			p.fail(nt.pos, "compare() needs a positive number of values", "")
		}
		c.TopN = int(n)
		if p.peek(0).kind == tokComma {
			p.next()
			c.StartUnixNano = p.parseInt("the start in Unix nanoseconds")
			p.expect(tokComma, "',' and the end in Unix nanoseconds")
			c.EndUnixNano = p.parseInt("the end in Unix nanoseconds")
		}
	}
	p.expectClose(tokRParen, open, "')'")
	return c
}

func (p *parser) parseHints() []Hint {
	p.next()
	open := p.expect(tokLParen, "'('")
	var hints []Hint
	for {
		name := p.expect(tokIdent, "a hint name such as most_recent")
		p.expect(tokEq, "'='")
		vt := p.peek(0)
		e, _ := p.parseUnaryExpr(ctxField)
		s, ok := e.(*Static)
		if !ok || s.Type == TypeNil {
			p.fail(vt.pos, "a hint value must be a literal", "as in with(most_recent=true)")
		}
		hints = append(hints, Hint{Name: name.text, Value: *s})
		if p.peek(0).kind != tokComma {
			break
		}
		p.next()
	}
	p.expectClose(tokRParen, open, "',' or ')'")
	return hints
}

// article returns the type's name with "a" or "an" before it.
func article(t Type) string {
	if t == TypeInt || t == typeUnknown {
		return "an " + t.String()
	}
	return "a " + t.String()
}

func fieldType(f *Field) Type {
	if f.Intrinsic == IntrinsicNone {
		return typeUnknown
	}
	return f.Intrinsic.Type()
}
