package traceql

import (
	"regexp"
	"sync"

	"waymark/internal/model"
)

// Query is a parsed TraceQL query. Build it with Parse; it is immutable and
// safe for concurrent use afterwards.
type Query struct {
	// Pipeline is the search part: the stages that select spansets.
	Pipeline *Pipeline
	// Metrics is the metrics function that follows the search part, or nil
	// for a search query.
	Metrics *MetricsStage
	// Hints are the with(...) options, in the order written.
	Hints []Hint

	// outFields are the fields reported on every matched span: the fields
	// that spanset filters test and those select() names.
	outFields []*Field
	outNames  []string
	pool      sync.Pool
}

// IsMetrics reports whether q is a metrics query (it ends in a metrics
// function such as rate()).
func (q *Query) IsMetrics() bool { return q.Metrics != nil }

// Hint is one with(name=value) option.
type Hint struct {
	Name  string
	Value Static
}

// Hint returns the value of the hint called name.
func (q *Query) Hint(name string) (Static, bool) {
	for _, h := range q.Hints {
		if h.Name == name {
			return h.Value, true
		}
	}
	return Static{}, false
}

// Pipeline is a sequence of stages separated by '|'. Each stage takes the
// spansets the previous stage produced; the first takes one spanset holding
// every span of the trace. A Pipeline in parentheses may also stand as an
// operand of a spanset operator.
type Pipeline struct {
	Stages []Stage
}

// Stage is one element of a pipeline: a SpansetExpr, *ScalarFilter,
// *GroupBy, *Select or *Coalesce.
type Stage interface {
	String() string
	stage()
}

// SpansetExpr is an expression that yields spansets: a *SpansetFilter, a
// *SpansetOperation or a parenthesised *Pipeline.
type SpansetExpr interface {
	Stage
	spansetExpr()
}

// SpansetFilter is "{ expr }": it selects the spans for which Expr holds.
// Expr is nil for "{}", which selects every span.
type SpansetFilter struct {
	Expr Expr
}

// SpansetOperation combines the spansets of two expressions.
type SpansetOperation struct {
	Op       SpansetOp
	LHS, RHS SpansetExpr
}

// ScalarFilter keeps the spansets whose aggregate comparison holds, as in
// "count() > 3" or "avg(duration) > 20ms". Op is a comparison operator.
type ScalarFilter struct {
	Op       Op
	LHS, RHS Expr
}

// GroupBy splits every spanset by the value of Expr, as in
// "by(resource.service.name)".
type GroupBy struct {
	Expr Expr
}

// Select adds the values of Fields to the matched spans it returns.
type Select struct {
	Fields []*Field
}

// Coalesce merges all spansets into one.
type Coalesce struct{}

func (*SpansetFilter) stage()    {}
func (*SpansetOperation) stage() {}
func (*Pipeline) stage()         {}
func (*ScalarFilter) stage()     {}
func (*GroupBy) stage()          {}
func (*Select) stage()           {}
func (*Coalesce) stage()         {}

func (*SpansetFilter) spansetExpr()    {}
func (*SpansetOperation) spansetExpr() {}
func (*Pipeline) spansetExpr()         {}

// Expr is a field expression inside a spanset filter (or an aggregate
// expression in a scalar filter): a *BinaryExpr, *UnaryExpr, *Static,
// *Field or *Aggregate.
type Expr interface {
	String() string
	expr()
}

// BinaryExpr applies a logical, comparison or arithmetic operator.
type BinaryExpr struct {
	Op       Op
	LHS, RHS Expr

	// re is the anchored pattern of =~ and !~, compiled by the parser.
	re *regexp.Regexp
	// nilCmp is set when one operand is the nil literal: = and != then
	// test whether the other operand has a value at all.
	nilCmp bool
	// id is set for = and != between an ID intrinsic and a string literal,
	// which then compare as IDs.
	id *idLiteral
}

// UnaryExpr applies OpNot or OpNeg.
type UnaryExpr struct {
	Op   Op
	Expr Expr
}

// Field is an attribute (Intrinsic == IntrinsicNone) or an intrinsic.
type Field struct {
	Scope     Scope
	Name      string
	Intrinsic Intrinsic
}

// Aggregate is count(), avg(x), min(x), max(x) or sum(x) over a spanset.
// Expr is nil for count().
type Aggregate struct {
	Func AggregateFunc
	Expr Expr
}

func (*BinaryExpr) expr() {}
func (*UnaryExpr) expr()  {}
func (*Static) expr()     {}
func (*Field) expr()      {}
func (*Aggregate) expr()  {}

// MetricsStage is the metrics function that ends a metrics query, as in
// "| quantile_over_time(duration, 0.5, 0.99) by (resource.service.name)".
type MetricsStage struct {
	Func MetricsFunc
	// Field is the argument of the *_over_time functions.
	Field *Field
	// Quantiles are the quantiles of quantile_over_time, each in [0, 1].
	Quantiles []float64
	// Compare holds the arguments of compare().
	Compare *CompareArgs
	// By lists the fields that split the result into series.
	By []*Field
	// Filter, if not nil, keeps only samples whose value satisfies it.
	Filter *MetricsFilter
	// TopK, if not nil, keeps the k highest (or lowest) series.
	TopK *TopK
}

// CompareArgs are the arguments of compare(selection, topN, start, end).
// StartUnixNano and EndUnixNano are 0 when not given.
type CompareArgs struct {
	Selection     *SpansetFilter
	TopN          int
	StartUnixNano int64
	EndUnixNano   int64
}

// MetricsFilter is a comparison applied to metrics samples, as in "> 10".
type MetricsFilter struct {
	Op    Op
	Value float64
}

// TopK is "| topk(n)" or "| bottomk(n)".
type TopK struct {
	Bottom bool
	N      int
}

// Scope says where an attribute is looked up.
type Scope uint8

// Attribute scopes. ScopeNone is the unscoped ".name", which matches a span
// attribute or a resource attribute of that name.
const (
	ScopeNone Scope = iota
	ScopeSpan
	ScopeResource
	ScopeEvent
	ScopeLink
	ScopeInstrumentation
)

var scopeNames = [...]string{"", "span", "resource", "event", "link", "instrumentation"}

// String returns the scope's name as written before the dot ("" for none).
func (s Scope) String() string {
	if int(s) < len(scopeNames) {
		return scopeNames[s]
	}
	return ""
}

func scopeByName(name string) (Scope, bool) {
	for i := 1; i < len(scopeNames); i++ {
		if scopeNames[i] == name {
			return Scope(i), true
		}
	}
	return ScopeNone, false
}

// Intrinsic names a built-in field of a span, its trace, events, links or
// instrumentation scope.
type Intrinsic uint8

// Intrinsics. The comment gives the scoped name; some also have a legacy
// unscoped name.
const (
	IntrinsicNone                   Intrinsic = iota
	IntrinsicName                             // span:name, name
	IntrinsicStatus                           // span:status, status
	IntrinsicStatusMessage                    // span:statusMessage, statusMessage
	IntrinsicKind                             // span:kind, kind
	IntrinsicDuration                         // span:duration, duration
	IntrinsicSpanID                           // span:id
	IntrinsicParentID                         // span:parentID
	IntrinsicChildCount                       // span:childCount, childCount
	IntrinsicTraceDuration                    // trace:duration, traceDuration
	IntrinsicTraceRootName                    // trace:rootName, rootName
	IntrinsicTraceRootService                 // trace:rootService, rootServiceName
	IntrinsicTraceID                          // trace:id
	IntrinsicEventName                        // event:name
	IntrinsicEventTimeSinceStart              // event:timeSinceStart
	IntrinsicLinkTraceID                      // link:traceID
	IntrinsicLinkSpanID                       // link:spanID
	IntrinsicInstrumentationName              // instrumentation:name
	IntrinsicInstrumentationVersion           // instrumentation:version
)

type intrinsicInfo struct {
	scoped string
	legacy string
	typ    Type
}

var intrinsicTable = [...]intrinsicInfo{
	IntrinsicNone:                   {},
	IntrinsicName:                   {"span:name", "name", TypeString},
	IntrinsicStatus:                 {"span:status", "status", TypeStatus},
	IntrinsicStatusMessage:          {"span:statusMessage", "statusMessage", TypeString},
	IntrinsicKind:                   {"span:kind", "kind", TypeKind},
	IntrinsicDuration:               {"span:duration", "duration", TypeDuration},
	IntrinsicSpanID:                 {"span:id", "", TypeString},
	IntrinsicParentID:               {"span:parentID", "", TypeString},
	IntrinsicChildCount:             {"span:childCount", "childCount", TypeInt},
	IntrinsicTraceDuration:          {"trace:duration", "traceDuration", TypeDuration},
	IntrinsicTraceRootName:          {"trace:rootName", "rootName", TypeString},
	IntrinsicTraceRootService:       {"trace:rootService", "rootServiceName", TypeString},
	IntrinsicTraceID:                {"trace:id", "", TypeString},
	IntrinsicEventName:              {"event:name", "", TypeString},
	IntrinsicEventTimeSinceStart:    {"event:timeSinceStart", "", TypeDuration},
	IntrinsicLinkTraceID:            {"link:traceID", "", TypeString},
	IntrinsicLinkSpanID:             {"link:spanID", "", TypeString},
	IntrinsicInstrumentationName:    {"instrumentation:name", "", TypeString},
	IntrinsicInstrumentationVersion: {"instrumentation:version", "", TypeString},
}

// String returns the intrinsic's scoped name, such as "span:name".
func (i Intrinsic) String() string {
	if int(i) < len(intrinsicTable) {
		return intrinsicTable[i].scoped
	}
	return ""
}

// Type returns the type of the intrinsic's values.
func (i Intrinsic) Type() Type {
	if int(i) < len(intrinsicTable) {
		return intrinsicTable[i].typ
	}
	return TypeNil
}

// intrinsicByScopedName looks up "span:name" style names.
func intrinsicByScopedName(s string) (Intrinsic, bool) {
	for i := 1; i < len(intrinsicTable); i++ {
		if intrinsicTable[i].scoped == s {
			return Intrinsic(i), true
		}
	}
	return IntrinsicNone, false
}

// intrinsicByLegacyName looks up unscoped names such as "duration".
func intrinsicByLegacyName(s string) (Intrinsic, bool) {
	for i := 1; i < len(intrinsicTable); i++ {
		if intrinsicTable[i].legacy != "" && intrinsicTable[i].legacy == s {
			return Intrinsic(i), true
		}
	}
	return IntrinsicNone, false
}

// traceLevel reports whether every span of a trace has the same value of i.
func (i Intrinsic) traceLevel() bool {
	switch i {
	case IntrinsicTraceDuration, IntrinsicTraceRootName, IntrinsicTraceRootService, IntrinsicTraceID:
		return true
	}
	return false
}

// multiValued reports whether a span may hold several values of f: event
// and link fields have one value per event or link, and the unscoped
// ".name" one per scope (span and resource) that has it.
func (f *Field) multiValued() bool {
	switch f.Intrinsic {
	case IntrinsicNone:
		return f.Scope == ScopeNone || f.Scope == ScopeEvent || f.Scope == ScopeLink
	case IntrinsicEventName, IntrinsicEventTimeSinceStart, IntrinsicLinkTraceID, IntrinsicLinkSpanID:
		return true
	}
	return false
}

// Op is an operator of a field or scalar expression.
type Op uint8

// Operators.
const (
	OpNone Op = iota
	OpAnd
	OpOr
	OpNot
	OpEq
	OpNeq
	OpGt
	OpGte
	OpLt
	OpLte
	OpRegex
	OpNotRegex
	OpAdd
	OpSub
	OpMul
	OpDiv
	OpMod
	OpPow
	OpNeg
)

var opText = [...]string{"", "&&", "||", "!", "=", "!=", ">", ">=", "<", "<=", "=~", "!~", "+", "-", "*", "/", "%", "^", "-"}

// String returns the operator as written in a query.
func (o Op) String() string {
	if int(o) < len(opText) {
		return opText[o]
	}
	return ""
}

// isComparison reports whether o compares two values.
func (o Op) isComparison() bool { return o >= OpEq && o <= OpNotRegex }

// isArithmetic reports whether o is a binary arithmetic operator.
func (o Op) isArithmetic() bool { return o >= OpAdd && o <= OpPow }

// isOrdering reports whether o is <, <=, > or >=.
func (o Op) isOrdering() bool { return o >= OpGt && o <= OpLte }

// flip returns the operator that gives the same result with the operands
// swapped.
func (o Op) flip() Op {
	switch o {
	case OpGt:
		return OpLt
	case OpGte:
		return OpLte
	case OpLt:
		return OpGt
	case OpLte:
		return OpGte
	}
	return o
}

// SpansetOp is an operator between two spanset expressions.
type SpansetOp uint8

// Spanset operators. For the structural ones, {A} op {B} returns the B
// spans in the relation (the union variants return the spans of both
// sides; the negated ones the B spans not in the relation).
const (
	SpansetAnd             SpansetOp = iota // {A} && {B}: both matched in the trace
	SpansetOr                               // {A} || {B}: either matched
	SpansetChild                            // {A} > {B}: B is a child of an A span
	SpansetParent                           // {A} < {B}: B is the parent of an A span
	SpansetDescendant                       // {A} >> {B}: B is a descendant of an A span
	SpansetAncestor                         // {A} << {B}: B is an ancestor of an A span
	SpansetSibling                          // {A} ~ {B}: B is a sibling of an A span
	SpansetNotChild                         // {A} !> {B}
	SpansetNotParent                        // {A} !< {B}
	SpansetNotDescendant                    // {A} !>> {B}
	SpansetNotAncestor                      // {A} !<< {B}
	SpansetNotSibling                       // {A} !~ {B}
	SpansetUnionChild                       // {A} &> {B}
	SpansetUnionParent                      // {A} &< {B}
	SpansetUnionDescendant                  // {A} &>> {B}
	SpansetUnionAncestor                    // {A} &<< {B}
	SpansetUnionSibling                     // {A} &~ {B}
)

var spansetOpText = [...]string{"&&", "||", ">", "<", ">>", "<<", "~", "!>", "!<", "!>>", "!<<", "!~", "&>", "&<", "&>>", "&<<", "&~"}

// String returns the operator as written in a query.
func (o SpansetOp) String() string {
	if int(o) < len(spansetOpText) {
		return spansetOpText[o]
	}
	return ""
}

// relation returns the positive structural relation behind o, and whether o
// is negated or a union. It returns ok=false for && and ||.
func (o SpansetOp) relation() (rel SpansetOp, negated, union, ok bool) {
	switch {
	case o >= SpansetChild && o <= SpansetSibling:
		return o, false, false, true
	case o >= SpansetNotChild && o <= SpansetNotSibling:
		return o - SpansetNotChild + SpansetChild, true, false, true
	case o >= SpansetUnionChild && o <= SpansetUnionSibling:
		return o - SpansetUnionChild + SpansetChild, false, true, true
	}
	return 0, false, false, false
}

// AggregateFunc is an aggregate of a scalar filter.
type AggregateFunc uint8

// Aggregate functions.
const (
	AggregateCount AggregateFunc = iota
	AggregateAvg
	AggregateMin
	AggregateMax
	AggregateSum
)

var aggregateNames = [...]string{"count", "avg", "min", "max", "sum"}

// String returns the function's name.
func (a AggregateFunc) String() string {
	if int(a) < len(aggregateNames) {
		return aggregateNames[a]
	}
	return ""
}

// MetricsFunc is a TraceQL metrics function.
type MetricsFunc uint8

// Metrics functions.
const (
	MetricsRate MetricsFunc = iota
	MetricsCountOverTime
	MetricsSumOverTime
	MetricsMinOverTime
	MetricsMaxOverTime
	MetricsAvgOverTime
	MetricsQuantileOverTime
	MetricsHistogramOverTime
	MetricsCompare
)

var metricsNames = [...]string{"rate", "count_over_time", "sum_over_time", "min_over_time", "max_over_time",
	"avg_over_time", "quantile_over_time", "histogram_over_time", "compare"}

// String returns the function's name.
func (m MetricsFunc) String() string {
	if int(m) < len(metricsNames) {
		return metricsNames[m]
	}
	return ""
}

func metricsByName(s string) (MetricsFunc, bool) {
	for i, n := range metricsNames {
		if n == s {
			return MetricsFunc(i), true
		}
	}
	return 0, false
}

// idLiteral is the binary form of a string literal compared with an ID
// intrinsic. valid is false when the literal is not hex of a usable width,
// so it equals no ID.
type idLiteral struct {
	trace model.TraceID
	span  model.SpanID
	valid bool
}
