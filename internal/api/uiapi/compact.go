package uiapi

import (
	"encoding/base64"
	"math"
	"strconv"

	"waymark/internal/api/jsonenc"
	"waymark/internal/model"
)

// CompactTrace is a whole trace in the column-oriented form the UI's trace
// view reads: about a seventh of the Jaeger JSON's size for large traces,
// and much cheaper to parse, because names, keys, resources and scopes are
// written once and span fields are arrays of numbers. Times are µs: StartUs
// is the trace's earliest span start since the epoch, and span starts are
// offsets from it (fractions keep ns precision). Its JSON form is written
// by AppendJSON.
type CompactTrace struct {
	TraceID   string          `json:"traceID"`
	StartUs   int64           `json:"startUs"`
	Strings   []string        `json:"strings"`
	Resources []CompactEntity `json:"resources"`
	Scopes    []CompactEntity `json:"scopes"`
	Spans     CompactSpans    `json:"spans"`
	// Warning says the trace was truncated to the query layer's span
	// limit; StoredSpans is then the number of spans stored. Both are
	// omitted for a complete trace.
	Warning     string `json:"warning,omitempty"`
	StoredSpans int    `json:"storedSpans,omitempty"`
}

// CompactEntity is a resource (Name is the service name) or an
// instrumentation scope (Name and Version), with its attributes as a flat
// [key, value, …] list whose keys index CompactTrace.Strings.
type CompactEntity struct {
	Name       string `json:"name"`
	Version    string `json:"version,omitempty"`
	Attributes []any  `json:"attributes"`
}

// CompactSpans holds one entry per span in each array. Name and attribute
// keys are indexes into CompactTrace.Strings. In JSON, the span IDs are one
// string ("ids") of 11 unpadded base64url digits per span, and a column of
// small integers (resource, scope, name, kind, status, attrCount) whose
// values are all below 64 is a string of one base64url digit per span
// (value v as the v-th digit of "A…Za…z0…9-_"). The attributes of all
// spans are one flat list [key, value, key, value, …] in span order, span i
// contributing AttrCount[i] pairs (one list, not one per span, keeps the
// client's parse cheap). Values are JSON strings, numbers or bools
// (integers beyond ±2^53 as strings, bytes as base64, arrays and maps as
// their JSON text). Sparse fields are keyed by span index.
type CompactSpans struct {
	ID         []model.SpanID `json:"ids"`
	Parent     []int32        `json:"parent"` // index of the parent span; -1 for none in the trace
	Resource   []int32        `json:"resource"`
	Scope      []int32        `json:"scope"`
	Name       []int32        `json:"name"`
	Kind       []int32        `json:"kind"`   // OTLP span kind number
	Status     []int32        `json:"status"` // OTLP status code number
	StartUs    []float64      `json:"start"`
	DurationUs []float64      `json:"duration"`
	AttrCount  []int32        `json:"attrCount"`
	Attrs      []any          `json:"attrs"`

	// ParentID names the parent of spans whose parent is not in the trace.
	ParentID      map[int]string           `json:"parentID,omitempty"`
	StatusMessage map[int]string           `json:"statusMessage,omitempty"`
	Events        map[int][]CompactEvent   `json:"events,omitempty"`
	Links         map[int][]CompactLink    `json:"links,omitempty"`
	Dropped       map[int]CompactDropCount `json:"dropped,omitempty"`
}

// CompactEvent is a span event; TimeUs is an offset from the trace start.
// Attributes are as in CompactEntity.
type CompactEvent struct {
	TimeUs     float64 `json:"time"`
	Name       string  `json:"name"`
	Attributes []any   `json:"attributes,omitempty"`
}

// CompactLink is a span link.
type CompactLink struct {
	TraceID    string `json:"traceID"`
	SpanID     string `json:"spanID"`
	Attributes []any  `json:"attributes,omitempty"`
}

// CompactDropCount reports what the sender dropped from a span.
type CompactDropCount struct {
	Attributes uint32 `json:"attributes,omitempty"`
	Events     uint32 `json:"events,omitempty"`
	Links      uint32 `json:"links,omitempty"`
}

// compactor interns strings, resources and scopes while a trace is encoded.
// Resources and scopes are interned by pointer and then by content, as
// spans that arrived in different batches carry equal copies.
type compactor struct {
	out       *CompactTrace
	strings   map[string]int32
	resources map[*model.Resource]int32
	scopes    map[*model.Scope]int32
	entities  map[string]int32 // by entityKey, resources and scopes apart
	key       []byte
}

// entityKey returns the content of a resource or scope as a map key.
func (c *compactor) entityKey(kind byte, e *CompactEntity) string {
	c.key = append(c.key[:0], kind)
	c.key = jsonenc.AppendString(c.key, e.Name)
	c.key = jsonenc.AppendString(c.key, e.Version)
	c.key = appendAttrList(c.key, e.Attributes)
	return string(c.key)
}

// intern returns the index in *list of an entity equal to e, appending e
// when there is none.
func (c *compactor) intern(kind byte, list *[]CompactEntity, e CompactEntity) int32 {
	k := c.entityKey(kind, &e)
	if i, ok := c.entities[k]; ok {
		return i
	}
	i := int32(len(*list))
	*list = append(*list, e)
	c.entities[k] = i
	return i
}

func (c *compactor) str(s string) int32 {
	if i, ok := c.strings[s]; ok {
		return i
	}
	i := int32(len(c.out.Strings))
	c.out.Strings = append(c.out.Strings, s)
	c.strings[s] = i
	return i
}

// attrs returns a flat [key, value, …] list.
func (c *compactor) attrs(a model.Attributes) []any {
	if len(a) == 0 {
		return nil
	}
	return c.appendAttrs(make([]any, 0, 2*len(a)), a)
}

// appendAttrs appends a's keys (interned) and values to dst.
func (c *compactor) appendAttrs(dst []any, a model.Attributes) []any {
	for i := range a {
		dst = append(dst, c.str(a[i].Key), jsonValue(a[i].Value))
	}
	return dst
}

// maxSafeInt is the largest integer JavaScript numbers hold exactly.
const maxSafeInt = 1<<53 - 1

// jsonValue renders an attribute value as a JSON-friendly Go value.
func jsonValue(v model.Value) any {
	switch v.Type {
	case model.ValueInt:
		if v.Int > maxSafeInt || v.Int < -maxSafeInt {
			return strconv.FormatInt(v.Int, 10)
		}
		return v.Int
	case model.ValueDouble:
		if math.IsNaN(v.Double) || math.IsInf(v.Double, 0) {
			return strconv.FormatFloat(v.Double, 'g', -1, 64)
		}
		return v.Double
	case model.ValueBool:
		return v.Bool()
	case model.ValueBytes:
		return base64.StdEncoding.EncodeToString([]byte(v.Str))
	}
	return v.Str
}

func (c *compactor) resource(r *model.Resource) int32 {
	if i, ok := c.resources[r]; ok {
		return i
	}
	e := CompactEntity{}
	if r != nil {
		e.Name = r.ServiceName
		e.Attributes = c.attrs(r.Attributes)
	}
	i := c.intern('r', &c.out.Resources, e)
	c.resources[r] = i
	return i
}

func (c *compactor) scope(s *model.Scope) int32 {
	if i, ok := c.scopes[s]; ok {
		return i
	}
	e := CompactEntity{}
	if s != nil {
		e.Name, e.Version = s.Name, s.Version
		e.Attributes = c.attrs(s.Attributes)
	}
	i := c.intern('s', &c.out.Scopes, e)
	c.scopes[s] = i
	return i
}

// Compact encodes a trace's spans (any order, not empty) for the UI.
func Compact(id model.TraceID, spans []model.Span) *CompactTrace {
	n := len(spans)
	out := &CompactTrace{TraceID: id.String()}
	c := &compactor{out: out, strings: make(map[string]int32), resources: make(map[*model.Resource]int32),
		scopes: make(map[*model.Scope]int32), entities: make(map[string]int32)}
	index := make(map[model.SpanID]int32, n)
	var start uint64
	attrs := 0
	for i := range spans {
		attrs += len(spans[i].Attributes)
		if _, dup := index[spans[i].SpanID]; !dup {
			index[spans[i].SpanID] = int32(i)
		}
		if i == 0 || spans[i].StartTimeUnixNano < start {
			start = spans[i].StartTimeUnixNano
		}
	}
	out.StartUs = int64(start / 1e3)
	base := uint64(out.StartUs) * 1e3
	cs := &out.Spans
	cs.ID = make([]model.SpanID, n)
	cs.Parent = make([]int32, n)
	cs.Resource = make([]int32, n)
	cs.Scope = make([]int32, n)
	cs.Name = make([]int32, n)
	cs.Kind = make([]int32, n)
	cs.Status = make([]int32, n)
	cs.StartUs = make([]float64, n)
	cs.DurationUs = make([]float64, n)
	cs.AttrCount = make([]int32, n)
	cs.Attrs = make([]any, 0, 2*attrs)
	for i := range spans {
		s := &spans[i]
		cs.ID[i] = s.SpanID
		cs.Parent[i] = -1
		if !s.ParentSpanID.IsZero() {
			if p, ok := index[s.ParentSpanID]; ok && int(p) != i {
				cs.Parent[i] = p
			} else {
				setSparse(&cs.ParentID, i, s.ParentSpanID.String())
			}
		}
		cs.Resource[i] = c.resource(s.Resource)
		cs.Scope[i] = c.scope(s.Scope)
		cs.Name[i] = c.str(s.Name)
		cs.Kind[i] = int32(s.Kind)
		cs.Status[i] = int32(s.StatusCode)
		cs.StartUs[i] = float64(s.StartTimeUnixNano-base) / 1e3
		cs.DurationUs[i] = float64(s.DurationNano()) / 1e3
		cs.AttrCount[i] = int32(len(s.Attributes))
		cs.Attrs = c.appendAttrs(cs.Attrs, s.Attributes)
		if s.StatusMessage != "" {
			setSparse(&cs.StatusMessage, i, s.StatusMessage)
		}
		if len(s.Events) > 0 {
			evs := make([]CompactEvent, len(s.Events))
			for j, e := range s.Events {
				// An event before the trace start is shown at the start.
				evs[j] = CompactEvent{TimeUs: float64(max(e.TimeUnixNano, base)-base) / 1e3, Name: e.Name, Attributes: c.attrs(e.Attributes)}
			}
			setSparse(&cs.Events, i, evs)
		}
		if len(s.Links) > 0 {
			ls := make([]CompactLink, len(s.Links))
			for j, l := range s.Links {
				ls[j] = CompactLink{TraceID: l.TraceID.String(), SpanID: l.SpanID.String(), Attributes: c.attrs(l.Attributes)}
			}
			setSparse(&cs.Links, i, ls)
		}
		if s.DroppedAttributesCount|s.DroppedEventsCount|s.DroppedLinksCount != 0 {
			setSparse(&cs.Dropped, i, CompactDropCount{Attributes: s.DroppedAttributesCount, Events: s.DroppedEventsCount, Links: s.DroppedLinksCount})
		}
	}
	return out
}

func setSparse[V any](m *map[int]V, i int, v V) {
	if *m == nil {
		*m = make(map[int]V)
	}
	(*m)[i] = v
}
