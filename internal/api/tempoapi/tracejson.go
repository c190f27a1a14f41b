package tempoapi

import (
	"cmp"
	"encoding/base64"
	"slices"
	"strconv"

	"waymark/internal/api/jsonenc"
	"waymark/internal/model"
)

var kindNames = [...]string{"", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"}
var statusNames = [...]string{"", "STATUS_CODE_OK", "STATUS_CODE_ERROR"}

// appendTraceJSON writes spans as Tempo's protobuf-JSON: {"<field>":[ResourceSpans…]}
// with base64 IDs, enum names, 64-bit integers as strings and empty fields omitted.
// Consecutive spans sharing a Resource and Scope are grouped.
func appendTraceJSON(dst []byte, field string, spans []model.Span) []byte {
	dst = append(dst, '{')
	dst = appendString(dst, field)
	dst = append(dst, ":["...)
	for i := 0; i < len(spans); {
		res := spans[i].Resource
		j := i
		for j < len(spans) && spans[j].Resource == res {
			j++
		}
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendResourceSpans(dst, spans[i:j])
		i = j
	}
	return append(dst, "]}"...)
}

func appendResourceSpans(dst []byte, spans []model.Span) []byte {
	dst = append(dst, `{"resource":{`...)
	if r := spans[0].Resource; r != nil && len(r.Attributes) > 0 {
		dst = append(dst, `"attributes":`...)
		dst = appendAttributes(dst, r.Attributes)
	}
	dst = append(dst, `},"scopeSpans":[`...)
	for i := 0; i < len(spans); {
		sc := spans[i].Scope
		j := i
		for j < len(spans) && spans[j].Scope == sc {
			j++
		}
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"scope":{`...)
		if sc != nil {
			sep := false
			if sc.Name != "" {
				dst = append(dst, `"name":`...)
				dst = appendString(dst, sc.Name)
				sep = true
			}
			if sc.Version != "" {
				if sep {
					dst = append(dst, ',')
				}
				dst = append(dst, `"version":`...)
				dst = appendString(dst, sc.Version)
			}
		}
		dst = append(dst, `},"spans":[`...)
		for k := i; k < j; k++ {
			if k > i {
				dst = append(dst, ',')
			}
			dst = appendSpan(dst, &spans[k])
		}
		dst = append(dst, "]}"...)
		i = j
	}
	return append(dst, "]}"...)
}

func appendSpan(dst []byte, s *model.Span) []byte {
	dst = append(dst, `{"traceId":`...)
	dst = appendBase64(dst, s.TraceID[:])
	dst = append(dst, `,"spanId":`...)
	dst = appendBase64(dst, s.SpanID[:])
	if !s.ParentSpanID.IsZero() {
		dst = append(dst, `,"parentSpanId":`...)
		dst = appendBase64(dst, s.ParentSpanID[:])
	}
	if s.TraceState != "" {
		dst = append(dst, `,"traceState":`...)
		dst = appendString(dst, s.TraceState)
	}
	if s.Flags != 0 {
		dst = append(dst, `,"flags":`...)
		dst = strconv.AppendUint(dst, uint64(s.Flags), 10)
	}
	dst = append(dst, `,"name":`...)
	dst = appendString(dst, s.Name)
	if s.Kind > 0 && int(s.Kind) < len(kindNames) {
		dst = append(dst, `,"kind":"`...)
		dst = append(dst, kindNames[s.Kind]...)
		dst = append(dst, '"')
	}
	dst = append(dst, `,"startTimeUnixNano":"`...)
	dst = strconv.AppendUint(dst, s.StartTimeUnixNano, 10)
	dst = append(dst, `","endTimeUnixNano":"`...)
	dst = strconv.AppendUint(dst, s.EndTimeUnixNano, 10)
	dst = append(dst, '"')
	if len(s.Attributes) > 0 {
		dst = append(dst, `,"attributes":`...)
		dst = appendAttributes(dst, s.Attributes)
	}
	if s.DroppedAttributesCount > 0 {
		dst = append(dst, `,"droppedAttributesCount":`...)
		dst = strconv.AppendUint(dst, uint64(s.DroppedAttributesCount), 10)
	}
	if len(s.Events) > 0 {
		dst = append(dst, `,"events":[`...)
		for i := range s.Events {
			e := &s.Events[i]
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"timeUnixNano":"`...)
			dst = strconv.AppendUint(dst, e.TimeUnixNano, 10)
			dst = append(dst, `","name":`...)
			dst = appendString(dst, e.Name)
			if len(e.Attributes) > 0 {
				dst = append(dst, `,"attributes":`...)
				dst = appendAttributes(dst, e.Attributes)
			}
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	if len(s.Links) > 0 {
		dst = append(dst, `,"links":[`...)
		for i := range s.Links {
			l := &s.Links[i]
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"traceId":`...)
			dst = appendBase64(dst, l.TraceID[:])
			dst = append(dst, `,"spanId":`...)
			dst = appendBase64(dst, l.SpanID[:])
			if l.TraceState != "" {
				dst = append(dst, `,"traceState":`...)
				dst = appendString(dst, l.TraceState)
			}
			if len(l.Attributes) > 0 {
				dst = append(dst, `,"attributes":`...)
				dst = appendAttributes(dst, l.Attributes)
			}
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"status":{`...)
	sep := false
	if s.StatusMessage != "" {
		dst = append(dst, `"message":`...)
		dst = appendString(dst, s.StatusMessage)
		sep = true
	}
	if s.StatusCode > 0 && int(s.StatusCode) < len(statusNames) {
		if sep {
			dst = append(dst, ',')
		}
		dst = append(dst, `"code":"`...)
		dst = append(dst, statusNames[s.StatusCode]...)
		dst = append(dst, '"')
	}
	return append(dst, "}}"...)
}

func appendAttributes(dst []byte, attrs model.Attributes) []byte {
	dst = append(dst, '[')
	for i := range attrs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"key":`...)
		dst = appendString(dst, attrs[i].Key)
		dst = append(dst, `,"value":`...)
		dst = appendAnyValue(dst, attrs[i].Value)
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// appendAnyValue writes an OTLP AnyValue in protobuf-JSON form.
func appendAnyValue(dst []byte, v model.Value) []byte {
	switch v.Type {
	case model.ValueString:
		dst = append(dst, `{"stringValue":`...)
		dst = appendString(dst, v.Str)
	case model.ValueInt:
		dst = append(dst, `{"intValue":"`...)
		dst = strconv.AppendInt(dst, v.Int, 10)
		dst = append(dst, '"')
	case model.ValueDouble:
		dst = append(dst, `{"doubleValue":`...)
		dst = appendFloat(dst, v.Double)
	case model.ValueBool:
		dst = append(dst, `{"boolValue":`...)
		dst = strconv.AppendBool(dst, v.Bool())
	case model.ValueBytes:
		dst = append(dst, `{"bytesValue":`...)
		dst = appendBase64(dst, []byte(v.Str))
	case model.ValueArray, model.ValueMap:
		// Kept as their JSON text: clients show it as a string.
		dst = append(dst, `{"stringValue":`...)
		dst = appendString(dst, v.Str)
	default:
		return append(dst, "{}"...)
	}
	return append(dst, '}')
}

func appendBase64(dst []byte, b []byte) []byte {
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '"')
}

// appendString writes s as a JSON string.
func appendString(dst []byte, s string) []byte { return jsonenc.AppendString(dst, s) }

// appendFloat writes a JSON number, or a string for NaN and infinities.
func appendFloat(dst []byte, f float64) []byte { return jsonenc.AppendFloat(dst, f) }

// sortSpans orders a trace's spans by start time.
func sortSpans(spans []model.Span) {
	slices.SortStableFunc(spans, func(a, b model.Span) int {
		return cmp.Compare(a.StartTimeUnixNano, b.StartTimeUnixNano)
	})
}
