package uiapi

import (
	"encoding/base64"
	"maps"
	"math"
	"slices"
	"strconv"

	"waymark/internal/api/jsonenc"
)

// AppendJSON appends t's JSON form to dst: the fields as their JSON tags
// name them, span IDs as one hex string, attribute lists as [key, value, …]
// with keys as string indexes, and sparse fields only when not empty. It
// writes without reflection, as traces of 100,000 spans are served whole.
func (t *CompactTrace) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"traceID":`...)
	dst = jsonenc.AppendString(dst, t.TraceID)
	dst = append(dst, `,"startUs":`...)
	dst = strconv.AppendInt(dst, t.StartUs, 10)
	dst = append(dst, `,"strings":`...)
	dst = jsonenc.AppendStrings(dst, t.Strings)
	dst = append(dst, `,"resources":`...)
	dst = appendEntities(dst, t.Resources)
	dst = append(dst, `,"scopes":`...)
	dst = appendEntities(dst, t.Scopes)
	dst = append(dst, `,"spans":`...)
	dst = t.Spans.appendJSON(dst)
	if t.Warning != "" {
		dst = append(dst, `,"warning":`...)
		dst = jsonenc.AppendString(dst, t.Warning)
	}
	if t.StoredSpans != 0 {
		dst = append(dst, `,"storedSpans":`...)
		dst = strconv.AppendInt(dst, int64(t.StoredSpans), 10)
	}
	return append(dst, '}')
}

// MarshalJSON returns the output of AppendJSON.
func (t *CompactTrace) MarshalJSON() ([]byte, error) { return t.AppendJSON(nil), nil }

func (cs *CompactSpans) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"ids":"`...)
	for i := range cs.ID {
		dst = base64.RawURLEncoding.AppendEncode(dst, cs.ID[i][:])
	}
	dst = append(dst, '"')
	dst = appendInts(dst, "parent", cs.Parent)
	dst = appendSmallInts(dst, "resource", cs.Resource)
	dst = appendSmallInts(dst, "scope", cs.Scope)
	dst = appendSmallInts(dst, "name", cs.Name)
	dst = appendSmallInts(dst, "kind", cs.Kind)
	dst = appendSmallInts(dst, "status", cs.Status)
	dst = appendFloats(dst, "start", cs.StartUs)
	dst = appendFloats(dst, "duration", cs.DurationUs)
	dst = appendSmallInts(dst, "attrCount", cs.AttrCount)
	dst = append(dst, `,"attrs":`...)
	dst = appendAttrList(dst, cs.Attrs)
	dst = appendSparse(dst, "parentID", cs.ParentID, jsonenc.AppendString)
	dst = appendSparse(dst, "statusMessage", cs.StatusMessage, jsonenc.AppendString)
	dst = appendSparse(dst, "events", cs.Events, appendEvents)
	dst = appendSparse(dst, "links", cs.Links, appendLinks)
	dst = appendSparse(dst, "dropped", cs.Dropped, appendDropped)
	return append(dst, '}')
}

// appendField appends `,"name":`.
func appendField(dst []byte, name string) []byte {
	dst = append(dst, ',', '"')
	dst = append(dst, name...)
	return append(dst, '"', ':')
}

func appendInt32(dst []byte, v int32) []byte { return strconv.AppendInt(dst, int64(v), 10) }

func appendInts(dst []byte, name string, v []int32) []byte {
	return jsonenc.AppendList(appendField(dst, name), v, appendInt32)
}

// smallIntDigits are the digits of a small-integer column sent as a
// string: the base64url alphabet, value v as smallIntDigits[v].
const smallIntDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// appendSmallInts appends a column whose values are all in [0, 64) as a
// string of one base64url digit per value, which is half the size of the
// array and cheaper to parse; other columns as an array.
func appendSmallInts(dst []byte, name string, v []int32) []byte {
	for _, x := range v {
		if x < 0 || x >= int32(len(smallIntDigits)) {
			return appendInts(dst, name, v)
		}
	}
	dst = append(appendField(dst, name), '"')
	for _, x := range v {
		dst = append(dst, smallIntDigits[x])
	}
	return append(dst, '"')
}

func appendFloats(dst []byte, name string, v []float64) []byte {
	return jsonenc.AppendList(appendField(dst, name), v, appendMicros)
}

// maxExactMicros bounds the µs values whose ns count is an exact float64.
const maxExactMicros = float64(1<<53) / 1e3

// appendMicros appends f, a time in µs, as the same JSON number as
// jsonenc.AppendFloat does, but formatted from its integer ns when it has
// one (always, for times computed from ns), which is several times faster
// than shortest-float formatting. The decimal ns/1000 and the float64 ns/1e3
// Compact computed round to the same float64, so readers see equal values.
func appendMicros(dst []byte, f float64) []byte {
	if f < 0 || f >= maxExactMicros {
		return jsonenc.AppendFloat(dst, f)
	}
	ns := int64(math.Round(f * 1e3))
	if float64(ns)/1e3 != f {
		return jsonenc.AppendFloat(dst, f)
	}
	dst = strconv.AppendInt(dst, ns/1000, 10)
	frac := ns % 1000
	if frac == 0 {
		return dst
	}
	dst = append(dst, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
	for dst[len(dst)-1] == '0' {
		dst = dst[:len(dst)-1]
	}
	return dst
}

// appendAttrList appends a flat attribute list; nil gives [].
func appendAttrList(dst []byte, list []any) []byte {
	return jsonenc.AppendList(dst, list, appendScalar)
}

// appendScalar appends one entry of an attribute list: a string index or a
// value as jsonValue renders it.
func appendScalar(dst []byte, v any) []byte {
	switch x := v.(type) {
	case int32:
		return appendInt32(dst, x)
	case int64:
		return strconv.AppendInt(dst, x, 10)
	case float64:
		return jsonenc.AppendFloat(dst, x)
	case bool:
		return strconv.AppendBool(dst, x)
	case string:
		return jsonenc.AppendString(dst, x)
	}
	return append(dst, "null"...)
}

func appendEntities(dst []byte, es []CompactEntity) []byte {
	return jsonenc.AppendList(dst, es, func(dst []byte, e CompactEntity) []byte {
		dst = append(dst, `{"name":`...)
		dst = jsonenc.AppendString(dst, e.Name)
		if e.Version != "" {
			dst = append(dst, `,"version":`...)
			dst = jsonenc.AppendString(dst, e.Version)
		}
		dst = append(dst, `,"attributes":`...)
		dst = appendAttrList(dst, e.Attributes)
		return append(dst, '}')
	})
}

// appendSparse appends `,"name":{"index":value,…}` in index order, or
// nothing when m is empty.
func appendSparse[V any](dst []byte, name string, m map[int]V, enc func([]byte, V) []byte) []byte {
	if len(m) == 0 {
		return dst
	}
	dst = append(appendField(dst, name), '{')
	for j, k := range slices.Sorted(maps.Keys(m)) {
		if j > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = strconv.AppendInt(dst, int64(k), 10)
		dst = append(dst, '"', ':')
		dst = enc(dst, m[k])
	}
	return append(dst, '}')
}

// appendOptionalAttrs appends `,"attributes":[…]` unless list is empty.
func appendOptionalAttrs(dst []byte, list []any) []byte {
	if len(list) == 0 {
		return dst
	}
	return appendAttrList(append(dst, `,"attributes":`...), list)
}

func appendEvents(dst []byte, evs []CompactEvent) []byte {
	return jsonenc.AppendList(dst, evs, func(dst []byte, e CompactEvent) []byte {
		dst = append(dst, `{"time":`...)
		dst = appendMicros(dst, e.TimeUs)
		dst = append(dst, `,"name":`...)
		dst = jsonenc.AppendString(dst, e.Name)
		return append(appendOptionalAttrs(dst, e.Attributes), '}')
	})
}

func appendLinks(dst []byte, ls []CompactLink) []byte {
	return jsonenc.AppendList(dst, ls, func(dst []byte, l CompactLink) []byte {
		dst = append(dst, `{"traceID":`...)
		dst = jsonenc.AppendString(dst, l.TraceID)
		dst = append(dst, `,"spanID":`...)
		dst = jsonenc.AppendString(dst, l.SpanID)
		return append(appendOptionalAttrs(dst, l.Attributes), '}')
	})
}

func appendDropped(dst []byte, d CompactDropCount) []byte {
	dst = append(dst, '{')
	first := true
	for _, f := range []struct {
		name string
		n    uint32
	}{{"attributes", d.Attributes}, {"events", d.Events}, {"links", d.Links}} {
		if f.n == 0 {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, '"')
		dst = append(dst, f.name...)
		dst = append(dst, '"', ':')
		dst = strconv.AppendUint(dst, uint64(f.n), 10)
	}
	return append(dst, '}')
}
