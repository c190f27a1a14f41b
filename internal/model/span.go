package model

import (
	"math"
	"strconv"
)

// SpanKind follows OTLP: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer.
type SpanKind uint8

// Span kinds, numbered as in OTLP.
const (
	KindUnspecified SpanKind = iota
	KindInternal
	KindServer
	KindClient
	KindProducer
	KindConsumer
)

var kindNames = [...]string{"unspecified", "internal", "server", "client", "producer", "consumer"}

// String returns the lowercase name Jaeger and TraceQL use ("server", "client", ...).
func (k SpanKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unspecified"
}

// ParseSpanKind maps a lowercase kind name back to its SpanKind.
func ParseSpanKind(s string) (SpanKind, bool) {
	for i, n := range kindNames {
		if n == s {
			return SpanKind(i), true
		}
	}
	return KindUnspecified, false
}

// StatusCode follows OTLP: 0 unset, 1 ok, 2 error.
type StatusCode uint8

// Status codes, numbered as in OTLP.
const (
	StatusUnset StatusCode = iota
	StatusOK
	StatusError
)

var statusNames = [...]string{"unset", "ok", "error"}

// String returns "unset", "ok" or "error".
func (c StatusCode) String() string {
	if int(c) < len(statusNames) {
		return statusNames[c]
	}
	return "unset"
}

// ValueType is the type of an attribute value.
type ValueType uint8

// Attribute value types. Array and map values keep their OTLP/JSON encoding in Str.
const (
	ValueEmpty ValueType = iota
	ValueString
	ValueBool
	ValueInt
	ValueDouble
	ValueBytes
	ValueArray
	ValueMap
)

var valueTypeNames = [...]string{"empty", "string", "bool", "int", "double", "bytes", "array", "map"}

// String returns the type's lowercase name.
func (t ValueType) String() string {
	if int(t) < len(valueTypeNames) {
		return valueTypeNames[t]
	}
	return "empty"
}

// Value is a typed attribute value. Str holds strings, raw bytes, and the
// OTLP/JSON encoding of arrays and maps; Int holds ints and bools (0 or 1);
// Double holds doubles.
type Value struct {
	Type   ValueType
	Str    string
	Int    int64
	Double float64
}

// StringValue returns a string Value.
func StringValue(s string) Value { return Value{Type: ValueString, Str: s} }

// IntValue returns an int Value.
func IntValue(i int64) Value { return Value{Type: ValueInt, Int: i} }

// DoubleValue returns a double Value.
func DoubleValue(f float64) Value { return Value{Type: ValueDouble, Double: f} }

// BoolValue returns a bool Value.
func BoolValue(b bool) Value {
	v := Value{Type: ValueBool}
	if b {
		v.Int = 1
	}
	return v
}

// Bool returns the value of a bool Value.
func (v Value) Bool() bool { return v.Int != 0 }

// AsString renders the value as text: strings as they are, numbers in
// decimal, bools as true/false, bytes as raw bytes, arrays and maps as JSON.
func (v Value) AsString() string {
	switch v.Type {
	case ValueInt:
		return strconv.FormatInt(v.Int, 10)
	case ValueDouble:
		return strconv.FormatFloat(v.Double, 'g', -1, 64)
	case ValueBool:
		return strconv.FormatBool(v.Bool())
	default:
		return v.Str
	}
}

// AsFloat returns the value as a number when it is an int or double.
func (v Value) AsFloat() (float64, bool) {
	switch v.Type {
	case ValueInt:
		return float64(v.Int), true
	case ValueDouble:
		return v.Double, true
	}
	return math.NaN(), false
}

// Attribute is one key/value pair.
type Attribute struct {
	Key   string
	Value Value
}

// Attributes is an ordered attribute list; keys are unique within it.
type Attributes []Attribute

// Get returns the value stored under key.
func (a Attributes) Get(key string) (Value, bool) {
	for i := range a {
		if a[i].Key == key {
			return a[i].Value, true
		}
	}
	return Value{}, false
}

// Resource describes the entity that produced spans. Spans of one resource
// share a single *Resource, which must not be changed after it is shared.
type Resource struct {
	// ServiceName is the service.name attribute, kept apart because every
	// query uses it. It is also present in Attributes.
	ServiceName            string
	Attributes             Attributes
	DroppedAttributesCount uint32
}

// Scope is the instrumentation scope that produced spans; shared like Resource.
type Scope struct {
	Name                   string
	Version                string
	Attributes             Attributes
	DroppedAttributesCount uint32
}

// Event is a timestamped annotation on a span (a Jaeger log, a Zipkin annotation).
type Event struct {
	TimeUnixNano           uint64
	Name                   string
	Attributes             Attributes
	DroppedAttributesCount uint32
}

// Link points from a span to another span, possibly in another trace.
type Link struct {
	TraceID                TraceID
	SpanID                 SpanID
	TraceState             string
	Flags                  uint32
	Attributes             Attributes
	DroppedAttributesCount uint32
}

// Span is one span, flattened: it points to its shared Resource and Scope.
type Span struct {
	TraceID                TraceID
	SpanID                 SpanID
	ParentSpanID           SpanID
	TraceState             string
	Flags                  uint32
	Name                   string
	Kind                   SpanKind
	StartTimeUnixNano      uint64
	EndTimeUnixNano        uint64
	StatusCode             StatusCode
	StatusMessage          string
	Attributes             Attributes
	DroppedAttributesCount uint32
	Events                 []Event
	DroppedEventsCount     uint32
	Links                  []Link
	DroppedLinksCount      uint32
	Resource               *Resource
	Scope                  *Scope
}

// DurationNano returns the span's duration in nanoseconds (0 if end < start).
func (s *Span) DurationNano() uint64 {
	if s.EndTimeUnixNano < s.StartTimeUnixNano {
		return 0
	}
	return s.EndTimeUnixNano - s.StartTimeUnixNano
}

// ServiceName returns the service name of the span's resource, or "".
func (s *Span) ServiceName() string {
	if s.Resource == nil {
		return ""
	}
	return s.Resource.ServiceName
}

// IsRoot reports whether the span has no parent.
func (s *Span) IsRoot() bool { return s.ParentSpanID.IsZero() }
