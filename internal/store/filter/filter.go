// Package filter defines span search requests and their exact matching
// semantics. The head evaluates them on spans in memory; the block reader
// pushes what it can down to Parquet columns and then calls the same
// MatchSpan, so a search means the same thing wherever the data lives.
//
// It imports only model.
package filter

import (
	"fmt"
	"regexp"
	"slices"

	"waymark/internal/model"
)

// Op is a comparison operator.
type Op uint8

// Comparison operators.
const (
	OpEq Op = iota
	OpNotEq
	OpRegex
	OpNotRegex
	OpGt
	OpGe
	OpLt
	OpLe
	OpExists
)

// Scope says where a condition's key is looked up.
type Scope uint8

// Scopes. ScopeAny looks in span attributes first, then resource attributes.
// ScopeIntrinsic keys are the span's own fields: "name", "kind", "status",
// "statusMessage", "duration" (ns).
const (
	ScopeAny Scope = iota
	ScopeSpan
	ScopeResource
	ScopeIntrinsic
)

// Intrinsic keys.
const (
	IntrinsicName          = "name"
	IntrinsicKind          = "kind"
	IntrinsicStatus        = "status"
	IntrinsicStatusMessage = "statusMessage"
	IntrinsicDuration      = "duration"
)

// Condition compares one field of a span with a value.
//
// Equality between a string condition value and a non-string attribute
// compares the attribute's text form, so the Jaeger tag filter
// "http.status_code=500" matches the int attribute 500.
type Condition struct {
	Scope Scope
	Key   string
	Op    Op
	Value model.Value
	// Regexp is the compiled pattern of OpRegex and OpNotRegex; Compile sets it.
	Regexp *regexp.Regexp
}

// Request is a search: find traces in which at least one span satisfies every
// condition and the duration bounds, within the time range.
type Request struct {
	// StartUnixNano and EndUnixNano bound the span start time; 0 means unbounded.
	StartUnixNano uint64
	EndUnixNano   uint64
	// Conditions must all hold on one span.
	Conditions []Condition
	// MinDurationNano and MaxDurationNano bound that span's duration; 0 means unbounded.
	MinDurationNano uint64
	MaxDurationNano uint64
	// Limit is the number of traces wanted; 0 means no limit.
	Limit int
	// Projection, if not nil, names the span fields the caller needs; a
	// source may then fill in only those (see Projection). Nil means whole
	// spans. It never changes which spans match.
	Projection *Projection
}

// ProjectedField is a set of span fields a Projection asks for.
type ProjectedField uint16

// Span fields of a Projection. A span's TraceID and StartTimeUnixNano are
// always filled in.
const (
	// FieldDuration fills in EndTimeUnixNano; without it EndTimeUnixNano
	// equals StartTimeUnixNano.
	FieldDuration ProjectedField = 1 << iota
	FieldName
	FieldKind
	// FieldStatus fills in StatusCode and StatusMessage.
	FieldStatus
	FieldSpanID
	FieldParentSpanID
	// FieldServiceName fills in Resource (nil when the span has none) with
	// its ServiceName.
	FieldServiceName
)

// Projection names the fields of the spans a search returns that the
// caller reads. A source honouring it leaves the other fields zero: a
// projected span has its TraceID, StartTimeUnixNano, the Fields asked for,
// the span attributes whose keys are in SpanAttributes (every entry of
// such a key, in stored order, so Attributes.Get finds what it finds on
// the whole span), and, when FieldServiceName is set or ResourceAttributes
// is not empty, a Resource with its ServiceName and the attributes whose
// keys are in ResourceAttributes, except that a resource attribute
// "service.name" may be left out when ServiceName is not empty (lookups of
// service.name read ServiceName first). Sources may also return whole
// spans (the head does), so callers must not rely on fields being absent.
//
// A source honouring a projection may reuse a Match's Spans slice and the
// spans' Attributes after the callback returns: the callback must copy
// what it keeps (see CloneSpans).
type Projection struct {
	Fields             ProjectedField
	SpanAttributes     []string
	ResourceAttributes []string
}

// Has reports whether p asks for every field in f.
func (p *Projection) Has(f ProjectedField) bool { return p.Fields&f == f }

// Apply returns the projection of whole span s: the span a source
// honouring p gives for it, with the resource's service.name attribute
// kept. It allocates the attributes and resource it returns, so it is
// meant for checking sources, not for scans.
func (p *Projection) Apply(s *model.Span) model.Span {
	out := model.Span{TraceID: s.TraceID, StartTimeUnixNano: s.StartTimeUnixNano, EndTimeUnixNano: s.StartTimeUnixNano}
	if p.Has(FieldDuration) {
		out.EndTimeUnixNano = s.EndTimeUnixNano
	}
	if p.Has(FieldName) {
		out.Name = s.Name
	}
	if p.Has(FieldKind) {
		out.Kind = s.Kind
	}
	if p.Has(FieldStatus) {
		out.StatusCode, out.StatusMessage = s.StatusCode, s.StatusMessage
	}
	if p.Has(FieldSpanID) {
		out.SpanID = s.SpanID
	}
	if p.Has(FieldParentSpanID) {
		out.ParentSpanID = s.ParentSpanID
	}
	out.Attributes = pickAttrs(s.Attributes, p.SpanAttributes)
	if s.Resource != nil && (p.Has(FieldServiceName) || len(p.ResourceAttributes) > 0) {
		out.Resource = &model.Resource{ServiceName: s.Resource.ServiceName, Attributes: pickAttrs(s.Resource.Attributes, p.ResourceAttributes)}
	}
	return out
}

// pickAttrs returns the entries of attrs with a key in keys, or nil.
func pickAttrs(attrs model.Attributes, keys []string) model.Attributes {
	var out model.Attributes
	for _, a := range attrs {
		if slices.Contains(keys, a.Key) {
			out = append(out, a)
		}
	}
	return out
}

// CloneSpans returns a copy of spans that shares nothing a projected search
// may reuse: the slice and each span's Attributes are copied.
func CloneSpans(spans []model.Span) []model.Span {
	out := make([]model.Span, len(spans))
	copy(out, spans)
	for i := range out {
		if out[i].Attributes != nil {
			out[i].Attributes = append(model.Attributes(nil), out[i].Attributes...)
		}
	}
	return out
}

// Compile prepares the regular expressions of r's conditions; call it once
// before MatchSpan. It reports a bad pattern with the condition's key.
func (r *Request) Compile() error {
	for i := range r.Conditions {
		c := &r.Conditions[i]
		if (c.Op == OpRegex || c.Op == OpNotRegex) && c.Regexp == nil {
			re, err := regexp.Compile(c.Value.AsString())
			if err != nil {
				return fmt.Errorf("condition on %q: %w", c.Key, err)
			}
			c.Regexp = re
		}
	}
	if r.MaxDurationNano != 0 && r.MinDurationNano > r.MaxDurationNano {
		return fmt.Errorf("min duration %d ns is greater than max duration %d ns", r.MinDurationNano, r.MaxDurationNano)
	}
	return nil
}

// ServiceName returns the value of an equality condition on the resource's
// service.name, if the request has one (used to skip whole blocks).
func (r *Request) ServiceName() (string, bool) {
	for _, c := range r.Conditions {
		if c.Op == OpEq && (c.Scope == ScopeResource || c.Scope == ScopeAny) && c.Key == "service.name" && c.Value.Type == model.ValueString {
			return c.Value.Str, true
		}
	}
	return "", false
}

// InTimeRange reports whether a span starting at start falls in r's range.
func (r *Request) InTimeRange(start uint64) bool {
	if r.StartUnixNano != 0 && start < r.StartUnixNano {
		return false
	}
	if r.EndUnixNano != 0 && start > r.EndUnixNano {
		return false
	}
	return true
}

// MatchSpan reports whether s satisfies the time range, the duration bounds
// and every condition. Compile must have been called.
func (r *Request) MatchSpan(s *model.Span) bool {
	if !r.InTimeRange(s.StartTimeUnixNano) {
		return false
	}
	if r.MinDurationNano != 0 || r.MaxDurationNano != 0 {
		d := s.DurationNano()
		if d < r.MinDurationNano || (r.MaxDurationNano != 0 && d > r.MaxDurationNano) {
			return false
		}
	}
	for i := range r.Conditions {
		if !r.Conditions[i].Match(s) {
			return false
		}
	}
	return true
}

// Lookup returns the value of c's key on s.
func (c *Condition) Lookup(s *model.Span) (model.Value, bool) {
	switch c.Scope {
	case ScopeIntrinsic:
		switch c.Key {
		case IntrinsicName:
			return model.StringValue(s.Name), true
		case IntrinsicKind:
			return model.StringValue(s.Kind.String()), true
		case IntrinsicStatus:
			return model.StringValue(s.StatusCode.String()), true
		case IntrinsicStatusMessage:
			return model.StringValue(s.StatusMessage), true
		case IntrinsicDuration:
			return model.IntValue(int64(s.DurationNano())), true
		}
		return model.Value{}, false
	case ScopeSpan:
		return s.Attributes.Get(c.Key)
	case ScopeResource:
		if s.Resource == nil {
			return model.Value{}, false
		}
		if c.Key == "service.name" {
			return model.StringValue(s.Resource.ServiceName), true
		}
		return s.Resource.Attributes.Get(c.Key)
	default:
		if v, ok := s.Attributes.Get(c.Key); ok {
			return v, true
		}
		if s.Resource != nil {
			if c.Key == "service.name" {
				return model.StringValue(s.Resource.ServiceName), true
			}
			return s.Resource.Attributes.Get(c.Key)
		}
		return model.Value{}, false
	}
}

// Match reports whether s satisfies c.
func (c *Condition) Match(s *model.Span) bool {
	v, ok := c.Lookup(s)
	if c.Op == OpExists {
		return ok
	}
	if !ok {
		return c.Op == OpNotEq || c.Op == OpNotRegex
	}
	return c.MatchValue(v)
}

// MatchValue compares v with the condition's value.
func (c *Condition) MatchValue(v model.Value) bool {
	switch c.Op {
	case OpExists:
		return true
	case OpRegex:
		return c.Regexp != nil && c.Regexp.MatchString(v.AsString())
	case OpNotRegex:
		return c.Regexp != nil && !c.Regexp.MatchString(v.AsString())
	case OpEq:
		return compare(v, c.Value) == 0
	case OpNotEq:
		return compare(v, c.Value) != 0
	}
	cmp := compare(v, c.Value)
	if cmp == incomparable {
		return false
	}
	switch c.Op {
	case OpGt:
		return cmp > 0
	case OpGe:
		return cmp >= 0
	case OpLt:
		return cmp < 0
	case OpLe:
		return cmp <= 0
	}
	return false
}

const incomparable = 2

// compare orders a against b: -1, 0, 1, or incomparable. Numbers compare
// numerically across int and double; a string against a non-string compares
// text forms.
func compare(a, b model.Value) int {
	if af, ok := a.AsFloat(); ok {
		if bf, ok := b.AsFloat(); ok {
			switch {
			case af < bf:
				return -1
			case af > bf:
				return 1
			}
			return 0
		}
	}
	if a.Type == model.ValueBool && b.Type == model.ValueBool {
		if a.Int == b.Int {
			return 0
		}
		return incomparable
	}
	as, bs := a.AsString(), b.AsString()
	if a.Type != b.Type && a.Type != model.ValueString && b.Type != model.ValueString {
		return incomparable
	}
	switch {
	case as < bs:
		return -1
	case as > bs:
		return 1
	}
	return 0
}

// Match is one trace found by a search: its ID, the spans that matched
// (in the order found), and the trace's time bounds as seen by the source.
type Match struct {
	TraceID model.TraceID
	// StartUnixNano is the earliest start among the trace's spans in the source
	// (at least of the matched spans); results sort newest-first by it.
	StartUnixNano uint64
	// EndUnixNano is the latest end among the spans the source saw.
	EndUnixNano uint64
	Spans       []model.Span
}
