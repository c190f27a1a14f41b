package model

import (
	"encoding/json"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// SpansFromTraces appends the spans of td to dst. Spans of one
// ResourceSpans share one *Resource, and of one ScopeSpans one *Scope.
// Strings are shared with td, so td must not be changed afterwards.
func SpansFromTraces(dst []Span, td ptrace.Traces) []Span {
	rss := td.ResourceSpans()
	if n := td.SpanCount(); cap(dst)-len(dst) < n {
		grown := make([]Span, len(dst), len(dst)+n)
		copy(grown, dst)
		dst = grown
	}
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		res := resourceFrom(rs.Resource())
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			sc := ss.Scope()
			scope := &Scope{Name: sc.Name(), Version: sc.Version(), Attributes: attributesFrom(sc.Attributes()), DroppedAttributesCount: sc.DroppedAttributesCount()}
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				dst = append(dst, spanFrom(spans.At(k), res, scope))
			}
		}
	}
	return dst
}

func resourceFrom(r pcommon.Resource) *Resource {
	attrs := attributesFrom(r.Attributes())
	res := &Resource{Attributes: attrs, DroppedAttributesCount: r.DroppedAttributesCount()}
	if v, ok := attrs.Get("service.name"); ok {
		res.ServiceName = v.AsString()
	}
	return res
}

func spanFrom(s ptrace.Span, res *Resource, scope *Scope) Span {
	out := Span{
		TraceID:                TraceID(s.TraceID()),
		SpanID:                 SpanID(s.SpanID()),
		ParentSpanID:           SpanID(s.ParentSpanID()),
		TraceState:             s.TraceState().AsRaw(),
		Flags:                  s.Flags(),
		Name:                   s.Name(),
		StartTimeUnixNano:      uint64(s.StartTimestamp()),
		EndTimeUnixNano:        uint64(s.EndTimestamp()),
		StatusMessage:          s.Status().Message(),
		Attributes:             attributesFrom(s.Attributes()),
		DroppedAttributesCount: s.DroppedAttributesCount(),
		DroppedEventsCount:     s.DroppedEventsCount(),
		DroppedLinksCount:      s.DroppedLinksCount(),
		Resource:               res,
		Scope:                  scope,
	}
	if evs := s.Events(); evs.Len() > 0 {
		out.Events = make([]Event, evs.Len())
		for i := range out.Events {
			e := evs.At(i)
			out.Events[i] = Event{TimeUnixNano: uint64(e.Timestamp()), Name: e.Name(), Attributes: attributesFrom(e.Attributes()), DroppedAttributesCount: e.DroppedAttributesCount()}
		}
	}
	if ls := s.Links(); ls.Len() > 0 {
		out.Links = make([]Link, ls.Len())
		for i := range out.Links {
			l := ls.At(i)
			out.Links[i] = Link{TraceID: TraceID(l.TraceID()), SpanID: SpanID(l.SpanID()), TraceState: l.TraceState().AsRaw(), Flags: l.Flags(), Attributes: attributesFrom(l.Attributes()), DroppedAttributesCount: l.DroppedAttributesCount()}
		}
	}
	// Unknown enum values (any int32 on the wire) become unspecified/unset.
	if k := s.Kind(); k >= 0 && k <= ptrace.SpanKind(KindConsumer) {
		out.Kind = SpanKind(k)
	}
	if c := s.Status().Code(); c >= 0 && c <= ptrace.StatusCode(StatusError) {
		out.StatusCode = StatusCode(c)
	}
	return out
}

func attributesFrom(m pcommon.Map) Attributes {
	if m.Len() == 0 {
		return nil
	}
	attrs := make(Attributes, 0, m.Len())
	for k, v := range m.All() {
		attrs = append(attrs, Attribute{Key: k, Value: valueFrom(v)})
	}
	return attrs
}

func valueFrom(v pcommon.Value) Value {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return Value{Type: ValueString, Str: v.Str()}
	case pcommon.ValueTypeInt:
		return Value{Type: ValueInt, Int: v.Int()}
	case pcommon.ValueTypeDouble:
		return Value{Type: ValueDouble, Double: v.Double()}
	case pcommon.ValueTypeBool:
		return BoolValue(v.Bool())
	case pcommon.ValueTypeBytes:
		return Value{Type: ValueBytes, Str: string(v.Bytes().AsRaw())}
	case pcommon.ValueTypeSlice:
		return Value{Type: ValueArray, Str: v.AsString()}
	case pcommon.ValueTypeMap:
		return Value{Type: ValueMap, Str: v.AsString()}
	}
	return Value{}
}

// TracesFromSpans builds OTLP traces from spans, grouping consecutive spans
// that share a *Resource and *Scope into one ResourceSpans/ScopeSpans.
func TracesFromSpans(spans []Span) ptrace.Traces {
	td := ptrace.NewTraces()
	AppendToTraces(td, spans)
	return td
}

// AppendToTraces adds spans to td, as TracesFromSpans does.
func AppendToTraces(td ptrace.Traces, spans []Span) {
	var (
		lastRes   *Resource
		lastScope *Scope
		rs        ptrace.ResourceSpans
		ss        ptrace.ScopeSpans
		started   bool
	)
	for i := range spans {
		s := &spans[i]
		if !started || s.Resource != lastRes {
			rs = td.ResourceSpans().AppendEmpty()
			if s.Resource != nil {
				putAttributes(rs.Resource().Attributes(), s.Resource.Attributes)
				rs.Resource().SetDroppedAttributesCount(s.Resource.DroppedAttributesCount)
			}
			lastRes, lastScope, started = s.Resource, nil, true
			ss = rs.ScopeSpans().AppendEmpty()
			putScope(ss.Scope(), s.Scope)
			lastScope = s.Scope
		} else if s.Scope != lastScope {
			ss = rs.ScopeSpans().AppendEmpty()
			putScope(ss.Scope(), s.Scope)
			lastScope = s.Scope
		}
		putSpan(ss.Spans().AppendEmpty(), s)
	}
}

func putScope(dst pcommon.InstrumentationScope, sc *Scope) {
	if sc == nil {
		return
	}
	dst.SetName(sc.Name)
	dst.SetVersion(sc.Version)
	putAttributes(dst.Attributes(), sc.Attributes)
	dst.SetDroppedAttributesCount(sc.DroppedAttributesCount)
}

func putSpan(dst ptrace.Span, s *Span) {
	dst.SetTraceID(pcommon.TraceID(s.TraceID))
	dst.SetSpanID(pcommon.SpanID(s.SpanID))
	dst.SetParentSpanID(pcommon.SpanID(s.ParentSpanID))
	if s.TraceState != "" {
		dst.TraceState().FromRaw(s.TraceState)
	}
	dst.SetFlags(s.Flags)
	dst.SetName(s.Name)
	dst.SetKind(ptrace.SpanKind(s.Kind))
	dst.SetStartTimestamp(pcommon.Timestamp(s.StartTimeUnixNano))
	dst.SetEndTimestamp(pcommon.Timestamp(s.EndTimeUnixNano))
	dst.Status().SetCode(ptrace.StatusCode(s.StatusCode))
	dst.Status().SetMessage(s.StatusMessage)
	putAttributes(dst.Attributes(), s.Attributes)
	dst.SetDroppedAttributesCount(s.DroppedAttributesCount)
	dst.SetDroppedEventsCount(s.DroppedEventsCount)
	dst.SetDroppedLinksCount(s.DroppedLinksCount)
	if len(s.Events) > 0 {
		evs := dst.Events()
		evs.EnsureCapacity(len(s.Events))
		for i := range s.Events {
			e := &s.Events[i]
			de := evs.AppendEmpty()
			de.SetTimestamp(pcommon.Timestamp(e.TimeUnixNano))
			de.SetName(e.Name)
			putAttributes(de.Attributes(), e.Attributes)
			de.SetDroppedAttributesCount(e.DroppedAttributesCount)
		}
	}
	if len(s.Links) > 0 {
		ls := dst.Links()
		ls.EnsureCapacity(len(s.Links))
		for i := range s.Links {
			l := &s.Links[i]
			dl := ls.AppendEmpty()
			dl.SetTraceID(pcommon.TraceID(l.TraceID))
			dl.SetSpanID(pcommon.SpanID(l.SpanID))
			if l.TraceState != "" {
				dl.TraceState().FromRaw(l.TraceState)
			}
			dl.SetFlags(l.Flags)
			putAttributes(dl.Attributes(), l.Attributes)
			dl.SetDroppedAttributesCount(l.DroppedAttributesCount)
		}
	}
}

func putAttributes(dst pcommon.Map, attrs Attributes) {
	if len(attrs) == 0 {
		return
	}
	dst.EnsureCapacity(len(attrs))
	for i := range attrs {
		putValue(dst.PutEmpty(attrs[i].Key), attrs[i].Value)
	}
}

func putValue(dst pcommon.Value, v Value) {
	switch v.Type {
	case ValueString:
		dst.SetStr(v.Str)
	case ValueInt:
		dst.SetInt(v.Int)
	case ValueDouble:
		dst.SetDouble(v.Double)
	case ValueBool:
		dst.SetBool(v.Bool())
	case ValueBytes:
		dst.SetEmptyBytes().FromRaw([]byte(v.Str))
	case ValueArray:
		var raw []any
		if json.Unmarshal([]byte(v.Str), &raw) == nil {
			_ = dst.SetEmptySlice().FromRaw(raw)
		} else {
			dst.SetStr(v.Str)
		}
	case ValueMap:
		var raw map[string]any
		if json.Unmarshal([]byte(v.Str), &raw) == nil {
			_ = dst.SetEmptyMap().FromRaw(raw)
		} else {
			dst.SetStr(v.Str)
		}
	}
}
