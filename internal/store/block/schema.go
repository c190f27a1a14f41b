package block

import (
	"waymark/internal/model"
)

// valueDedicated is the attribute type code of an entry whose value lives in a
// dedicated column of the same row (see docs/design/formats/block.md). All
// other type codes are model.ValueType values.
const valueDedicated = 8

// MaxDedicatedAttributes bounds WriteOptions.DedicatedAttributes.
const MaxDedicatedAttributes = 10

// Well-known span attributes that always have dedicated columns.
const (
	keyHTTPRequestMethod      = "http.request.method"
	keyHTTPMethod             = "http.method"
	keyHTTPRoute              = "http.route"
	keyHTTPResponseStatusCode = "http.response.status_code"
	keyHTTPStatusCode         = "http.status_code"
	keyServiceName            = "service.name"
)

// attrRow is one attribute: a key, its model.ValueType (or valueDedicated)
// and the value in the column of its type.
type attrRow struct {
	Key    string   `parquet:"key,dict"`
	Type   int32    `parquet:"type"`
	Str    string   `parquet:"str,optional,dict"`
	Int    int64    `parquet:"int,optional"`
	Double *float64 `parquet:"double,optional"`
	Bytes  []byte   `parquet:"bytes,optional"`
}

// eventRow is one span event.
type eventRow struct {
	TimeUnixNano           uint64    `parquet:"time_unix_nano"`
	Name                   string    `parquet:"name,dict"`
	Attributes             []attrRow `parquet:"attributes,list"`
	DroppedAttributesCount uint32    `parquet:"dropped_attributes_count"`
}

// linkRow is one span link.
type linkRow struct {
	TraceID                [16]byte  `parquet:"trace_id"`
	SpanID                 [8]byte   `parquet:"span_id"`
	TraceState             string    `parquet:"trace_state"`
	Flags                  uint32    `parquet:"flags"`
	Attributes             []attrRow `parquet:"attributes,list"`
	DroppedAttributesCount uint32    `parquet:"dropped_attributes_count"`
}

// spanRow is one row of data.parquet. Field order is column order; column
// names are part of the format and documented in block.md.
type spanRow struct {
	TraceID           [16]byte `parquet:"trace_id"`
	SpanID            [8]byte  `parquet:"span_id"`
	ParentSpanID      [8]byte  `parquet:"parent_span_id"`
	StartTimeUnixNano uint64   `parquet:"start_time_unix_nano,delta"`
	DurationNano      uint64   `parquet:"duration_nano,delta"`
	Name              string   `parquet:"name,dict"`
	Kind              int32    `parquet:"kind"`
	StatusCode        int32    `parquet:"status_code"`
	StatusMessage     string   `parquet:"status_message,dict"`
	ServiceName       *string  `parquet:"service_name,optional,dict"`

	HTTPRequestMethod      string `parquet:"http_request_method,optional,dict"`
	HTTPMethod             string `parquet:"http_method,optional,dict"`
	HTTPRoute              string `parquet:"http_route,optional,dict"`
	HTTPResponseStatusCode int64  `parquet:"http_response_status_code,optional"`
	HTTPStatusCode         int64  `parquet:"http_status_code,optional"`
	Dedicated0             string `parquet:"dedicated_0,optional,dict"`
	Dedicated1             string `parquet:"dedicated_1,optional,dict"`
	Dedicated2             string `parquet:"dedicated_2,optional,dict"`
	Dedicated3             string `parquet:"dedicated_3,optional,dict"`
	Dedicated4             string `parquet:"dedicated_4,optional,dict"`
	Dedicated5             string `parquet:"dedicated_5,optional,dict"`
	Dedicated6             string `parquet:"dedicated_6,optional,dict"`
	Dedicated7             string `parquet:"dedicated_7,optional,dict"`
	Dedicated8             string `parquet:"dedicated_8,optional,dict"`
	Dedicated9             string `parquet:"dedicated_9,optional,dict"`

	TraceState             string     `parquet:"trace_state,dict"`
	Flags                  uint32     `parquet:"flags"`
	Attributes             []attrRow  `parquet:"attributes,list"`
	DroppedAttributesCount uint32     `parquet:"dropped_attributes_count"`
	Events                 []eventRow `parquet:"events,list"`
	DroppedEventsCount     uint32     `parquet:"dropped_events_count"`
	Links                  []linkRow  `parquet:"links,list"`
	DroppedLinksCount      uint32     `parquet:"dropped_links_count"`

	ResourceAttributes             []attrRow `parquet:"resource_attributes,list"`
	ResourceDroppedAttributesCount uint32    `parquet:"resource_dropped_attributes_count"`
	ScopeName                      *string   `parquet:"scope_name,optional,dict"`
	ScopeVersion                   string    `parquet:"scope_version,dict"`
	ScopeAttributes                []attrRow `parquet:"scope_attributes,list"`
	ScopeDroppedAttributesCount    uint32    `parquet:"scope_dropped_attributes_count"`
}

// fixedDedicatedKeys are the span attribute keys with always-present
// dedicated columns, in column order.
var fixedDedicatedKeys = [...]string{keyHTTPRequestMethod, keyHTTPMethod, keyHTTPRoute, keyHTTPResponseStatusCode, keyHTTPStatusCode}

// dedicatedSlot returns the address of the i-th configurable dedicated column.
func (r *spanRow) dedicatedSlot(i int) *string {
	switch i {
	case 0:
		return &r.Dedicated0
	case 1:
		return &r.Dedicated1
	case 2:
		return &r.Dedicated2
	case 3:
		return &r.Dedicated3
	case 4:
		return &r.Dedicated4
	case 5:
		return &r.Dedicated5
	case 6:
		return &r.Dedicated6
	case 7:
		return &r.Dedicated7
	case 8:
		return &r.Dedicated8
	case 9:
		return &r.Dedicated9
	}
	return nil
}

// dedicatedKeys maps a span attribute key to its dedicated column. The fixed
// HTTP columns come first; extra keys take slots dedicated_0..9.
type dedicatedKeys struct {
	extra []string
}

// dedicatedString returns the string column for key in r, or nil.
func (d *dedicatedKeys) stringColumn(r *spanRow, key string) *string {
	switch key {
	case keyHTTPRequestMethod:
		return &r.HTTPRequestMethod
	case keyHTTPMethod:
		return &r.HTTPMethod
	case keyHTTPRoute:
		return &r.HTTPRoute
	}
	for i, k := range d.extra {
		if k == key {
			return r.dedicatedSlot(i)
		}
	}
	return nil
}

// intColumn returns the int column for key in r, or nil.
func intColumn(r *spanRow, key string) *int64 {
	switch key {
	case keyHTTPResponseStatusCode:
		return &r.HTTPResponseStatusCode
	case keyHTTPStatusCode:
		return &r.HTTPStatusCode
	}
	return nil
}

// isFixedDedicated reports whether key has one of the always-present
// dedicated columns.
func isFixedDedicated(key string) bool {
	switch key {
	case keyHTTPRequestMethod, keyHTTPMethod, keyHTTPRoute, keyHTTPResponseStatusCode, keyHTTPStatusCode:
		return true
	}
	return false
}

// rowBuilder converts spans to rows, reusing its buffers between calls.
type rowBuilder struct {
	ded   dedicatedKeys
	attrs []attrRow
	evs   []eventRow
	links []linkRow
	// The resource and scope of the previous span and their attribute
	// rows, which the next span of the same resource (scope) shares.
	lastRes        *model.Resource
	lastResAttrs   []attrRow
	lastScope      *model.Scope
	lastScopeAttrs []attrRow
}

// reset drops the buffered attribute rows; rows built before become invalid.
func (b *rowBuilder) reset() {
	b.lastRes, b.lastResAttrs, b.lastScope, b.lastScopeAttrs = nil, nil, nil, nil
	clear(b.attrs)
	b.attrs = b.attrs[:0]
	clear(b.evs)
	b.evs = b.evs[:0]
	clear(b.links)
	b.links = b.links[:0]
}

// appendAttrs appends attrs to the builder's buffer and returns them as rows.
// The rows point into attrs, which must not change until they are written.
func (b *rowBuilder) appendAttrs(attrs model.Attributes) []attrRow {
	if len(attrs) == 0 {
		return nil
	}
	start := len(b.attrs)
	for i := range attrs {
		b.attrs = append(b.attrs, attrRow{})
		setAttr(&b.attrs[len(b.attrs)-1], &attrs[i])
	}
	return b.attrs[start:len(b.attrs):len(b.attrs)]
}

// setAttr fills r from a; pointers refer into a.
func setAttr(r *attrRow, a *model.Attribute) {
	r.Key = a.Key
	r.Type = int32(a.Value.Type)
	switch a.Value.Type {
	case model.ValueString, model.ValueArray, model.ValueMap:
		r.Str = a.Value.Str
	case model.ValueBool, model.ValueInt:
		r.Int = a.Value.Int
	case model.ValueDouble:
		r.Double = &a.Value.Double
	case model.ValueBytes:
		r.Bytes = []byte(a.Value.Str)
		if r.Bytes == nil {
			r.Bytes = []byte{}
		}
	}
}

// build fills r from s. r's pointers refer into s and into b's buffers.
func (b *rowBuilder) build(r *spanRow, s *model.Span) {
	*r = spanRow{
		TraceID:                s.TraceID,
		SpanID:                 s.SpanID,
		ParentSpanID:           s.ParentSpanID,
		StartTimeUnixNano:      s.StartTimeUnixNano,
		DurationNano:           s.EndTimeUnixNano - s.StartTimeUnixNano,
		Name:                   s.Name,
		Kind:                   int32(s.Kind),
		StatusCode:             int32(s.StatusCode),
		StatusMessage:          s.StatusMessage,
		TraceState:             s.TraceState,
		Flags:                  s.Flags,
		DroppedAttributesCount: s.DroppedAttributesCount,
		DroppedEventsCount:     s.DroppedEventsCount,
		DroppedLinksCount:      s.DroppedLinksCount,
	}
	r.Attributes = b.appendAttrs(s.Attributes)
	for i := range r.Attributes {
		a := &s.Attributes[i]
		ar := &r.Attributes[i]
		switch a.Value.Type {
		case model.ValueString:
			// An empty value stays a generic entry: an empty dedicated
			// column means null.
			if col := b.ded.stringColumn(r, a.Key); col != nil && *col == "" && a.Value.Str != "" {
				*col = a.Value.Str
				ar.Type, ar.Str = valueDedicated, ""
			}
		case model.ValueInt:
			// Likewise zero: a zero dedicated int column means null.
			if col := intColumn(r, a.Key); col != nil && *col == 0 && a.Value.Int != 0 {
				*col = a.Value.Int
				ar.Type, ar.Int = valueDedicated, 0
			}
		}
	}
	if len(s.Events) > 0 {
		start := len(b.evs)
		for i := range s.Events {
			e := &s.Events[i]
			b.evs = append(b.evs, eventRow{TimeUnixNano: e.TimeUnixNano, Name: e.Name, DroppedAttributesCount: e.DroppedAttributesCount})
			b.evs[len(b.evs)-1].Attributes = b.appendAttrs(e.Attributes)
		}
		r.Events = b.evs[start:len(b.evs):len(b.evs)]
	}
	if len(s.Links) > 0 {
		start := len(b.links)
		for i := range s.Links {
			l := &s.Links[i]
			b.links = append(b.links, linkRow{TraceID: l.TraceID, SpanID: l.SpanID, TraceState: l.TraceState, Flags: l.Flags, DroppedAttributesCount: l.DroppedAttributesCount})
			b.links[len(b.links)-1].Attributes = b.appendAttrs(l.Attributes)
		}
		r.Links = b.links[start:len(b.links):len(b.links)]
	}
	if res := s.Resource; res != nil {
		r.ServiceName = &res.ServiceName
		r.ResourceDroppedAttributesCount = res.DroppedAttributesCount
		if res != b.lastRes {
			b.lastRes, b.lastResAttrs = res, b.appendAttrs(res.Attributes)
			for i := range b.lastResAttrs {
				a := &res.Attributes[i]
				if a.Key == keyServiceName && a.Value.Type == model.ValueString && a.Value.Str == res.ServiceName {
					b.lastResAttrs[i].Type, b.lastResAttrs[i].Str = valueDedicated, ""
					break
				}
			}
		}
		r.ResourceAttributes = b.lastResAttrs
	}
	if sc := s.Scope; sc != nil {
		r.ScopeName = &sc.Name
		r.ScopeVersion = sc.Version
		if sc != b.lastScope {
			b.lastScope, b.lastScopeAttrs = sc, b.appendAttrs(sc.Attributes)
		}
		r.ScopeAttributes = b.lastScopeAttrs
		r.ScopeDroppedAttributesCount = sc.DroppedAttributesCount
	}
}
