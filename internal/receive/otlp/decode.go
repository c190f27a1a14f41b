package otlp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"

	"waymark/internal/model"
)

// maxValueDepth bounds how deeply array and map attribute values may nest,
// so that no input can exhaust the stack.
const maxValueDepth = 64

// maxInternLen is the longest string the decoder deduplicates. Keys and
// short values repeat across the spans of a batch; long ones rarely do.
const maxInternLen = 128

// internSlots is the size of the string cache of one decoding.
const internSlots = 512

// OTLP field numbers, named as in the .proto files.
const (
	fieldRequestResourceSpans = 1

	fieldResourceSpansResource        = 1
	fieldResourceSpansScopeSpans      = 2
	fieldResourceSpansSchemaURL       = 3
	fieldResourceSpansDeprecatedScope = 1000

	fieldResourceAttributes = 1
	fieldResourceDropped    = 2

	fieldScopeSpansScope     = 1
	fieldScopeSpansSpans     = 2
	fieldScopeSpansSchemaURL = 3

	fieldScopeName       = 1
	fieldScopeVersion    = 2
	fieldScopeAttributes = 3
	fieldScopeDropped    = 4

	fieldSpanTraceID       = 1
	fieldSpanSpanID        = 2
	fieldSpanTraceState    = 3
	fieldSpanParentSpanID  = 4
	fieldSpanName          = 5
	fieldSpanKind          = 6
	fieldSpanStart         = 7
	fieldSpanEnd           = 8
	fieldSpanAttributes    = 9
	fieldSpanDroppedAttrs  = 10
	fieldSpanEvents        = 11
	fieldSpanDroppedEvents = 12
	fieldSpanLinks         = 13
	fieldSpanDroppedLinks  = 14
	fieldSpanStatus        = 15
	fieldSpanFlags         = 16

	fieldStatusMessage = 2
	fieldStatusCode    = 3

	fieldEventTime       = 1
	fieldEventName       = 2
	fieldEventAttributes = 3
	fieldEventDropped    = 4

	fieldLinkTraceID    = 1
	fieldLinkSpanID     = 2
	fieldLinkTraceState = 3
	fieldLinkAttributes = 4
	fieldLinkDropped    = 5
	fieldLinkFlags      = 6

	fieldKeyValueKey   = 1
	fieldKeyValueValue = 2

	fieldAnyString   = 1
	fieldAnyBool     = 2
	fieldAnyInt      = 3
	fieldAnyDouble   = 4
	fieldAnyArray    = 5
	fieldAnyKvlist   = 6
	fieldAnyBytes    = 7
	fieldAnyStrindex = 8

	fieldListValues = 1
)

// DecodeProto appends the spans of a protobuf ExportTraceServiceRequest
// (or TracesData, which has the same encoding) to dst.
//
// The result equals what model.SpansFromTraces gives for the same bytes
// decoded by pdata, including the legacy instrumentation_library_spans
// field, but DecodeProto reads the bytes once and allocates little: spans
// of one resource share one *model.Resource, span attributes are cut from
// a few shared arrays (each with its capacity capped, so appending to one
// span's attributes never touches another's), and repeated short strings
// are shared. The result does not alias b. Malformed input yields an
// error, never a panic.
func DecodeProto(dst []model.Span, b []byte) ([]model.Span, error) {
	spans, _, err := decodeProto(dst, b)
	return spans, err
}

// decodeProto is DecodeProto that also reports whether any span came from
// the legacy instrumentation_library_spans field. Decoders that do not
// move those spans (pdata's ProtoUnmarshaler does not) would miss them, so
// such bytes are not passed on as model.Batch.OTLP.
func decodeProto(dst []model.Span, b []byte) (spans []model.Span, legacy bool, err error) {
	n := countSpans(b)
	if cap(dst)-len(dst) < n {
		grown := make([]model.Span, len(dst), len(dst)+n)
		copy(grown, dst)
		dst = grown
	}
	d := decoder{spans: dst, left: n, strs: new([internSlots]string)}
	if err := d.request(b); err != nil {
		return dst, false, err
	}
	return d.spans, d.legacy, nil
}

// decoder holds the state of one DecodeProto call.
type decoder struct {
	spans      []model.Span
	deprecated []model.Span // spans of instrumentation_library_spans
	legacy     bool         // some of deprecated were kept
	left       int          // spans counted in advance and not decoded yet
	strs       *[internSlots]string
	spanAttrs  arena // attributes of spans
	otherAttrs arena // attributes of events and links
}

func (d *decoder) request(b []byte) error {
	r := reader{b: b}
	for r.next() {
		switch r.num {
		case fieldRequestResourceSpans:
			if err := d.resourceSpans(r.bytes("resource_spans")); err != nil {
				r.fail(fmt.Errorf("resource_spans: %w", err))
			}
		default:
			r.skip()
		}
	}
	return r.err
}

func (d *decoder) resourceSpans(b []byte) error {
	res := &model.Resource{}
	sawScopeSpans := false
	d.deprecated = d.deprecated[:0]
	r := reader{b: b}
	for r.next() {
		switch r.num {
		case fieldResourceSpansResource:
			if err := d.resource(res, r.bytes("resource")); err != nil {
				r.fail(fmt.Errorf("resource: %w", err))
			}
		case fieldResourceSpansScopeSpans:
			sawScopeSpans = true
			if err := d.scopeSpans(r.bytes("scope_spans"), res); err != nil {
				r.fail(fmt.Errorf("scope_spans: %w", err))
			}
		case fieldResourceSpansDeprecatedScope:
			// Decoded aside: these spans count only if the message has
			// no scope_spans at all.
			kept := d.spans
			d.spans = d.deprecated
			err := d.scopeSpans(r.bytes("instrumentation_library_spans"), res)
			d.deprecated, d.spans = d.spans, kept
			if err != nil {
				r.fail(fmt.Errorf("instrumentation_library_spans: %w", err))
			}
		case fieldResourceSpansSchemaURL:
			r.bytes("schema_url")
		default:
			r.skip()
		}
	}
	if r.err != nil {
		return r.err
	}
	if !sawScopeSpans && len(d.deprecated) > 0 {
		d.spans = append(d.spans, d.deprecated...)
		d.legacy = true
	}
	if v, ok := res.Attributes.Get("service.name"); ok {
		res.ServiceName = v.AsString()
	}
	return nil
}

func (d *decoder) resource(res *model.Resource, b []byte) error {
	r := reader{b: b}
	for r.next() {
		switch r.num {
		case fieldResourceAttributes:
			res.Attributes = d.appendAttr(&r, res.Attributes)
		case fieldResourceDropped:
			res.DroppedAttributesCount = uint32(r.varint("dropped_attributes_count"))
		default:
			r.skip()
		}
	}
	return r.err
}

func (d *decoder) scopeSpans(b []byte, res *model.Resource) error {
	sc := &model.Scope{}
	r := reader{b: b}
	for r.next() {
		switch r.num {
		case fieldScopeSpansScope:
			if err := d.scope(sc, r.bytes("scope")); err != nil {
				r.fail(fmt.Errorf("scope: %w", err))
			}
		case fieldScopeSpansSpans:
			if err := d.span(r.bytes("spans"), res, sc); err != nil {
				r.fail(fmt.Errorf("span: %w", err))
			}
		case fieldScopeSpansSchemaURL:
			r.bytes("schema_url")
		default:
			r.skip()
		}
	}
	return r.err
}

func (d *decoder) scope(sc *model.Scope, b []byte) error {
	r := reader{b: b}
	for r.next() {
		switch r.num {
		case fieldScopeName:
			sc.Name = d.str(r.bytes("name"))
		case fieldScopeVersion:
			sc.Version = d.str(r.bytes("version"))
		case fieldScopeAttributes:
			sc.Attributes = d.appendAttr(&r, sc.Attributes)
		case fieldScopeDropped:
			sc.DroppedAttributesCount = uint32(r.varint("dropped_attributes_count"))
		default:
			r.skip()
		}
	}
	return r.err
}

// span decodes one span and appends it to d.spans.
func (d *decoder) span(b []byte, res *model.Resource, sc *model.Scope) error {
	d.spans = append(d.spans, model.Span{Resource: res, Scope: sc})
	s := &d.spans[len(d.spans)-1]
	if d.left > 0 {
		d.left--
	}
	d.spanAttrs.begin()
	r := reader{b: b}
	for r.next() {
		switch r.num {
		case fieldSpanTraceID:
			s.TraceID = r.traceID("trace_id")
		case fieldSpanSpanID:
			s.SpanID = r.spanID("span_id")
		case fieldSpanTraceState:
			s.TraceState = d.str(r.bytes("trace_state"))
		case fieldSpanParentSpanID:
			s.ParentSpanID = r.spanID("parent_span_id")
		case fieldSpanName:
			s.Name = d.str(r.bytes("name"))
		case fieldSpanKind:
			s.Kind = spanKind(r.varint("kind"))
		case fieldSpanStart:
			s.StartTimeUnixNano = r.fixed64("start_time_unix_nano")
		case fieldSpanEnd:
			s.EndTimeUnixNano = r.fixed64("end_time_unix_nano")
		case fieldSpanAttributes:
			d.arenaAttr(&r, &d.spanAttrs, d.attrHint)
		case fieldSpanDroppedAttrs:
			s.DroppedAttributesCount = uint32(r.varint("dropped_attributes_count"))
		case fieldSpanEvents:
			if ev, err := d.event(r.bytes("events")); err != nil {
				r.fail(fmt.Errorf("events: %w", err))
			} else {
				s.Events = append(s.Events, ev)
			}
		case fieldSpanDroppedEvents:
			s.DroppedEventsCount = uint32(r.varint("dropped_events_count"))
		case fieldSpanLinks:
			if l, err := d.link(r.bytes("links")); err != nil {
				r.fail(fmt.Errorf("links: %w", err))
			} else {
				s.Links = append(s.Links, l)
			}
		case fieldSpanDroppedLinks:
			s.DroppedLinksCount = uint32(r.varint("dropped_links_count"))
		case fieldSpanStatus:
			if err := d.status(s, r.bytes("status")); err != nil {
				r.fail(fmt.Errorf("status: %w", err))
			}
		case fieldSpanFlags:
			s.Flags = r.fixed32("flags")
		default:
			r.skip()
		}
	}
	s.Attributes = d.spanAttrs.end()
	return r.err
}

// attrHint sizes the next block of span attributes: room for a few spans
// at first, then the average so far times the spans still to come, so that
// a batch needs about two blocks and wastes little.
func (d *decoder) attrHint() int {
	done := len(d.spans) + len(d.deprecated) - 1 // spans before the current one
	if done < 8 || d.spanAttrs.total == 0 {
		return 256
	}
	return d.spanAttrs.total*(min(d.left, 1<<16)+1)/done + 16
}

// otherHint sizes the next block of event and link attributes.
func (d *decoder) otherHint() int { return 64 }

func (d *decoder) status(s *model.Span, b []byte) error {
	r := reader{b: b}
	for r.next() {
		switch r.num {
		case fieldStatusMessage:
			s.StatusMessage = d.str(r.bytes("message"))
		case fieldStatusCode:
			s.StatusCode = statusCode(r.varint("code"))
		default:
			r.skip()
		}
	}
	return r.err
}

func (d *decoder) event(b []byte) (model.Event, error) {
	var ev model.Event
	d.otherAttrs.begin()
	r := reader{b: b}
	for r.next() {
		switch r.num {
		case fieldEventTime:
			ev.TimeUnixNano = r.fixed64("time_unix_nano")
		case fieldEventName:
			ev.Name = d.str(r.bytes("name"))
		case fieldEventAttributes:
			d.arenaAttr(&r, &d.otherAttrs, d.otherHint)
		case fieldEventDropped:
			ev.DroppedAttributesCount = uint32(r.varint("dropped_attributes_count"))
		default:
			r.skip()
		}
	}
	ev.Attributes = d.otherAttrs.end()
	return ev, r.err
}

func (d *decoder) link(b []byte) (model.Link, error) {
	var l model.Link
	d.otherAttrs.begin()
	r := reader{b: b}
	for r.next() {
		switch r.num {
		case fieldLinkTraceID:
			l.TraceID = r.traceID("trace_id")
		case fieldLinkSpanID:
			l.SpanID = r.spanID("span_id")
		case fieldLinkTraceState:
			l.TraceState = d.str(r.bytes("trace_state"))
		case fieldLinkAttributes:
			d.arenaAttr(&r, &d.otherAttrs, d.otherHint)
		case fieldLinkDropped:
			l.DroppedAttributesCount = uint32(r.varint("dropped_attributes_count"))
		case fieldLinkFlags:
			l.Flags = r.fixed32("flags")
		default:
			r.skip()
		}
	}
	l.Attributes = d.otherAttrs.end()
	return l, r.err
}

// appendAttr decodes the current field of r as an attribute and appends it
// to dst.
func (d *decoder) appendAttr(r *reader, dst model.Attributes) model.Attributes {
	kv, err := d.keyValue(r.bytes("attributes"))
	if err != nil {
		r.fail(fmt.Errorf("attributes: %w", err))
		return dst
	}
	return append(dst, kv)
}

// arenaAttr decodes the current field of r as an attribute and adds it to
// the list a is building.
func (d *decoder) arenaAttr(r *reader, a *arena, hint func() int) {
	kv, err := d.keyValue(r.bytes("attributes"))
	if err != nil {
		r.fail(fmt.Errorf("attributes: %w", err))
		return
	}
	a.add(kv, hint)
}

// keyValue decodes a top-level attribute.
func (d *decoder) keyValue(b []byte) (model.Attribute, error) {
	var kv model.Attribute
	r := reader{b: b}
	for r.next() {
		switch r.num {
		case fieldKeyValueKey:
			kv.Key = d.str(r.bytes("key"))
		case fieldKeyValueValue:
			if err := d.value(&kv.Value, r.bytes("value")); err != nil {
				r.fail(fmt.Errorf("attribute %q: %w", kv.Key, err))
			}
		default:
			r.skip()
		}
	}
	return kv, r.err
}

// value merges the AnyValue b into dst: each value field replaces what
// dst held, as protobuf merging of a oneof does.
func (d *decoder) value(dst *model.Value, b []byte) error {
	r := reader{b: b}
	for r.next() {
		switch r.num {
		case fieldAnyString:
			*dst = model.StringValue(d.str(r.bytes("string_value")))
		case fieldAnyBool:
			*dst = model.BoolValue(r.varint("bool_value") != 0)
		case fieldAnyInt:
			*dst = model.IntValue(int64(r.varint("int_value")))
		case fieldAnyDouble:
			*dst = model.DoubleValue(math.Float64frombits(r.fixed64("double_value")))
		case fieldAnyBytes:
			*dst = model.Value{Type: model.ValueBytes, Str: string(r.bytes("bytes_value"))}
		case fieldAnyArray:
			*dst = model.Value{Type: model.ValueArray, Str: marshalJSON(d.rawField(&r, nil, 1))}
		case fieldAnyKvlist:
			*dst = model.Value{Type: model.ValueMap, Str: marshalJSON(d.rawField(&r, nil, 1))}
		case fieldAnyStrindex:
			r.varint("string_value_strindex")
			*dst = model.Value{}
		default:
			r.skip()
		}
	}
	return r.err
}

// rawField reads the current field of the AnyValue r walks and returns the
// value as pdata's Value.AsRaw gives it (string, bool, int64, float64,
// []byte, []any, map[string]any or nil), the form array and map values are
// rendered from. cur is the value so far, kept by fields that are not
// values.
func (d *decoder) rawField(r *reader, cur any, depth int) any {
	switch r.num {
	case fieldAnyString:
		return string(r.bytes("string_value"))
	case fieldAnyBool:
		return r.varint("bool_value") != 0
	case fieldAnyInt:
		return int64(r.varint("int_value"))
	case fieldAnyDouble:
		return math.Float64frombits(r.fixed64("double_value"))
	case fieldAnyBytes:
		if v := r.bytes("bytes_value"); len(v) > 0 {
			return v
		}
		return []byte(nil)
	case fieldAnyStrindex:
		r.varint("string_value_strindex")
		return nil
	case fieldAnyArray:
		v, err := d.rawList(r.bytes("array_value"), depth)
		r.fail(err)
		return v
	case fieldAnyKvlist:
		v, err := d.rawMap(r.bytes("kvlist_value"), depth)
		r.fail(err)
		return v
	}
	r.skip()
	return cur
}

// rawAny decodes the AnyValue message b, merged into cur.
func (d *decoder) rawAny(cur any, b []byte, depth int) (any, error) {
	r := reader{b: b}
	for r.next() {
		cur = d.rawField(&r, cur, depth)
	}
	return cur, r.err
}

// rawList decodes an ArrayValue.
func (d *decoder) rawList(b []byte, depth int) ([]any, error) {
	if depth > maxValueDepth {
		return nil, errTooDeep
	}
	out := make([]any, 0, 4)
	r := reader{b: b}
	for r.next() {
		if r.num != fieldListValues {
			r.skip()
			continue
		}
		item, err := d.rawAny(nil, r.bytes("values"), depth+1)
		r.fail(err)
		out = append(out, item)
	}
	return out, r.err
}

// rawMap decodes a KeyValueList; a repeated key keeps its last value.
func (d *decoder) rawMap(b []byte, depth int) (map[string]any, error) {
	if depth > maxValueDepth {
		return nil, errTooDeep
	}
	out := make(map[string]any)
	r := reader{b: b}
	for r.next() {
		if r.num != fieldListValues {
			r.skip()
			continue
		}
		key, val, err := d.rawKeyValue(r.bytes("values"), depth+1)
		r.fail(err)
		out[key] = val
	}
	return out, r.err
}

func (d *decoder) rawKeyValue(b []byte, depth int) (string, any, error) {
	var (
		key string
		val any
		err error
	)
	r := reader{b: b}
	for r.next() {
		switch r.num {
		case fieldKeyValueKey:
			key = string(r.bytes("key"))
		case fieldKeyValueValue:
			val, err = d.rawAny(val, r.bytes("value"), depth)
			r.fail(err)
		default:
			r.skip()
		}
	}
	return key, val, r.err
}

var errTooDeep = fmt.Errorf("attribute value nests deeper than %d levels", maxValueDepth)

// marshalJSON renders an array or map value as pdata's Value.AsString
// does: JSON without HTML escaping, and "" when JSON cannot hold it (NaN).
func marshalJSON(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) != nil {
		return ""
	}
	return string(bytes.TrimRight(buf.Bytes(), "\n"))
}

// str returns b as a string. Short strings go through a small
// direct-mapped cache, so that the keys and values that repeat across the
// spans of a request share one copy and cost no allocation.
func (d *decoder) str(b []byte) string {
	n := len(b)
	if n == 0 {
		return ""
	}
	if n > maxInternLen {
		return string(b)
	}
	slot := &d.strs[(uint(n)*31+uint(b[0])*7+uint(b[n/2])*17+uint(b[n-1])*131)%uint(len(d.strs))]
	if *slot == string(b) {
		return *slot
	}
	*slot = string(b)
	return *slot
}

// spanKind maps an OTLP enum value to a SpanKind; unknown values are
// unspecified.
func spanKind(v uint64) model.SpanKind {
	if k := int32(v); k >= 0 && k <= int32(model.KindConsumer) {
		return model.SpanKind(k)
	}
	return model.KindUnspecified
}

// statusCode maps an OTLP enum value to a StatusCode; unknown values are
// unset.
func statusCode(v uint64) model.StatusCode {
	if c := int32(v); c >= 0 && c <= int32(model.StatusError) {
		return model.StatusCode(c)
	}
	return model.StatusUnset
}
