// Package summary computes per-trace-set summaries that searches and
// listings need without reading spans: service dependency links and the
// attribute keys and values seen per scope. The head computes them over its
// traces; blocks store them in their metadata, so /api/dependencies and tag
// autocomplete are instant over any window.
//
// It imports only model.
package summary

import (
	"slices"
	"sort"

	"waymark/internal/model"
)

// Dependency is a caller → callee edge between two services.
type Dependency struct {
	Parent     string `json:"parent"`
	Child      string `json:"child"`
	CallCount  uint64 `json:"callCount"`
	ErrorCount uint64 `json:"errorCount"`
}

// Dependencies returns the service edges of one trace's spans: for every span
// whose parent is in the trace and belongs to another service, an edge from
// the parent's service to the span's service. A Zipkin-style shared span
// (client and server halves with one span ID) counts once, through its
// server half's remote parent. An error on the child counts as an error call.
func Dependencies(dst map[[2]string]*Dependency, spans []model.Span) {
	byID := make(map[model.SpanID]*model.Span, len(spans))
	for i := range spans {
		s := &spans[i]
		// Prefer the client half of a shared span as the parent.
		if prev, ok := byID[s.SpanID]; !ok || (prev.Kind != model.KindClient && s.Kind == model.KindClient) {
			byID[s.SpanID] = s
		}
	}
	for i := range spans {
		s := &spans[i]
		var parent *model.Span
		if p, ok := byID[s.ParentSpanID]; ok && !s.ParentSpanID.IsZero() {
			parent = p
		} else if c, ok := byID[s.SpanID]; ok && c != s && c.Kind == model.KindClient && s.Kind == model.KindServer {
			parent = c // shared span: server half under its client half
		}
		if parent == nil {
			continue
		}
		ps, cs := parent.ServiceName(), s.ServiceName()
		if ps == cs || ps == "" || cs == "" {
			continue
		}
		k := [2]string{ps, cs}
		d := dst[k]
		if d == nil {
			d = &Dependency{Parent: ps, Child: cs}
			dst[k] = d
		}
		d.CallCount++
		if s.StatusCode == model.StatusError {
			d.ErrorCount++
		}
	}
}

// SortedDependencies returns the edges sorted by parent then child.
func SortedDependencies(m map[[2]string]*Dependency) []Dependency {
	out := make([]Dependency, 0, len(m))
	for _, d := range m {
		out = append(out, *d)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Parent != out[j].Parent {
			return out[i].Parent < out[j].Parent
		}
		return out[i].Child < out[j].Child
	})
	return out
}

// MergeDependencies adds the edges of src into dst.
func MergeDependencies(dst map[[2]string]*Dependency, src []Dependency) {
	for _, d := range src {
		k := [2]string{d.Parent, d.Child}
		e := dst[k]
		if e == nil {
			e = &Dependency{Parent: d.Parent, Child: d.Child}
			dst[k] = e
		}
		e.CallCount += d.CallCount
		e.ErrorCount += d.ErrorCount
	}
}

// Scope names used in tag summaries, as TraceQL names them.
const (
	ScopeSpan     = "span"
	ScopeResource = "resource"
	ScopeEvent    = "event"
	ScopeLink     = "link"
)

// MaxValuesPerKey caps the distinct values kept per attribute key; keys with
// more (request IDs, timestamps) keep the first ones and are marked Truncated.
// A key with a value the summary does not keep (arrays, maps, bytes, long
// strings) is marked Truncated too: Values without Truncated is the key's
// complete set of values.
const MaxValuesPerKey = 200

// maxValueLength skips long values (payloads, stack traces) in the summary.
const maxValueLength = 256

// TagValues is the set of values of one attribute key.
type TagValues struct {
	Values    map[model.Value]struct{}
	Truncated bool
}

// Tags maps scope → key → values.
type Tags map[string]map[string]*TagValues

// NewTags returns an empty Tags.
func NewTags() Tags { return make(Tags) }

// Add records the attributes of s (and of its resource, events and links).
// seenResources lets callers skip a resource already added.
func (t Tags) Add(s *model.Span, seenResources map[*model.Resource]struct{}) {
	t.addAttrs(ScopeSpan, s.Attributes)
	if s.Resource != nil {
		if _, seen := seenResources[s.Resource]; !seen {
			seenResources[s.Resource] = struct{}{}
			t.addAttrs(ScopeResource, s.Resource.Attributes)
		}
	}
	for i := range s.Events {
		t.addAttrs(ScopeEvent, s.Events[i].Attributes)
	}
	for i := range s.Links {
		t.addAttrs(ScopeLink, s.Links[i].Attributes)
	}
}

func (t Tags) addAttrs(scope string, attrs model.Attributes) {
	if len(attrs) == 0 {
		return
	}
	keys := t[scope]
	if keys == nil {
		keys = make(map[string]*TagValues)
		t[scope] = keys
	}
	for i := range attrs {
		t.addValue(keys, attrs[i].Key, attrs[i].Value)
	}
}

func (t Tags) addValue(keys map[string]*TagValues, key string, v model.Value) {
	tv := keys[key]
	if tv == nil {
		tv = &TagValues{Values: make(map[model.Value]struct{})}
		keys[key] = tv
	}
	if tv.Truncated {
		return
	}
	if v.Type == model.ValueArray || v.Type == model.ValueMap || v.Type == model.ValueBytes || len(v.Str) > maxValueLength {
		// Not kept: the list no longer holds every value.
		tv.Truncated = true
		return
	}
	if _, ok := tv.Values[v]; ok {
		return
	}
	if len(tv.Values) >= MaxValuesPerKey {
		tv.Truncated = true
		return
	}
	tv.Values[v] = struct{}{}
}

// Merge adds other into t.
func (t Tags) Merge(other Tags) {
	for scope, keys := range other {
		dst := t[scope]
		if dst == nil {
			dst = make(map[string]*TagValues)
			t[scope] = dst
		}
		for key, tv := range keys {
			d := dst[key]
			if d == nil {
				d = &TagValues{Values: make(map[model.Value]struct{})}
				dst[key] = d
			}
			for v := range tv.Values {
				t.addValue(dst, key, v)
			}
			if tv.Truncated {
				d.Truncated = true
			}
		}
	}
}

// TagList is the serialisable form of Tags: scope → key → sorted values.
type TagList map[string]map[string]TagValueList

// TagValueList is the serialisable form of TagValues.
type TagValueList struct {
	Values    []model.Value `json:"values,omitempty"`
	Truncated bool          `json:"truncated,omitempty"`
}

// List converts t to its serialisable form with values sorted.
func (t Tags) List() TagList {
	out := make(TagList, len(t))
	for scope, keys := range t {
		m := make(map[string]TagValueList, len(keys))
		for key, tv := range keys {
			vals := make([]model.Value, 0, len(tv.Values))
			for v := range tv.Values {
				vals = append(vals, v)
			}
			SortValues(vals)
			m[key] = TagValueList{Values: vals, Truncated: tv.Truncated}
		}
		out[scope] = m
	}
	return out
}

// Tags converts a TagList back to Tags.
func (l TagList) Tags() Tags {
	t := NewTags()
	for scope, keys := range l {
		m := make(map[string]*TagValues, len(keys))
		for key, tv := range keys {
			vs := make(map[model.Value]struct{}, len(tv.Values))
			for _, v := range tv.Values {
				vs[v] = struct{}{}
			}
			m[key] = &TagValues{Values: vs, Truncated: tv.Truncated}
		}
		t[scope] = m
	}
	return t
}

// SortValues orders values by type, then numerically or lexically.
func SortValues(vals []model.Value) {
	slices.SortFunc(vals, func(a, b model.Value) int {
		if a.Type != b.Type {
			return int(a.Type) - int(b.Type)
		}
		switch a.Type {
		case model.ValueInt, model.ValueBool:
			switch {
			case a.Int < b.Int:
				return -1
			case a.Int > b.Int:
				return 1
			}
			return 0
		case model.ValueDouble:
			switch {
			case a.Double < b.Double:
				return -1
			case a.Double > b.Double:
				return 1
			}
			return 0
		}
		switch {
		case a.Str < b.Str:
			return -1
		case a.Str > b.Str:
			return 1
		}
		return 0
	})
}
