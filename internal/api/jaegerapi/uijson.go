package jaegerapi

import (
	"encoding/base64"
	"io"
	"strconv"

	"waymark/internal/api/jaegerquery"
	"waymark/internal/api/jsonenc"
	"waymark/internal/model"
	"waymark/internal/query"
)

// Tag keys and values that OTLP fields become in the Jaeger trace JSON. They
// are the ones the OpenTelemetry Jaeger translator uses, so Jaeger UI and
// Grafana show Waymark spans as they show Jaeger's.
const (
	tagSpanKind          = "span.kind"
	tagStatusCode        = "otel.status_code"
	tagStatusDescription = "otel.status_description"
	tagError             = "error"
	tagScopeName         = "otel.scope.name"
	tagScopeVersion      = "otel.scope.version"
	tagTraceState        = "w3c.tracestate"
	fieldEvent           = "event"
	attrRefType          = "opentracing.ref_type"
	refTypeChildOf       = "child_of"
	statusCodeOK         = "OK"
	statusCodeError      = "ERROR"
	// noServiceName names the process of spans whose resource has no
	// service.name, as the Jaeger translator does.
	noServiceName = "OTLPResourceNoServiceName"
	// jsMaxSafeInt is the largest integer a JavaScript number holds exactly.
	jsMaxSafeInt = 1<<53 - 1
	// flushSize is how much output a streaming encoder gathers per write.
	flushSize = 64 << 10
)

// AppendTraceJSON appends the Jaeger UI JSON of one trace, made of spans, to
// dst: {"traceID":…,"spans":[…],"processes":{"p1":…},"warnings":null}. Times
// and durations are in microseconds. Resources become processes p1, p2, …,
// deduplicated by service name and tags. A span whose parent is not among
// spans is still rendered, with a warning. Spans are written in the order
// given; an empty spans writes a trace with no spans.
func AppendTraceJSON(dst []byte, spans []model.Span) []byte {
	var e uiEncoder
	return e.appendTrace(dst, spans)
}

// uiEncoder writes Jaeger UI trace JSON. Its maps and buffers are reused from
// one trace to the next, so encode many traces with one encoder. With out
// set, it streams: whenever its output passes flushSize it writes it to out
// and goes on with an empty buffer, so a huge trace never sits in memory as
// a whole.
type uiEncoder struct {
	out       io.Writer
	outErr    error // the first error writing to out; encoding stops there
	procByRes map[*model.Resource]int
	procByKey map[string]int
	procs     []byte // the members of the "processes" object
	nprocs    int
	present   map[model.SpanID]struct{}
	scratch   []byte
	warnings  []string
}

func (e *uiEncoder) reset(spans []model.Span) {
	if e.procByRes == nil {
		e.procByRes = make(map[*model.Resource]int)
		e.procByKey = make(map[string]int)
	}
	clear(e.procByRes)
	clear(e.procByKey)
	e.procs = e.procs[:0]
	e.nprocs = 0
	if e.present == nil {
		e.present = make(map[model.SpanID]struct{}, len(spans))
	} else {
		clear(e.present)
	}
	for i := range spans {
		e.present[spans[i].SpanID] = struct{}{}
	}
}

func (e *uiEncoder) appendTrace(dst []byte, spans []model.Span) []byte {
	return e.appendTraceWarning(dst, spans, "")
}

// appendTraceWarning is appendTrace with a trace-level warning (such as a
// truncation) in the trace's warnings, which Jaeger UI shows; "" writes
// null.
func (e *uiEncoder) appendTraceWarning(dst []byte, spans []model.Span, warning string) []byte {
	e.reset(spans)
	dst = append(dst, `{"traceID":`...)
	var tid model.TraceID
	if len(spans) > 0 {
		tid = spans[0].TraceID
	}
	dst = appendHexString(dst, tid)
	dst = append(dst, `,"spans":[`...)
	for i := range spans {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = e.appendSpan(dst, &spans[i])
		if dst = e.flush(dst, false); e.outErr != nil {
			return dst
		}
	}
	dst = append(dst, `],"processes":{`...)
	dst = append(dst, e.procs...)
	if warning == "" {
		return append(dst, `},"warnings":null}`...)
	}
	dst = append(dst, `},"warnings":[`...)
	dst = jsonenc.AppendString(dst, warning)
	return append(dst, "]}"...)
}

// flush writes dst to out when streaming and dst has reached flushSize (or
// when force is set), and returns what the caller should go on appending to.
func (e *uiEncoder) flush(dst []byte, force bool) []byte {
	if e.out == nil || e.outErr != nil || (!force && len(dst) < flushSize) {
		return dst
	}
	_, e.outErr = e.out.Write(dst)
	return dst[:0]
}

// appendTraces appends a JSON array of traces, each adjusted unless raw and
// carrying its truncation warning.
func (e *uiEncoder) appendTraces(dst []byte, traces []query.Trace, raw bool) []byte {
	dst = append(dst, '[')
	for i := range traces {
		if i > 0 {
			dst = append(dst, ',')
		}
		spans := traces[i].Spans
		if !raw {
			spans = jaegerquery.Adjust(spans)
		}
		dst = e.appendTraceWarning(dst, spans, traces[i].Warning())
		if e.outErr != nil {
			return dst
		}
	}
	return append(dst, ']')
}

func appendHexString(dst []byte, id model.TraceID) []byte {
	dst = append(dst, '"')
	dst = id.AppendHex(dst)
	return append(dst, '"')
}

func appendSpanIDString(dst []byte, id model.SpanID) []byte {
	dst = append(dst, '"')
	dst = id.AppendHex(dst)
	return append(dst, '"')
}

func (e *uiEncoder) appendSpan(dst []byte, s *model.Span) []byte {
	dst = append(dst, `{"traceID":`...)
	dst = appendHexString(dst, s.TraceID)
	dst = append(dst, `,"spanID":`...)
	dst = appendSpanIDString(dst, s.SpanID)
	if s.Flags&1 != 0 {
		dst = append(dst, `,"flags":1`...)
	}
	dst = append(dst, `,"operationName":`...)
	dst = jsonenc.AppendString(dst, s.Name)
	dst = append(dst, `,"references":`...)
	dst = appendReferences(dst, s)
	dst = append(dst, `,"startTime":`...)
	dst = strconv.AppendUint(dst, s.StartTimeUnixNano/1000, 10)
	dst = append(dst, `,"duration":`...)
	dst = strconv.AppendUint(dst, s.DurationNano()/1000, 10)
	dst = append(dst, `,"tags":`...)
	dst = appendSpanTags(dst, s)
	dst = append(dst, `,"logs":[`...)
	for i := range s.Events {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendLog(dst, &s.Events[i])
	}
	dst = append(dst, `],"processID":"p`...)
	dst = strconv.AppendInt(dst, int64(e.processID(s.Resource)), 10)
	dst = append(dst, `","warnings":`...)
	return append(e.appendWarnings(dst, s), '}')
}

// appendReferences writes the parent as the first CHILD_OF reference, then
// the links as FOLLOWS_FROM (CHILD_OF when the link says so). A link to the
// parent itself only sets the parent reference's type.
func appendReferences(dst []byte, s *model.Span) []byte {
	dst = append(dst, '[')
	hasParent := !s.ParentSpanID.IsZero()
	n := 0
	if hasParent {
		parentType := "CHILD_OF"
		for i := range s.Links {
			if l := &s.Links[i]; l.TraceID == s.TraceID && l.SpanID == s.ParentSpanID {
				parentType = linkRefType(l)
			}
		}
		dst = appendReference(dst, parentType, s.TraceID, s.ParentSpanID)
		n++
	}
	for i := range s.Links {
		l := &s.Links[i]
		if hasParent && l.TraceID == s.TraceID && l.SpanID == s.ParentSpanID {
			continue
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		dst = appendReference(dst, linkRefType(l), l.TraceID, l.SpanID)
		n++
	}
	return append(dst, ']')
}

func linkRefType(l *model.Link) string {
	if v, ok := l.Attributes.Get(attrRefType); ok && v.Type == model.ValueString && v.Str == refTypeChildOf {
		return "CHILD_OF"
	}
	return "FOLLOWS_FROM"
}

func appendReference(dst []byte, refType string, tid model.TraceID, sid model.SpanID) []byte {
	dst = append(dst, `{"refType":"`...)
	dst = append(dst, refType...)
	dst = append(dst, `","traceID":`...)
	dst = appendHexString(dst, tid)
	dst = append(dst, `,"spanID":`...)
	dst = appendSpanIDString(dst, sid)
	return append(dst, '}')
}

// appendSpanTags writes, in the Jaeger translator's order: scope name and
// version, the span's attributes, span.kind, otel.status_code, error,
// otel.status_description and w3c.tracestate.
func appendSpanTags(dst []byte, s *model.Span) []byte {
	dst = append(dst, '[')
	w := tagWriter{dst: dst}
	if s.Scope != nil {
		if s.Scope.Name != "" {
			w.str(tagScopeName, s.Scope.Name)
		}
		if s.Scope.Version != "" {
			w.str(tagScopeVersion, s.Scope.Version)
		}
	}
	w.attrs(s.Attributes)
	if s.Kind != model.KindUnspecified {
		w.str(tagSpanKind, s.Kind.String())
	}
	switch s.StatusCode {
	case model.StatusOK:
		w.str(tagStatusCode, statusCodeOK)
	case model.StatusError:
		w.str(tagStatusCode, statusCodeError)
		w.tag(tagError, model.BoolValue(true))
	}
	if s.StatusMessage != "" {
		w.str(tagStatusDescription, s.StatusMessage)
	}
	if s.TraceState != "" {
		w.str(tagTraceState, s.TraceState)
	}
	return append(w.dst, ']')
}

func appendLog(dst []byte, ev *model.Event) []byte {
	dst = append(dst, `{"timestamp":`...)
	dst = strconv.AppendUint(dst, ev.TimeUnixNano/1000, 10)
	dst = append(dst, `,"fields":[`...)
	w := tagWriter{dst: dst}
	if ev.Name != "" {
		if _, ok := ev.Attributes.Get(fieldEvent); !ok {
			w.str(fieldEvent, ev.Name)
		}
	}
	w.attrs(ev.Attributes)
	return append(w.dst, "]}"...)
}

// tagWriter appends comma-separated Jaeger key/value objects.
type tagWriter struct {
	dst []byte
	n   int
}

func (w *tagWriter) str(key, value string) { w.tag(key, model.StringValue(value)) }

func (w *tagWriter) attrs(attrs model.Attributes) {
	for i := range attrs {
		w.tag(attrs[i].Key, attrs[i].Value)
	}
}

// tag writes {"key":…,"type":…,"value":…}. Ints beyond ±(2^53−1) are written
// as strings to keep JavaScript precision, bytes as base64, and arrays and
// maps as strings holding their JSON.
func (w *tagWriter) tag(key string, v model.Value) {
	dst := w.dst
	if w.n > 0 {
		dst = append(dst, ',')
	}
	w.n++
	dst = append(dst, `{"key":`...)
	dst = jsonenc.AppendString(dst, key)
	switch v.Type {
	case model.ValueBool:
		dst = append(dst, `,"type":"bool","value":`...)
		dst = strconv.AppendBool(dst, v.Bool())
	case model.ValueInt:
		dst = append(dst, `,"type":"int64","value":`...)
		if v.Int > jsMaxSafeInt || v.Int < -jsMaxSafeInt {
			dst = append(dst, '"')
			dst = strconv.AppendInt(dst, v.Int, 10)
			dst = append(dst, '"')
		} else {
			dst = strconv.AppendInt(dst, v.Int, 10)
		}
	case model.ValueDouble:
		dst = append(dst, `,"type":"float64","value":`...)
		dst = jsonenc.AppendFloat(dst, v.Double)
	case model.ValueBytes:
		dst = append(dst, `,"type":"binary","value":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, []byte(v.Str))
		dst = append(dst, '"')
	default:
		dst = append(dst, `,"type":"string","value":`...)
		dst = jsonenc.AppendString(dst, v.Str)
	}
	w.dst = append(dst, '}')
}

// processID returns the 1-based number of r's process, adding the process
// when no earlier resource had the same service name and tags.
func (e *uiEncoder) processID(r *model.Resource) int {
	if id, ok := e.procByRes[r]; ok {
		return id
	}
	e.scratch = appendProcess(e.scratch[:0], r)
	id, ok := e.procByKey[string(e.scratch)]
	if !ok {
		e.nprocs++
		id = e.nprocs
		e.procByKey[string(e.scratch)] = id
		if id > 1 {
			e.procs = append(e.procs, ',')
		}
		e.procs = append(e.procs, `"p`...)
		e.procs = strconv.AppendInt(e.procs, int64(id), 10)
		e.procs = append(e.procs, `":`...)
		e.procs = append(e.procs, e.scratch...)
	}
	e.procByRes[r] = id
	return id
}

// appendProcess writes {"serviceName":…,"tags":[…]}: the resource's
// attributes other than service.name become the tags.
func appendProcess(dst []byte, r *model.Resource) []byte {
	name := noServiceName
	if r != nil && r.ServiceName != "" {
		name = r.ServiceName
	}
	dst = append(dst, `{"serviceName":`...)
	dst = jsonenc.AppendString(dst, name)
	dst = append(dst, `,"tags":[`...)
	w := tagWriter{dst: dst}
	if r != nil {
		for i := range r.Attributes {
			if a := &r.Attributes[i]; a.Key != "service.name" {
				w.tag(a.Key, a.Value)
			}
		}
	}
	return append(w.dst, "]}"...)
}

// appendWarnings writes the span's warnings, or null: a parent that is not
// in the trace, and whatever the sender said it dropped.
func (e *uiEncoder) appendWarnings(dst []byte, s *model.Span) []byte {
	e.warnings = e.warnings[:0]
	if !s.ParentSpanID.IsZero() {
		if _, ok := e.present[s.ParentSpanID]; !ok {
			e.warnings = append(e.warnings, "parent span "+s.ParentSpanID.String()+" is not in the trace")
		}
	}
	if s.DroppedAttributesCount > 0 {
		e.warnings = append(e.warnings, strconv.FormatUint(uint64(s.DroppedAttributesCount), 10)+" attributes were dropped by the sender")
	}
	if s.DroppedEventsCount > 0 {
		e.warnings = append(e.warnings, strconv.FormatUint(uint64(s.DroppedEventsCount), 10)+" events were dropped by the sender")
	}
	if s.DroppedLinksCount > 0 {
		e.warnings = append(e.warnings, strconv.FormatUint(uint64(s.DroppedLinksCount), 10)+" links were dropped by the sender")
	}
	if len(e.warnings) == 0 {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, w := range e.warnings {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonenc.AppendString(dst, w)
	}
	return append(dst, ']')
}
