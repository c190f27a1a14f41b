package traceql

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"waymark/internal/model"
)

// MaxSpansets bounds the spansets that one operation may produce for one
// trace. Pairing spansets with && or a structural operator multiplies
// their number, so without a bound a short query could exhaust memory.
const MaxSpansets = 10000

// ErrTooManySpansets reports a query that makes more than MaxSpansets
// spansets in one trace.
var ErrTooManySpansets = errors.New("too many spansets")

// Spanset is a set of spans of one trace that a query matched.
type Spanset struct {
	// Spans are the matched spans, in the order of the trace slice.
	Spans []SpanMatch
	// Attributes are values computed for the whole spanset: the group key
	// of each by() (named "by(<expr>)"; an empty Value for spans lacking
	// it) and the aggregate of each scalar filter (named as written, such
	// as "count()" or "avg(span:duration)").
	Attributes []Attribute
}

// SpanMatch is one matched span.
type SpanMatch struct {
	// Span points into the slice given to Eval.
	Span *model.Span
	// Attributes are the values this span holds for the fields the query's
	// spanset filters test and select() names, except span:name,
	// span:duration, span:id and the trace-level intrinsics, which a
	// result shows anyway.
	Attributes []Attribute
}

// Attribute is a named value in a result. Name is the field in its
// canonical TraceQL form ("resource.service.name", "span:status").
// Durations are int nanoseconds; status and kind are their names.
type Attribute struct {
	Name  string
	Value model.Value
}

// Eval runs q over the spans of one trace and returns the spansets it
// matched, in a deterministic order; none means the trace does not match.
// For a metrics query it returns the spansets of the search part, which
// the metrics function then aggregates. Matching follows these rules:
//   - a missing field makes every comparison false, except = nil; !
//     negates the result of the comparison it encloses;
//   - numbers (int, float, duration in ns) compare with each other; any
//     other type compares only with its own type; = is false and != true
//     between values of different types;
//   - regular expressions are anchored and also match the text of number
//     and bool attributes;
//   - an array attribute matches = and =~ when any element does, and !=
//     and !~ when no element equals or matches;
//   - fields with one value per event or link, and the unscoped ".name"
//     (span then resource attribute), match when any of their values does;
//   - = and != between span:id, span:parentID, trace:id, link:traceID or
//     link:spanID and a string compare IDs, ignoring case and leading zeros;
//   - siblings are distinct spans with the same non-zero parent span ID;
//     parents, children, ancestors and descendants follow received spans'
//     parent IDs.
//
// All spans must belong to one trace.
func (q *Query) Eval(trace []model.Span) ([]Spanset, error) {
	var out []Spanset
	err := q.run(trace, func(e *evaluator, sets []spanset) { out = e.output(q, sets) })
	if err != nil {
		return nil, err
	}
	return out, nil
}

// run evaluates the search part of q over one trace and hands the
// resulting spansets to use, unless the evaluation failed. The evaluator
// is only valid during use.
func (q *Query) run(trace []model.Span, use func(*evaluator, []spanset)) error {
	if len(trace) == 0 {
		return nil
	}
	for i := 1; i < len(trace); i++ {
		if trace[i].TraceID != trace[0].TraceID {
			return fmt.Errorf("eval: span %d is of trace %s, span 0 of trace %s", i, trace[i].TraceID, trace[0].TraceID)
		}
	}
	e, _ := q.pool.Get().(*evaluator)
	if e == nil {
		e = &evaluator{}
	}
	e.reset(trace)
	e.all = e.all[:0]
	for i := range trace {
		e.all = append(e.all, int32(i))
	}
	e.input[0] = spanset{idx: e.all}
	sets := e.pipeline(q.Pipeline, e.input[:])
	err := e.err
	if err == nil {
		use(e, sets)
	}
	e.reset(nil)
	q.pool.Put(e)
	if err != nil {
		return fmt.Errorf("eval trace %s: %w: more than %d; group or combine fewer spansets", trace[0].TraceID, err, MaxSpansets)
	}
	return nil
}

// spanset is a set of spans by index into the trace, in ascending order.
type spanset struct {
	idx   []int32
	attrs []Attribute
}

// evaluator holds the per-trace state of one Eval call.
type evaluator struct {
	trace   []model.Span
	scratch []Static
	// all lists every span of the trace, and input is the spanset the
	// pipeline starts from; both are reused across calls.
	all   []int32
	input [1]spanset
	info  *traceInfo
	tree  *traceTree
	// err stops the evaluation; it is set when a limit is exceeded.
	err error
	// marks and values are Observe's buffers, reused across calls.
	marks  []bool
	values []Static
}

func (e *evaluator) reset(trace []model.Span) {
	e.trace = trace
	e.err = nil
	e.scratch = e.scratch[:0]
	e.info = nil
	e.tree = nil
}

// traceInfo holds the trace-level intrinsics, computed once per trace.
type traceInfo struct {
	root     int // index of the root span, -1 if not received
	duration int64
}

func (e *evaluator) traceInfo() *traceInfo {
	if e.info != nil {
		return e.info
	}
	ti := &traceInfo{root: -1}
	var start, end uint64
	for i := range e.trace {
		s := &e.trace[i]
		if i == 0 || s.StartTimeUnixNano < start {
			start = s.StartTimeUnixNano
		}
		if i == 0 || s.EndTimeUnixNano > end {
			end = s.EndTimeUnixNano
		}
		if s.ParentSpanID.IsZero() && (ti.root < 0 || s.StartTimeUnixNano < e.trace[ti.root].StartTimeUnixNano) {
			ti.root = i
		}
	}
	if end > start {
		ti.duration = int64(min(end-start, math.MaxInt64))
	}
	e.info = ti
	return ti
}

func (e *evaluator) output(q *Query, sets []spanset) []Spanset {
	var out []Spanset
	for _, ss := range sets {
		if len(ss.idx) == 0 {
			continue
		}
		r := Spanset{Spans: make([]SpanMatch, len(ss.idx)), Attributes: ss.attrs}
		for k, i := range ss.idx {
			r.Spans[k] = SpanMatch{Span: &e.trace[i], Attributes: e.spanAttributes(q, i)}
		}
		out = append(out, r)
	}
	return out
}

func (e *evaluator) spanAttributes(q *Query, i int32) []Attribute {
	var attrs []Attribute
	for k, f := range q.outFields {
		mark := len(e.scratch)
		e.field(f, i)
		if len(e.scratch) > mark {
			attrs = append(attrs, Attribute{Name: q.outNames[k], Value: e.scratch[mark].modelValue()})
		}
		e.scratch = e.scratch[:mark]
	}
	return attrs
}

// within reports whether n spansets are within MaxSpansets, and stops the
// evaluation if not.
func (e *evaluator) within(n int) bool {
	if n > MaxSpansets || n < 0 {
		e.err = ErrTooManySpansets
	}
	return e.err == nil
}

// pairs reports whether pairing a and b spansets stays within MaxSpansets.
func (e *evaluator) pairs(a, b int) bool {
	if b > 0 && a > MaxSpansets/b {
		return e.within(MaxSpansets + 1)
	}
	return e.within(a * b)
}

// pipeline runs the stages of p over the input spansets.
func (e *evaluator) pipeline(p *Pipeline, in []spanset) []spanset {
	for _, st := range p.Stages {
		if len(in) == 0 || e.err != nil {
			return nil
		}
		if _, ok := st.(*Coalesce); ok {
			in = []spanset{coalesce(in)}
			continue
		}
		var out []spanset
		for _, ss := range in {
			out = e.stage(st, ss, out)
			if !e.within(len(out)) {
				return nil
			}
		}
		in = out
	}
	return in
}

func coalesce(in []spanset) spanset {
	var idx []int32
	for _, ss := range in {
		idx = union(idx, ss.idx)
	}
	return spanset{idx: idx}
}

// stage applies one pipeline stage to one spanset and appends the result.
func (e *evaluator) stage(st Stage, ss spanset, out []spanset) []spanset {
	switch st := st.(type) {
	case SpansetExpr:
		for _, r := range e.spansets(st, ss) {
			if len(r.idx) > 0 {
				r.attrs = joinAttrs(ss.attrs, r.attrs)
				out = append(out, r)
			}
		}
		return out
	case *ScalarFilter:
		l, lok := e.scalar(st.LHS, ss)
		r, rok := e.scalar(st.RHS, ss)
		if !lok || !rok || !compareOp(st.Op, l, r) {
			return out
		}
		agg := st.LHS
		v := l
		if !containsAggregate(agg) {
			agg, v = st.RHS, r
		}
		ss.attrs = joinAttrs(ss.attrs, []Attribute{{Name: exprString(agg), Value: v.modelValue()}})
		return append(out, ss)
	case *GroupBy:
		return e.groupBy(st, ss, out)
	case *Select:
		// The selected fields are added to every matched span on output.
		return append(out, ss)
	}
	return out
}

// joinAttrs returns a followed by b without changing a's backing array.
func joinAttrs(a, b []Attribute) []Attribute {
	if len(b) == 0 {
		return a
	}
	if len(a) == 0 {
		return b
	}
	return append(a[:len(a):len(a)], b...)
}

func (e *evaluator) groupBy(g *GroupBy, ss spanset, out []spanset) []spanset {
	type key struct {
		typ Type
		str string
		num int64
		f   float64
	}
	name := "by(" + exprString(g.Expr) + ")"
	groups := map[key]int{}
	for _, i := range ss.idx {
		mark := len(e.scratch)
		e.push(g.Expr, i)
		var v Static
		if len(e.scratch) > mark {
			v = e.scratch[mark]
		}
		e.scratch = e.scratch[:mark]
		k := key{typ: v.Type, str: v.Str, num: v.Int, f: v.Float}
		n, ok := groups[k]
		if !ok {
			n = len(out)
			groups[k] = n
			attrs := joinAttrs(ss.attrs, []Attribute{{Name: name, Value: v.modelValue()}})
			out = append(out, spanset{attrs: attrs})
		}
		out[n].idx = append(out[n].idx, i)
	}
	return out
}

// spansets evaluates a spanset expression over the spans of in.
func (e *evaluator) spansets(x SpansetExpr, in spanset) []spanset {
	switch x := x.(type) {
	case *SpansetFilter:
		var idx []int32
		for _, i := range in.idx {
			if x.Expr == nil || e.truth(x.Expr, i) {
				idx = append(idx, i)
			}
		}
		if len(idx) == 0 {
			return nil
		}
		return []spanset{{idx: idx}}
	case *Pipeline:
		return e.pipeline(x, []spanset{{idx: in.idx}})
	case *SpansetOperation:
		return e.spansetOperation(x, in)
	}
	return nil
}

func (e *evaluator) spansetOperation(x *SpansetOperation, in spanset) []spanset {
	lhs := e.spansets(x.LHS, in)
	switch x.Op {
	case SpansetAnd:
		if len(lhs) == 0 {
			return nil
		}
		rhs := e.spansets(x.RHS, in)
		if !e.pairs(len(lhs), len(rhs)) {
			return nil
		}
		var out []spanset
		for _, l := range lhs {
			for _, r := range rhs {
				out = append(out, spanset{idx: union(l.idx, r.idx), attrs: joinAttrs(l.attrs, r.attrs)})
			}
		}
		return out
	case SpansetOr:
		out := append(lhs, e.spansets(x.RHS, in)...)
		if !e.within(len(out)) {
			return nil
		}
		return out
	}
	rel, negated, unionOp, _ := x.Op.relation()
	if len(lhs) == 0 && !negated {
		return nil
	}
	rhs := e.spansets(x.RHS, in)
	if len(lhs) == 0 {
		lhs = []spanset{{}}
	}
	if !e.pairs(len(lhs), len(rhs)) {
		return nil
	}
	var out []spanset
	for _, l := range lhs {
		for _, r := range rhs {
			var idx []int32
			switch {
			case negated:
				idx = e.relate(rel, l.idx, r.idx, true)
			case unionOp:
				idx = union(e.relate(rel, l.idx, r.idx, false), e.relate(inverse(rel), r.idx, l.idx, false))
			default:
				idx = e.relate(rel, l.idx, r.idx, false)
			}
			if len(idx) > 0 {
				out = append(out, spanset{idx: idx, attrs: joinAttrs(l.attrs, r.attrs)})
			}
		}
	}
	return out
}

// union merges two ascending index lists, dropping duplicates.
func union(a, b []int32) []int32 {
	if len(a) == 0 {
		return slices.Clone(b)
	}
	if len(b) == 0 {
		return slices.Clone(a)
	}
	out := make([]int32, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			out = append(out, a[i])
			i++
		case a[i] > b[j]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

// The evaluator keeps the values it is working on in one stack, scratch:
// push and field append the values of an expression to it, and whoever
// called them reads the values above its mark and truncates back to it.

// truth evaluates a boolean field expression on span i.
func (e *evaluator) truth(x Expr, i int32) bool {
	switch x := x.(type) {
	case *BinaryExpr:
		switch {
		case x.Op == OpAnd:
			return e.truth(x.LHS, i) && e.truth(x.RHS, i)
		case x.Op == OpOr:
			return e.truth(x.LHS, i) || e.truth(x.RHS, i)
		case x.Op.isComparison():
			return e.compare(x, i)
		}
		return false
	case *UnaryExpr:
		return x.Op == OpNot && !e.truth(x.Expr, i)
	case *Static:
		return x.Bool()
	case *Field:
		mark := len(e.scratch)
		e.field(x, i)
		ok := false
		for _, v := range e.scratch[mark:] {
			ok = ok || v.Bool()
		}
		e.scratch = e.scratch[:mark]
		return ok
	}
	return false
}

// compare evaluates a comparison on span i.
func (e *evaluator) compare(x *BinaryExpr, i int32) bool {
	if x.id != nil {
		return e.compareID(x, i)
	}
	if f, ok := x.LHS.(*Field); ok && !f.multiValued() {
		if s, ok := x.RHS.(*Static); ok && !x.nilCmp {
			// Fast path: one single-valued field against a literal.
			v, ok := e.value(f, i)
			if !ok {
				return false
			}
			if x.re != nil {
				return matchRegex(x, v)
			}
			return compareValue(x.Op, v, *s)
		}
	}
	mark := len(e.scratch)
	e.push(x.LHS, i)
	mid := len(e.scratch)
	e.push(x.RHS, i)
	l, r := e.scratch[mark:mid], e.scratch[mid:]
	result := false
	switch {
	case x.nilCmp:
		present := len(l) > 0 || len(r) > 0
		result = present == (x.Op == OpNeq)
	case x.re != nil:
		for _, v := range l {
			if matchRegex(x, v) {
				result = true
				break
			}
		}
	default:
	outer:
		for _, a := range l {
			for _, b := range r {
				if compareValue(x.Op, a, b) {
					result = true
					break outer
				}
			}
		}
	}
	e.scratch = e.scratch[:mark]
	return result
}

// compareValue compares two values, either of which may be an array.
func compareValue(op Op, a, b Static) bool {
	if a.Type != TypeArray && b.Type != TypeArray {
		return compareOp(op, a, b)
	}
	if b.Type == TypeArray && a.Type != TypeArray {
		a, b = b, a
		op = op.flip()
	}
	if op == OpNeq {
		for _, el := range a.arr {
			if compareValue(OpEq, el, b) {
				return false
			}
		}
		return true
	}
	for _, el := range a.arr {
		if compareValue(op, el, b) {
			return true
		}
	}
	return false
}

// matchRegex applies =~ or !~ to one value.
func matchRegex(x *BinaryExpr, v Static) bool {
	if v.Type == TypeArray {
		matched := false
		for _, el := range v.arr {
			if s, ok := el.text(); ok && x.re.MatchString(s) {
				matched = true
				break
			}
		}
		return matched == (x.Op == OpRegex)
	}
	s, ok := v.text()
	if !ok {
		return false
	}
	return x.re.MatchString(s) == (x.Op == OpRegex)
}

// compareID evaluates = or != between an ID intrinsic and a literal by
// comparing binary IDs. A literal that is not a valid ID equals no ID.
func (e *evaluator) compareID(x *BinaryExpr, i int32) bool {
	f, ok := x.LHS.(*Field)
	if !ok {
		f = x.RHS.(*Field)
	}
	s := &e.trace[i]
	id := x.id
	want := x.Op == OpEq
	switch f.Intrinsic {
	case IntrinsicTraceID:
		return (id.valid && s.TraceID == id.trace) == want
	case IntrinsicSpanID:
		return (id.valid && s.SpanID == id.span) == want
	case IntrinsicParentID:
		return !s.ParentSpanID.IsZero() && (id.valid && s.ParentSpanID == id.span) == want
	case IntrinsicLinkTraceID:
		for k := range s.Links {
			if (id.valid && s.Links[k].TraceID == id.trace) == want {
				return true
			}
		}
	case IntrinsicLinkSpanID:
		for k := range s.Links {
			if (id.valid && s.Links[k].SpanID == id.span) == want {
				return true
			}
		}
	}
	return false
}

// push appends the values of x on span i to the stack.
func (e *evaluator) push(x Expr, i int32) {
	switch x := x.(type) {
	case *Static:
		if x.Type != TypeNil {
			e.scratch = append(e.scratch, *x)
		}
	case *Field:
		e.field(x, i)
	case *UnaryExpr:
		if x.Op == OpNot {
			v := BoolStatic(!e.truth(x.Expr, i))
			e.scratch = append(e.scratch, v)
			return
		}
		mark := len(e.scratch)
		e.push(x.Expr, i)
		n := mark
		for k := mark; k < len(e.scratch); k++ {
			if v, ok := negate(e.scratch[k]); ok {
				e.scratch[n] = v
				n++
			}
		}
		e.scratch = e.scratch[:n]
	case *BinaryExpr:
		if !x.Op.isArithmetic() {
			v := BoolStatic(e.truth(x, i))
			e.scratch = append(e.scratch, v)
			return
		}
		mark := len(e.scratch)
		e.push(x.LHS, i)
		mid := len(e.scratch)
		e.push(x.RHS, i)
		end := len(e.scratch)
		for a := mark; a < mid; a++ {
			for b := mid; b < end; b++ {
				if v, ok := arith(x.Op, e.scratch[a], e.scratch[b]); ok {
					e.scratch = append(e.scratch, v)
				}
			}
		}
		n := copy(e.scratch[mark:], e.scratch[end:])
		e.scratch = e.scratch[:mark+n]
	}
}

// field appends the values of f on span i to the stack.
func (e *evaluator) field(f *Field, i int32) {
	if !f.multiValued() {
		if v, ok := e.value(f, i); ok {
			e.scratch = append(e.scratch, v)
		}
		return
	}
	s := &e.trace[i]
	switch f.Intrinsic {
	case IntrinsicNone:
		switch f.Scope {
		case ScopeNone:
			if v, ok := s.Attributes.Get(f.Name); ok {
				e.scratch = append(e.scratch, staticFromValue(v))
			}
			if v, ok := resourceAttr(s.Resource, f.Name); ok {
				e.scratch = append(e.scratch, v)
			}
		case ScopeEvent:
			for k := range s.Events {
				if v, ok := s.Events[k].Attributes.Get(f.Name); ok {
					e.scratch = append(e.scratch, staticFromValue(v))
				}
			}
		case ScopeLink:
			for k := range s.Links {
				if v, ok := s.Links[k].Attributes.Get(f.Name); ok {
					e.scratch = append(e.scratch, staticFromValue(v))
				}
			}
		}
	case IntrinsicEventName:
		for k := range s.Events {
			e.scratch = append(e.scratch, StringStatic(s.Events[k].Name))
		}
	case IntrinsicEventTimeSinceStart:
		for k := range s.Events {
			e.scratch = append(e.scratch, DurationStatic(int64(s.Events[k].TimeUnixNano-s.StartTimeUnixNano)))
		}
	case IntrinsicLinkTraceID:
		for k := range s.Links {
			e.scratch = append(e.scratch, StringStatic(s.Links[k].TraceID.String()))
		}
	case IntrinsicLinkSpanID:
		for k := range s.Links {
			e.scratch = append(e.scratch, StringStatic(s.Links[k].SpanID.String()))
		}
	}
}

// value returns the value of a single-valued field on span i.
func (e *evaluator) value(f *Field, i int32) (Static, bool) {
	s := &e.trace[i]
	switch f.Intrinsic {
	case IntrinsicNone:
		var v model.Value
		ok := false
		switch f.Scope {
		case ScopeSpan:
			v, ok = s.Attributes.Get(f.Name)
		case ScopeResource:
			return resourceAttr(s.Resource, f.Name)
		case ScopeInstrumentation:
			if s.Scope != nil {
				v, ok = s.Scope.Attributes.Get(f.Name)
			}
		}
		if !ok {
			return Static{}, false
		}
		return staticFromValue(v), true
	case IntrinsicName:
		return StringStatic(s.Name), true
	case IntrinsicStatus:
		return StatusStatic(s.StatusCode), true
	case IntrinsicStatusMessage:
		return StringStatic(s.StatusMessage), true
	case IntrinsicKind:
		return KindStatic(s.Kind), true
	case IntrinsicDuration:
		return DurationStatic(int64(min(s.DurationNano(), math.MaxInt64))), true
	case IntrinsicSpanID:
		return StringStatic(s.SpanID.String()), true
	case IntrinsicParentID:
		return StringStatic(s.ParentSpanID.String()), !s.ParentSpanID.IsZero()
	case IntrinsicChildCount:
		return IntStatic(int64(e.traceTree().childCount[i])), true
	case IntrinsicTraceDuration:
		return DurationStatic(e.traceInfo().duration), true
	case IntrinsicTraceRootName:
		if r := e.traceInfo().root; r >= 0 {
			return StringStatic(e.trace[r].Name), true
		}
	case IntrinsicTraceRootService:
		if r := e.traceInfo().root; r >= 0 {
			return resourceAttr(e.trace[r].Resource, "service.name")
		}
	case IntrinsicTraceID:
		return StringStatic(s.TraceID.String()), true
	case IntrinsicInstrumentationName:
		if s.Scope != nil {
			return StringStatic(s.Scope.Name), true
		}
	case IntrinsicInstrumentationVersion:
		if s.Scope != nil {
			return StringStatic(s.Scope.Version), true
		}
	}
	return Static{}, false
}

// resourceAttr looks up a resource attribute. service.name is read from
// Resource.ServiceName, as a string, as the storage filters do.
func resourceAttr(r *model.Resource, key string) (Static, bool) {
	if r == nil {
		return Static{}, false
	}
	if key == "service.name" {
		if r.ServiceName != "" {
			return StringStatic(r.ServiceName), true
		}
		if _, ok := r.Attributes.Get(key); ok {
			return StringStatic(""), true
		}
		return Static{}, false
	}
	v, ok := r.Attributes.Get(key)
	if !ok {
		return Static{}, false
	}
	return staticFromValue(v), true
}

// scalar evaluates an aggregate expression over a spanset. ok is false
// when an aggregate has no numeric values to work on.
func (e *evaluator) scalar(x Expr, ss spanset) (Static, bool) {
	switch x := x.(type) {
	case *Static:
		return *x, x.Type != TypeNil
	case *Aggregate:
		return e.aggregate(x, ss)
	case *UnaryExpr:
		v, ok := e.scalar(x.Expr, ss)
		if !ok {
			return Static{}, false
		}
		return negate(v)
	case *BinaryExpr:
		l, ok := e.scalar(x.LHS, ss)
		if !ok {
			return Static{}, false
		}
		r, ok := e.scalar(x.RHS, ss)
		if !ok {
			return Static{}, false
		}
		return arith(x.Op, l, r)
	}
	return Static{}, false
}

func (e *evaluator) aggregate(a *Aggregate, ss spanset) (Static, bool) {
	if a.Func == AggregateCount {
		return IntStatic(int64(len(ss.idx))), true
	}
	var (
		n        int
		best     Static
		sumI     int64
		sumF     float64
		allExact = true
		allDur   = true
	)
	for _, i := range ss.idx {
		mark := len(e.scratch)
		e.push(a.Expr, i)
		for _, v := range e.scratch[mark:] {
			if !v.Type.isNumeric() {
				continue
			}
			if v.Type == TypeFloat {
				allExact = false
			}
			if v.Type != TypeDuration {
				allDur = false
			}
			if n == 0 {
				best = v
			} else if c, ok := order(v, best); ok && ((a.Func == AggregateMin && c < 0) || (a.Func == AggregateMax && c > 0)) {
				best = v
			}
			sumI += v.Int
			sumF += v.float()
			n++
		}
		e.scratch = e.scratch[:mark]
	}
	if n == 0 {
		return Static{}, false
	}
	switch a.Func {
	case AggregateMin, AggregateMax:
		return best, true
	case AggregateSum:
		switch {
		case !allExact:
			return FloatStatic(sumF), true
		case allDur:
			return DurationStatic(sumI), true
		}
		return IntStatic(sumI), true
	}
	return FloatStatic(sumF / float64(n)), true
}
