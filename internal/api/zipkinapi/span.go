package zipkinapi

import (
	"cmp"
	"net/netip"
	"slices"
	"strconv"

	"waymark/internal/api/jsonenc"
	"waymark/internal/model"
)

// Attribute keys that become endpoint fields rather than tags. The lists
// hold both the current OpenTelemetry names and the older ones Zipkin
// receivers write, first name first.
var (
	localIPKeys    = []string{"network.local.address", "net.host.ip"}
	localPortKeys  = []string{"network.local.port", "net.host.port"}
	remoteSvcKeys  = []string{"peer.service", "service.peer.name"}
	remoteIPKeys   = []string{"network.peer.address", "net.peer.ip"}
	remotePortKeys = []string{"network.peer.port", "net.peer.port"}
)

// Tag keys Waymark writes for OpenTelemetry fields Zipkin has no place for,
// named, and with status values spelled, as the OpenTelemetry Collector's
// Zipkin translator writes and reads them.
const (
	tagError             = "error"
	tagStatusCode        = "otel.status_code"
	tagStatusDescription = "otel.status_description"
	tagScopeName         = "otel.scope.name"
	tagScopeVersion      = "otel.scope.version"
	tagTraceState        = "w3c.tracestate"
	attrServerAddress    = "server.address"
	attrServiceName      = "service.name"
)

// encoder turns model spans into Zipkin v2 JSON. It keeps scratch space
// between spans, so one encoder serves one response at a time.
type encoder struct {
	tags    []tag
	attrs   model.Attributes
	scratch []byte
	used    []string
	clients map[model.SpanID]struct{}
}

type tag struct {
	key   string
	value model.Value
}

// endpoint is a Zipkin endpoint; the zero value is absent.
type endpoint struct {
	service string
	ip      netip.Addr
	port    uint64
}

func (e endpoint) empty() bool { return e.service == "" && !e.ip.IsValid() && e.port == 0 }

// appendTraces appends traces as a JSON array of span arrays.
func (e *encoder) appendTraces(dst []byte, traces [][]model.Span) []byte {
	dst = append(dst, '[')
	for i, tr := range traces {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = e.appendTrace(dst, tr)
	}
	return append(dst, ']')
}

// appendTrace appends the spans of one trace as a JSON array, sorted by
// start time. It reorders spans in place.
func (e *encoder) appendTrace(dst []byte, spans []model.Span) []byte {
	slices.SortStableFunc(spans, func(a, b model.Span) int {
		if c := cmp.Compare(a.StartTimeUnixNano, b.StartTimeUnixNano); c != 0 {
			return c
		}
		return cmp.Compare(a.Kind, b.Kind)
	})
	if e.clients == nil {
		e.clients = make(map[model.SpanID]struct{})
	}
	clear(e.clients)
	for i := range spans {
		if spans[i].Kind == model.KindClient {
			e.clients[spans[i].SpanID] = struct{}{}
		}
	}
	dst = append(dst, '[')
	for i := range spans {
		if i > 0 {
			dst = append(dst, ',')
		}
		s := &spans[i]
		_, shared := e.clients[s.SpanID]
		dst = e.appendSpan(dst, s, shared && s.Kind == model.KindServer)
	}
	return append(dst, ']')
}

// appendSpan appends one span in Zipkin v2 JSON form.
func (e *encoder) appendSpan(dst []byte, s *model.Span, shared bool) []byte {
	e.used = e.used[:0]
	dst = append(dst, `{"traceId":"`...)
	dst = appendTraceID(dst, s.TraceID)
	if !s.ParentSpanID.IsZero() {
		dst = append(dst, `","parentId":"`...)
		dst = s.ParentSpanID.AppendHex(dst)
	}
	dst = append(dst, `","id":"`...)
	dst = s.SpanID.AppendHex(dst)
	dst = append(dst, '"')
	if k := zipkinKind(s.Kind); k != "" {
		dst = append(dst, `,"kind":"`...)
		dst = append(dst, k...)
		dst = append(dst, '"')
	}
	dst = append(dst, `,"name":`...)
	dst = jsonenc.AppendString(dst, s.Name)
	if s.StartTimeUnixNano >= 1000 {
		dst = append(dst, `,"timestamp":`...)
		dst = strconv.AppendUint(dst, s.StartTimeUnixNano/1000, 10)
	}
	if d := s.DurationNano(); d > 0 {
		dst = append(dst, `,"duration":`...)
		dst = strconv.AppendUint(dst, max(1, d/1000), 10)
	}
	local := endpoint{service: s.ServiceName()}
	local.ip = e.ip(s.Attributes, localIPKeys)
	local.port = e.port(s.Attributes, localPortKeys)
	if !local.empty() {
		dst = appendEndpoint(dst, `,"localEndpoint":`, local)
	}
	var remote endpoint
	remote.service = remoteServiceName(s)
	for _, k := range remoteSvcKeys {
		if _, ok := s.Attributes.Get(k); ok {
			e.used = append(e.used, k)
		}
	}
	remote.ip = e.ip(s.Attributes, remoteIPKeys)
	remote.port = e.port(s.Attributes, remotePortKeys)
	if !remote.empty() {
		dst = appendEndpoint(dst, `,"remoteEndpoint":`, remote)
	}
	// Zipkin requires an annotation's timestamp; an event without a time
	// (before 1 µs after the epoch) has no Zipkin form and is left out.
	n := 0
	for i := range s.Events {
		if s.Events[i].TimeUnixNano < 1000 {
			continue
		}
		if n == 0 {
			dst = append(dst, `,"annotations":[`...)
		} else {
			dst = append(dst, ',')
		}
		n++
		dst = e.appendAnnotation(dst, &s.Events[i])
	}
	if n > 0 {
		dst = append(dst, ']')
	}
	dst = e.appendTags(dst, s)
	if shared {
		dst = append(dst, `,"shared":true`...)
	}
	return append(dst, '}')
}

// appendTraceID appends id as Zipkin prints it: 16 hex characters when the
// high half is zero (a 64-bit ID), else 32.
func appendTraceID(dst []byte, id model.TraceID) []byte {
	if [8]byte(id[:8]) == [8]byte{} {
		return model.SpanID(id[8:]).AppendHex(dst)
	}
	return id.AppendHex(dst)
}

func zipkinKind(k model.SpanKind) string {
	switch k {
	case model.KindClient:
		return "CLIENT"
	case model.KindServer:
		return "SERVER"
	case model.KindProducer:
		return "PRODUCER"
	case model.KindConsumer:
		return "CONSUMER"
	}
	return ""
}

// remoteServiceName returns the service a span calls: its peer.service (or
// service.peer.name) attribute, else, for a client or producer span, its
// server.address (which stays a tag too).
func remoteServiceName(s *model.Span) string {
	for _, k := range remoteSvcKeys {
		if v, ok := s.Attributes.Get(k); ok && v.AsString() != "" {
			return v.AsString()
		}
	}
	if s.Kind == model.KindClient || s.Kind == model.KindProducer {
		if v, ok := s.Attributes.Get(attrServerAddress); ok {
			return v.AsString()
		}
	}
	return ""
}

// ip returns the first address among keys that parses and marks it used.
func (e *encoder) ip(attrs model.Attributes, keys []string) netip.Addr {
	var ip netip.Addr
	for _, k := range keys {
		v, ok := attrs.Get(k)
		if !ok {
			continue
		}
		a, err := netip.ParseAddr(v.AsString())
		if err != nil || a.Zone() != "" {
			continue
		}
		e.used = append(e.used, k)
		if !ip.IsValid() {
			ip = a.Unmap()
		}
	}
	return ip
}

// port returns the first valid port among keys and marks it used.
func (e *encoder) port(attrs model.Attributes, keys []string) uint64 {
	var port uint64
	for _, k := range keys {
		v, ok := attrs.Get(k)
		if !ok {
			continue
		}
		p, err := uint64(v.Int), error(nil)
		if v.Type != model.ValueInt {
			p, err = strconv.ParseUint(v.AsString(), 10, 16)
		}
		if err != nil || p == 0 || p > 65535 {
			continue
		}
		e.used = append(e.used, k)
		if port == 0 {
			port = p
		}
	}
	return port
}

func appendEndpoint(dst []byte, field string, ep endpoint) []byte {
	dst = append(dst, field...)
	dst = append(dst, '{')
	sep := false
	if ep.service != "" {
		dst = append(dst, `"serviceName":`...)
		dst = jsonenc.AppendString(dst, ep.service)
		sep = true
	}
	if ep.ip.IsValid() {
		if sep {
			dst = append(dst, ',')
		}
		if ep.ip.Is4() {
			dst = append(dst, `"ipv4":"`...)
		} else {
			dst = append(dst, `"ipv6":"`...)
		}
		dst = ep.ip.AppendTo(dst)
		dst = append(dst, '"')
		sep = true
	}
	if ep.port != 0 {
		if sep {
			dst = append(dst, ',')
		}
		dst = append(dst, `"port":`...)
		dst = strconv.AppendUint(dst, ep.port, 10)
	}
	return append(dst, '}')
}

// appendAnnotation appends an event as a Zipkin annotation. An event with
// attributes gets the value form the OpenTelemetry Zipkin translators read
// back: name|{"key":value,...}|droppedAttributesCount.
func (e *encoder) appendAnnotation(dst []byte, ev *model.Event) []byte {
	dst = append(dst, `{"timestamp":`...)
	dst = strconv.AppendUint(dst, ev.TimeUnixNano/1000, 10)
	dst = append(dst, `,"value":`...)
	if len(ev.Attributes) == 0 && ev.DroppedAttributesCount == 0 {
		dst = jsonenc.AppendString(dst, ev.Name)
		return append(dst, '}')
	}
	buf := append(e.scratch[:0], ev.Name...)
	buf = append(buf, '|', '{')
	e.attrs = append(e.attrs[:0], ev.Attributes...)
	slices.SortFunc(e.attrs, func(a, b model.Attribute) int { return cmp.Compare(a.Key, b.Key) })
	for i, a := range e.attrs {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = jsonenc.AppendString(buf, a.Key)
		buf = append(buf, ':')
		buf = appendValue(buf, a.Value)
	}
	buf = append(buf, '}', '|')
	buf = strconv.AppendUint(buf, uint64(ev.DroppedAttributesCount), 10)
	e.scratch = buf
	dst = jsonenc.AppendString(dst, string(buf))
	return append(dst, '}')
}

// appendValue appends an attribute value as a JSON scalar of its type.
func appendValue(dst []byte, v model.Value) []byte {
	switch v.Type {
	case model.ValueInt:
		return strconv.AppendInt(dst, v.Int, 10)
	case model.ValueDouble:
		return jsonenc.AppendFloat(dst, v.Double)
	case model.ValueBool:
		return strconv.AppendBool(dst, v.Bool())
	}
	return jsonenc.AppendString(dst, v.AsString())
}

// appendTags appends the span's tags: resource attributes, the scope,
// span attributes (which win over resource ones of the same key), trace
// state and status, sorted by key. Attributes that became endpoint fields
// are left out.
func (e *encoder) appendTags(dst []byte, s *model.Span) []byte {
	e.tags = e.tags[:0]
	if s.Resource != nil {
		for _, a := range s.Resource.Attributes {
			if a.Key != attrServiceName {
				e.tags = append(e.tags, tag{a.Key, a.Value})
			}
		}
	}
	if s.Scope != nil && s.Scope.Name != "" {
		e.tags = append(e.tags, tag{tagScopeName, model.StringValue(s.Scope.Name)})
		if s.Scope.Version != "" {
			e.tags = append(e.tags, tag{tagScopeVersion, model.StringValue(s.Scope.Version)})
		}
	}
	hasError := false
	for _, a := range s.Attributes {
		if slices.Contains(e.used, a.Key) {
			continue
		}
		hasError = hasError || a.Key == tagError
		e.tags = append(e.tags, tag{a.Key, a.Value})
	}
	if s.TraceState != "" {
		e.tags = append(e.tags, tag{tagTraceState, model.StringValue(s.TraceState)})
	}
	switch {
	case s.StatusCode == model.StatusError && !hasError:
		// An OpenTelemetry error: Zipkin's error tag carries the message,
		// the otel.status tags let a Zipkin reader restore the status.
		msg := s.StatusMessage
		if msg == "" {
			msg = "true"
		}
		e.tags = append(e.tags, tag{tagError, model.StringValue(msg)})
		e.tags = append(e.tags, tag{tagStatusCode, model.StringValue("STATUS_CODE_ERROR")})
		if s.StatusMessage != "" {
			e.tags = append(e.tags, tag{tagStatusDescription, model.StringValue(s.StatusMessage)})
		}
	case s.StatusCode == model.StatusError:
		// A span that came from Zipkin with an error tag: it says it all.
	case s.StatusCode == model.StatusOK:
		e.tags = append(e.tags, tag{tagStatusCode, model.StringValue("STATUS_CODE_OK")})
	}
	if len(e.tags) == 0 {
		return dst
	}
	// Later entries win: span attributes over resource ones, status last.
	slices.SortStableFunc(e.tags, func(a, b tag) int { return cmp.Compare(a.key, b.key) })
	dst = append(dst, `,"tags":{`...)
	first := true
	for i, t := range e.tags {
		if i+1 < len(e.tags) && e.tags[i+1].key == t.key {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = jsonenc.AppendString(dst, t.key)
		dst = append(dst, ':')
		dst = appendTagValue(dst, t.value)
	}
	return append(dst, '}')
}

// appendTagValue appends v as a JSON string in the text form of
// model.Value.AsString, without building the text first.
func appendTagValue(dst []byte, v model.Value) []byte {
	switch v.Type {
	case model.ValueInt:
		dst = append(dst, '"')
		dst = strconv.AppendInt(dst, v.Int, 10)
		return append(dst, '"')
	case model.ValueDouble:
		dst = append(dst, '"')
		dst = strconv.AppendFloat(dst, v.Double, 'g', -1, 64)
		return append(dst, '"')
	case model.ValueBool:
		dst = append(dst, '"')
		dst = strconv.AppendBool(dst, v.Bool())
		return append(dst, '"')
	}
	return jsonenc.AppendString(dst, v.Str)
}
