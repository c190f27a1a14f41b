package otlp

import (
	"encoding/binary"
	"math"

	"waymark/internal/model"
)

// This file encodes model spans straight into an OTLP
// ExportTraceServiceRequest, skipping the pdata object graph: the agent
// does this for every batch a stage changed, and the generic path costs
// several times more. Spans are grouped as model.TracesFromSpans groups
// them: consecutive spans sharing a *Resource form one ResourceSpans, and
// consecutive spans sharing a *Scope one ScopeSpans. Sizes are computed in
// a first pass, so every length prefix is minimal and the output buffer is
// allocated once.

// Protobuf wire types.
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
	wireFixed32 = 5
)

// requestEncoder holds the sizes computed by the first pass.
type requestEncoder struct {
	spanSizes     []int
	resourceSizes []int // one per ResourceSpans, in order
	scopeSizes    []int // one per ScopeSpans, in order
}

// encodable reports whether every attribute value has a direct encoding;
// array and map values (kept as JSON in the model) take the pdata path.
func encodable(spans []model.Span) bool {
	ok := func(attrs model.Attributes) bool {
		for i := range attrs {
			if t := attrs[i].Value.Type; t == model.ValueArray || t == model.ValueMap {
				return false
			}
		}
		return true
	}
	var lastRes *model.Resource
	var lastScope *model.Scope
	for i := range spans {
		s := &spans[i]
		if !ok(s.Attributes) {
			return false
		}
		if s.Resource != nil && s.Resource != lastRes && !ok(s.Resource.Attributes) {
			return false
		}
		if s.Scope != nil && s.Scope != lastScope && !ok(s.Scope.Attributes) {
			return false
		}
		lastRes, lastScope = s.Resource, s.Scope
		for j := range s.Events {
			if !ok(s.Events[j].Attributes) {
				return false
			}
		}
		for j := range s.Links {
			if !ok(s.Links[j].Attributes) {
				return false
			}
		}
	}
	return true
}

// size runs the first pass and returns the request's encoded size.
func (e *requestEncoder) size(spans []model.Span) int {
	e.spanSizes = e.spanSizes[:0]
	e.resourceSizes = e.resourceSizes[:0]
	e.scopeSizes = e.scopeSizes[:0]
	total := 0
	for i := 0; i < len(spans); {
		res := spans[i].Resource
		rs := messageField(resourceSize(res))
		for i < len(spans) && spans[i].Resource == res {
			scope := spans[i].Scope
			ss := messageField(scopeSize(scope))
			for i < len(spans) && spans[i].Resource == res && spans[i].Scope == scope {
				n := spanSize(&spans[i])
				e.spanSizes = append(e.spanSizes, n)
				ss += lenField(n)
				i++
			}
			e.scopeSizes = append(e.scopeSizes, ss)
			rs += lenField(ss)
		}
		e.resourceSizes = append(e.resourceSizes, rs)
		total += lenField(rs)
	}
	return total
}

// appendRequest runs the second pass; size must have run on spans.
func (e *requestEncoder) appendRequest(dst []byte, spans []model.Span) []byte {
	ri, si := 0, 0
	for i := 0; i < len(spans); {
		res := spans[i].Resource
		dst = appendLen(dst, 1, e.resourceSizes[ri])
		ri++
		if n := resourceSize(res); n > 0 {
			dst = appendResource(appendLen(dst, 1, n), res)
		}
		for i < len(spans) && spans[i].Resource == res {
			scope := spans[i].Scope
			dst = appendLen(dst, 2, e.scopeSizes[si])
			si++
			if n := scopeSize(scope); n > 0 {
				dst = appendScope(appendLen(dst, 1, n), scope)
			}
			for i < len(spans) && spans[i].Resource == res && spans[i].Scope == scope {
				dst = appendSpan(appendLen(dst, 2, e.spanSizes[i]), &spans[i])
				i++
			}
		}
	}
	return dst
}

func resourceSize(r *model.Resource) int {
	if r == nil {
		return 0
	}
	return attributesSize(r.Attributes) + varintField(uint64(r.DroppedAttributesCount))
}

func appendResource(dst []byte, r *model.Resource) []byte {
	dst = appendAttributes(dst, 1, r.Attributes)
	return appendVarintField(dst, 2, uint64(r.DroppedAttributesCount))
}

func scopeSize(s *model.Scope) int {
	if s == nil {
		return 0
	}
	return stringField(s.Name) + stringField(s.Version) + attributesSize(s.Attributes) + varintField(uint64(s.DroppedAttributesCount))
}

func appendScope(dst []byte, s *model.Scope) []byte {
	dst = appendString(dst, 1, s.Name)
	dst = appendString(dst, 2, s.Version)
	dst = appendAttributes(dst, 3, s.Attributes)
	return appendVarintField(dst, 4, uint64(s.DroppedAttributesCount))
}

func spanSize(s *model.Span) int {
	n := lenField(16) + lenField(8) + stringField(s.TraceState) + stringField(s.Name)
	if !s.ParentSpanID.IsZero() {
		n += lenField(8)
	}
	if s.Flags != 0 {
		n += 2 + 4 // field 16 takes a two-byte tag
	}
	n += varintField(uint64(s.Kind)) + fixed64Field(s.StartTimeUnixNano) + fixed64Field(s.EndTimeUnixNano)
	n += attributesSize(s.Attributes) + varintField(uint64(s.DroppedAttributesCount))
	for i := range s.Events {
		n += lenField(eventSize(&s.Events[i]))
	}
	n += varintField(uint64(s.DroppedEventsCount))
	for i := range s.Links {
		n += lenField(linkSize(&s.Links[i]))
	}
	n += varintField(uint64(s.DroppedLinksCount))
	n += messageField(statusSize(s))
	return n
}

func appendSpan(dst []byte, s *model.Span) []byte {
	dst = appendBytes(dst, 1, s.TraceID[:])
	dst = appendBytes(dst, 2, s.SpanID[:])
	dst = appendString(dst, 3, s.TraceState)
	if !s.ParentSpanID.IsZero() {
		dst = appendBytes(dst, 4, s.ParentSpanID[:])
	}
	dst = appendString(dst, 5, s.Name)
	dst = appendVarintField(dst, 6, uint64(s.Kind))
	dst = appendFixed64Field(dst, 7, s.StartTimeUnixNano)
	dst = appendFixed64Field(dst, 8, s.EndTimeUnixNano)
	dst = appendAttributes(dst, 9, s.Attributes)
	dst = appendVarintField(dst, 10, uint64(s.DroppedAttributesCount))
	for i := range s.Events {
		ev := &s.Events[i]
		dst = appendLen(dst, 11, eventSize(ev))
		dst = appendFixed64Field(dst, 1, ev.TimeUnixNano)
		dst = appendString(dst, 2, ev.Name)
		dst = appendAttributes(dst, 3, ev.Attributes)
		dst = appendVarintField(dst, 4, uint64(ev.DroppedAttributesCount))
	}
	dst = appendVarintField(dst, 12, uint64(s.DroppedEventsCount))
	for i := range s.Links {
		l := &s.Links[i]
		dst = appendLen(dst, 13, linkSize(l))
		dst = appendBytes(dst, 1, l.TraceID[:])
		dst = appendBytes(dst, 2, l.SpanID[:])
		dst = appendString(dst, 3, l.TraceState)
		dst = appendAttributes(dst, 4, l.Attributes)
		dst = appendVarintField(dst, 5, uint64(l.DroppedAttributesCount))
		if l.Flags != 0 {
			dst = binary.LittleEndian.AppendUint32(appendTag(dst, 6, wireFixed32), l.Flags)
		}
	}
	dst = appendVarintField(dst, 14, uint64(s.DroppedLinksCount))
	if n := statusSize(s); n > 0 {
		dst = appendLen(dst, 15, n)
		dst = appendString(dst, 2, s.StatusMessage)
		dst = appendVarintField(dst, 3, uint64(s.StatusCode))
	}
	if s.Flags != 0 {
		dst = binary.LittleEndian.AppendUint32(appendTag(dst, 16, wireFixed32), s.Flags)
	}
	return dst
}

func eventSize(e *model.Event) int {
	return fixed64Field(e.TimeUnixNano) + stringField(e.Name) + attributesSize(e.Attributes) + varintField(uint64(e.DroppedAttributesCount))
}

func linkSize(l *model.Link) int {
	n := lenField(16) + lenField(8) + stringField(l.TraceState) + attributesSize(l.Attributes) + varintField(uint64(l.DroppedAttributesCount))
	if l.Flags != 0 {
		n += 1 + 4
	}
	return n
}

func statusSize(s *model.Span) int {
	return stringField(s.StatusMessage) + varintField(uint64(s.StatusCode))
}

// attributesSize is the size of attrs as a repeated KeyValue field.
func attributesSize(attrs model.Attributes) int {
	n := 0
	for i := range attrs {
		n += lenField(keyValueSize(&attrs[i]))
	}
	return n
}

func appendAttributes(dst []byte, field int, attrs model.Attributes) []byte {
	for i := range attrs {
		a := &attrs[i]
		dst = appendLen(dst, field, keyValueSize(a))
		dst = appendString(dst, 1, a.Key)
		dst = appendLen(dst, 2, anyValueSize(a.Value))
		dst = appendAnyValue(dst, a.Value)
	}
	return dst
}

// keyValueSize counts the value field even when empty: AnyValue is a oneof,
// and an attribute always carries one.
func keyValueSize(a *model.Attribute) int {
	return stringField(a.Key) + lenField(anyValueSize(a.Value))
}

// anyValueSize encodes the oneof member even at its zero value, so an empty
// string stays a string and false stays a bool.
func anyValueSize(v model.Value) int {
	switch v.Type {
	case model.ValueString:
		return lenField(len(v.Str))
	case model.ValueBool:
		return 2
	case model.ValueInt:
		return 1 + varintLen(uint64(v.Int))
	case model.ValueDouble:
		return 1 + 8
	case model.ValueBytes:
		return lenField(len(v.Str))
	}
	return 0
}

func appendAnyValue(dst []byte, v model.Value) []byte {
	switch v.Type {
	case model.ValueString:
		return append(appendLen(dst, 1, len(v.Str)), v.Str...)
	case model.ValueBool:
		return append(appendTag(dst, 2, wireVarint), byte(v.Int&1))
	case model.ValueInt:
		return binary.AppendUvarint(appendTag(dst, 3, wireVarint), uint64(v.Int))
	case model.ValueDouble:
		return binary.LittleEndian.AppendUint64(appendTag(dst, 4, wireFixed64), math.Float64bits(v.Double))
	case model.ValueBytes:
		return append(appendLen(dst, 7, len(v.Str)), v.Str...)
	}
	return dst
}

// Field sizes for field numbers below 16 (one-byte tags).

func lenField(n int) int { return 1 + varintLen(uint64(n)) + n }

func messageField(n int) int {
	if n == 0 {
		return 0
	}
	return lenField(n)
}

func stringField(s string) int {
	if s == "" {
		return 0
	}
	return lenField(len(s))
}

func varintField(v uint64) int {
	if v == 0 {
		return 0
	}
	return 1 + varintLen(v)
}

func fixed64Field(v uint64) int {
	if v == 0 {
		return 0
	}
	return 1 + 8
}

func varintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func appendTag(dst []byte, field, wire int) []byte {
	return binary.AppendUvarint(dst, uint64(field)<<3|uint64(wire))
}

func appendLen(dst []byte, field, n int) []byte {
	return binary.AppendUvarint(appendTag(dst, field, wireBytes), uint64(n))
}

func appendBytes(dst []byte, field int, b []byte) []byte {
	return append(appendLen(dst, field, len(b)), b...)
}

func appendString(dst []byte, field int, s string) []byte {
	if s == "" {
		return dst
	}
	return append(appendLen(dst, field, len(s)), s...)
}

func appendVarintField(dst []byte, field int, v uint64) []byte {
	if v == 0 {
		return dst
	}
	return binary.AppendUvarint(appendTag(dst, field, wireVarint), v)
}

func appendFixed64Field(dst []byte, field int, v uint64) []byte {
	if v == 0 {
		return dst
	}
	return binary.LittleEndian.AppendUint64(appendTag(dst, field, wireFixed64), v)
}
