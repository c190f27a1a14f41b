package block

import (
	"context"
	"fmt"
	"slices"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"

	"waymark/internal/model"
)

// spanReader builds whole spans straight from the column values of row
// ranges. Strings of dictionary entries are allocated once per read, and
// spans with equal resources (or scopes) share one *Resource (*Scope) among
// the recently built ones. A spanReader keeps its buffers between reads; it
// is not safe for concurrent use.
type spanReader struct {
	cs        *columnSet
	extra     []string // keys of dedicated_0..9
	cols      []column // by leaf index
	resources []*model.Resource
	scopes    []*model.Scope
	scratch   model.Attributes
	// bySvc shares the attribute-less resources of light spans.
	bySvc map[string]*model.Resource
	// per-row dedicated values: index into the dedicated column, or -1
	dedFixed [5]int
	dedExtra [MaxDedicatedAttributes]int
}

func newSpanReader(cs *columnSet, extra []string) *spanReader {
	return &spanReader{cs: cs, extra: extra, cols: make([]column, cs.numLeaves)}
}

// col returns the decoded column of leaf l.
func (sr *spanReader) col(l leaf) *column { return &sr.cols[l.index] }

// read decodes the rows in ranges (sorted, disjoint, relative to rg) and
// calls fn with each row's index and span, in row order; rows for which
// want (when not nil) is false are skipped without building their spans.
// The span is fn's to keep.
func (sr *spanReader) read(ctx context.Context, rg parquet.RowGroup, ranges []rowRange, want func(row int64) bool, fn func(row int64, s *model.Span) error) error {
	var rows int64
	for _, r := range ranges {
		rows += r.to - r.from
	}
	if rows == 0 {
		return nil
	}
	for i := range sr.cols {
		if err := readColumn(ctx, rg, sr.cs.all[i], ranges, &sr.cols[i]); err != nil {
			return err
		}
		c := &sr.cols[i]
		if c.leaf.maxRep == 0 && int64(c.slots) != rows {
			return fmt.Errorf("%w: column %d has %d values for %d rows", ErrCorrupt, i, c.slots, rows)
		}
		c.startRows()
	}
	for _, g := range []*attrLeaves{&sr.cs.spanAttrs, &sr.cs.resAttrs, &sr.cs.scopeAttrs, &sr.cs.events.attrs, &sr.cs.links.attrs} {
		if err := sr.checkGroup(g.key, g.typ, g.str, g.int, g.double, g.bytes); err != nil {
			return err
		}
	}
	if err := sr.checkGroup(sr.cs.events.time, sr.cs.events.name, sr.cs.events.dropped); err != nil {
		return err
	}
	if err := sr.checkGroup(sr.cs.links.traceID, sr.cs.links.spanID, sr.cs.links.traceState, sr.cs.links.flags, sr.cs.links.dropped); err != nil {
		return err
	}
	for _, r := range ranges {
		for row := r.from; row < r.to; row++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			if want != nil && !want(row) {
				for i := range sr.cols {
					sr.cols[i].skipRow()
				}
				continue
			}
			var s model.Span
			if err := sr.span(&s); err != nil {
				return fmt.Errorf("%w: row %d: %w", ErrCorrupt, row, err)
			}
			if err := fn(row, &s); err != nil {
				return err
			}
		}
	}
	for i := range sr.cols {
		if err := sr.cols[i].done(); err != nil {
			return err
		}
	}
	return nil
}

// checkGroup verifies that the leaves of one list have the same levels count.
func (sr *spanReader) checkGroup(leaves ...leaf) error {
	n := sr.col(leaves[0]).slots
	for _, l := range leaves[1:] {
		if sr.col(l).slots != n {
			return fmt.Errorf("%w: columns %d and %d of one list differ in length", ErrCorrupt, leaves[0].index, l.index)
		}
	}
	return nil
}

// flatFixed returns the next row's value of a required fixed-length column.
func (sr *spanReader) flatFixed(l leaf, dst []byte) error {
	c := sr.col(l)
	k, err := c.flat()
	if err != nil {
		return err
	}
	if k < 0 || c.kind != encoding.FixedLenByteArray || c.size != len(dst) {
		return fmt.Errorf("column %d is not of %d-byte values", l.index, len(dst))
	}
	copy(dst, c.fixed[k*c.size:])
	return nil
}

// flatInt64 returns the next row's value of a required int64 column.
func (sr *spanReader) flatInt64(l leaf) (int64, error) {
	c := sr.col(l)
	k, err := c.flat()
	if err != nil {
		return 0, err
	}
	if k < 0 || c.kind != encoding.Int64 {
		return 0, fmt.Errorf("column %d is not of int64 values", l.index)
	}
	return c.i64[k], nil
}

// flatInt32 returns the next row's value of a required int32 column.
func (sr *spanReader) flatInt32(l leaf) (int32, error) {
	c := sr.col(l)
	k, err := c.flat()
	if err != nil {
		return 0, err
	}
	if k < 0 || c.kind != encoding.Int32 {
		return 0, fmt.Errorf("column %d is not of int32 values", l.index)
	}
	return c.i32[k], nil
}

// flatString returns the next row's value of a string column and whether it
// is not null.
func (sr *spanReader) flatString(l leaf) (string, bool, error) {
	c := sr.col(l)
	k, err := c.flat()
	if err != nil || k < 0 {
		return "", false, err
	}
	if c.kind != encoding.ByteArray {
		return "", false, fmt.Errorf("column %d is not of strings", l.index)
	}
	return c.str(k), true, nil
}

// span builds the next row's span.
func (sr *spanReader) span(s *model.Span) error {
	cs := sr.cs
	if err := sr.flatFixed(cs.traceID, s.TraceID[:]); err != nil {
		return err
	}
	if err := sr.flatFixed(cs.spanID, s.SpanID[:]); err != nil {
		return err
	}
	if err := sr.flatFixed(cs.parentSpanID, s.ParentSpanID[:]); err != nil {
		return err
	}
	start, err := sr.flatInt64(cs.start)
	if err != nil {
		return err
	}
	dur, err := sr.flatInt64(cs.duration)
	if err != nil {
		return err
	}
	s.StartTimeUnixNano = uint64(start)
	s.EndTimeUnixNano = uint64(start) + uint64(dur)
	if s.Name, _, err = sr.flatString(cs.name); err != nil {
		return err
	}
	if err := sr.kind(s); err != nil {
		return err
	}
	if err := sr.status(s); err != nil {
		return err
	}
	service, hasResource, err := sr.flatString(cs.service)
	if err != nil {
		return err
	}
	for i := range fixedDedicatedKeys {
		if sr.dedFixed[i], err = sr.col(cs.fixedDed[i]).flat(); err != nil {
			return err
		}
	}
	for i := range sr.dedExtra {
		if sr.dedExtra[i], err = sr.col(cs.extra[i]).flat(); err != nil {
			return err
		}
	}
	if s.TraceState, _, err = sr.flatString(cs.traceState); err != nil {
		return err
	}
	flags, err := sr.flatInt32(cs.flags)
	if err != nil {
		return err
	}
	s.Flags = uint32(flags)
	if s.Attributes, err = sr.attrList(&cs.spanAttrs, 1, nil, sr.spanDedicated, nil); err != nil {
		return err
	}
	if s.DroppedAttributesCount, err = sr.flatUint32(cs.droppedAttrs); err != nil {
		return err
	}
	if s.Events, err = sr.events(); err != nil {
		return err
	}
	if s.DroppedEventsCount, err = sr.flatUint32(cs.droppedEvents); err != nil {
		return err
	}
	if s.Links, err = sr.links(); err != nil {
		return err
	}
	if s.DroppedLinksCount, err = sr.flatUint32(cs.droppedLinks); err != nil {
		return err
	}
	if s.Resource, err = sr.resource(service, hasResource); err != nil {
		return err
	}
	return sr.scope(s)
}

// kind decodes the next row's span kind into s.
func (sr *spanReader) kind(s *model.Span) error {
	kind, err := sr.flatInt32(sr.cs.kind)
	if err != nil {
		return err
	}
	if kind < 0 || kind > int32(model.KindConsumer) {
		return fmt.Errorf("span kind %d out of range", kind)
	}
	s.Kind = model.SpanKind(kind)
	return nil
}

// status decodes the next row's status code and message into s.
func (sr *spanReader) status(s *model.Span) error {
	status, err := sr.flatInt32(sr.cs.status)
	if err != nil {
		return err
	}
	if status < 0 || status > int32(model.StatusError) {
		return fmt.Errorf("status code %d out of range", status)
	}
	s.StatusCode = model.StatusCode(status)
	s.StatusMessage, _, err = sr.flatString(sr.cs.statusMessage)
	return err
}

func (sr *spanReader) flatUint32(l leaf) (uint32, error) {
	v, err := sr.flatInt32(l)
	return uint32(v), err
}

// spanDedicated resolves a span attribute whose value is in a dedicated
// column of the current row.
func (sr *spanReader) spanDedicated(key string) (model.Value, error) {
	for i, k := range fixedDedicatedKeys {
		if k != key {
			continue
		}
		c, v := sr.col(sr.cs.fixedDed[i]), sr.dedFixed[i]
		switch {
		case v < 0:
		case c.kind == encoding.Int64:
			return model.IntValue(c.i64[v]), nil
		case c.kind == encoding.ByteArray:
			return model.StringValue(c.str(v)), nil
		}
		return model.Value{}, fmt.Errorf("dedicated attribute %q has no value", key)
	}
	for i, k := range sr.extra {
		if k == key && i < len(sr.dedExtra) {
			c, v := sr.col(sr.cs.extra[i]), sr.dedExtra[i]
			if v >= 0 && c.kind == encoding.ByteArray {
				return model.StringValue(c.str(v)), nil
			}
		}
	}
	return model.Value{}, fmt.Errorf("dedicated attribute %q has no value", key)
}

// attrList decodes the attribute list that starts at the current slot of
// the group's leaves; depth is the list's repetition level. Decoded
// attributes are appended to dst (a fresh slice when dst is nil and the list
// is not empty). ded resolves dedicated entries; nil allows none. keep, when
// not nil, picks the keys to decode: other entries are stepped over.
func (sr *spanReader) attrList(g *attrLeaves, depth int, dst model.Attributes, ded func(string) (model.Value, error), keep func(string) bool) (model.Attributes, error) {
	key, typ, str, i64, f64, byt := sr.col(g.key), sr.col(g.typ), sr.col(g.str), sr.col(g.int), sr.col(g.double), sr.col(g.bytes)
	start := key.pos
	if start >= key.slots {
		return nil, fmt.Errorf("attribute column %d ends early", g.key.index)
	}
	end := start + 1
	for end < key.slots && int(key.rep[end]) == depth {
		end++
	}
	if !key.defined(start) {
		if end != start+1 {
			return nil, fmt.Errorf("attribute column %d: empty list continues", g.key.index)
		}
		for _, c := range []*column{key, typ, str, i64, f64, byt} {
			c.pos = end
		}
		return dst, nil
	}
	if dst == nil && keep == nil {
		dst = make(model.Attributes, 0, end-start)
	}
	for slot := start; slot < end; slot++ {
		if !key.defined(slot) || !typ.defined(slot) {
			return nil, fmt.Errorf("attribute column %d: missing entry in a list", g.key.index)
		}
		if key.val >= len(key.ids) || typ.val >= len(typ.i32) || key.kind != encoding.ByteArray || typ.kind != encoding.Int32 {
			return nil, fmt.Errorf("attribute column %d has too few values", g.key.index)
		}
		k := key.str(key.val)
		key.val++
		t := typ.i32[typ.val]
		typ.val++
		if keep != nil && !keep(k) {
			for _, c := range []*column{str, i64, f64, byt} {
				if c.defined(slot) {
					c.val++
				}
			}
			continue
		}
		var v model.Value
		var has bool
		switch vt := model.ValueType(t); {
		case t == valueDedicated:
			if ded == nil {
				return nil, fmt.Errorf("attribute %q refers to a dedicated column here", k)
			}
			dv, err := ded(k)
			if err != nil {
				return nil, err
			}
			v, has = dv, true
		case t < 0 || t > int32(model.ValueMap):
			return nil, fmt.Errorf("attribute %q has unknown type %d", k, t)
		case vt == model.ValueString || vt == model.ValueArray || vt == model.ValueMap:
			// A null str is the empty string (the writer stores "" as null).
			v, has = model.Value{Type: vt}, !str.defined(slot)
			if !has && str.val < len(str.ids) && str.kind == encoding.ByteArray {
				v.Str, has = str.str(str.val), true
			}
		case vt == model.ValueInt || vt == model.ValueBool:
			// A null int is zero.
			v, has = model.Value{Type: vt}, !i64.defined(slot)
			if !has && i64.val < len(i64.i64) && i64.kind == encoding.Int64 {
				v.Int, has = i64.i64[i64.val], true
			}
		case vt == model.ValueDouble:
			if f64.defined(slot) && f64.val < len(f64.f64) && f64.kind == encoding.Double {
				v, has = model.Value{Type: vt, Double: f64.f64[f64.val]}, true
			}
		case vt == model.ValueBytes:
			if byt.defined(slot) && byt.val < len(byt.ids) && byt.kind == encoding.ByteArray {
				v, has = model.Value{Type: vt, Str: string(byt.bytes(byt.val))}, true
			}
		default:
			has = true
		}
		if !has {
			return nil, fmt.Errorf("%s attribute %q has no value", model.ValueType(t), k)
		}
		for _, c := range []*column{str, i64, f64, byt} {
			if c.defined(slot) {
				c.val++
			}
		}
		dst = append(dst, model.Attribute{Key: k, Value: v})
	}
	for _, c := range []*column{key, typ, str, i64, f64, byt} {
		c.pos = end
	}
	return dst, nil
}

// listSlots returns the slots [start, end) of the list that starts at the
// current slot of column c (repetition level depth), and whether the list
// is empty.
func listSlots(c *column, depth int) (start, end int, empty bool, err error) {
	start = c.pos
	if start >= c.slots {
		return 0, 0, false, fmt.Errorf("column %d ends early", c.leaf.index)
	}
	end = start + 1
	for end < c.slots && int(c.rep[end]) == depth {
		end++
	}
	if !c.defined(start) {
		if end != start+1 {
			return 0, 0, false, fmt.Errorf("column %d: empty list continues", c.leaf.index)
		}
		return start, end, true, nil
	}
	return start, end, false, nil
}

// events decodes the current row's events.
func (sr *spanReader) events() ([]model.Event, error) {
	el := &sr.cs.events
	tc, nc, dc := sr.col(el.time), sr.col(el.name), sr.col(el.dropped)
	start, end, empty, err := listSlots(tc, 1)
	if err != nil {
		return nil, err
	}
	if empty {
		tc.pos, nc.pos, dc.pos = end, end, end
		_, err := sr.attrList(&el.attrs, 2, nil, nil, nil)
		return nil, err
	}
	out := make([]model.Event, 0, end-start)
	for range end - start {
		var e model.Event
		t, err := sr.flatInt64(el.time)
		if err != nil {
			return nil, err
		}
		e.TimeUnixNano = uint64(t)
		if e.Name, _, err = sr.flatString(el.name); err != nil {
			return nil, err
		}
		if e.DroppedAttributesCount, err = sr.flatUint32(el.dropped); err != nil {
			return nil, err
		}
		if e.Attributes, err = sr.attrList(&el.attrs, 2, nil, nil, nil); err != nil {
			return nil, fmt.Errorf("event %d: %w", len(out), err)
		}
		out = append(out, e)
	}
	return out, nil
}

// links decodes the current row's links.
func (sr *spanReader) links() ([]model.Link, error) {
	ll := &sr.cs.links
	tc := sr.col(ll.traceID)
	start, end, empty, err := listSlots(tc, 1)
	if err != nil {
		return nil, err
	}
	if empty {
		for _, l := range []leaf{ll.traceID, ll.spanID, ll.traceState, ll.flags, ll.dropped} {
			sr.col(l).pos = end
		}
		_, err := sr.attrList(&ll.attrs, 2, nil, nil, nil)
		return nil, err
	}
	out := make([]model.Link, 0, end-start)
	for range end - start {
		var l model.Link
		if err := sr.flatFixed(ll.traceID, l.TraceID[:]); err != nil {
			return nil, err
		}
		if err := sr.flatFixed(ll.spanID, l.SpanID[:]); err != nil {
			return nil, err
		}
		if l.TraceState, _, err = sr.flatString(ll.traceState); err != nil {
			return nil, err
		}
		if l.Flags, err = sr.flatUint32(ll.flags); err != nil {
			return nil, err
		}
		if l.DroppedAttributesCount, err = sr.flatUint32(ll.dropped); err != nil {
			return nil, err
		}
		if l.Attributes, err = sr.attrList(&ll.attrs, 2, nil, nil, nil); err != nil {
			return nil, fmt.Errorf("link %d: %w", len(out), err)
		}
		out = append(out, l)
	}
	return out, nil
}

// resource decodes the current row's resource, sharing an equal one built
// before.
func (sr *spanReader) resource(service string, present bool) (*model.Resource, error) {
	svcDedicated := func(key string) (model.Value, error) {
		if key != keyServiceName {
			return model.Value{}, fmt.Errorf("resource attribute %q cannot be dedicated", key)
		}
		return model.StringValue(service), nil
	}
	attrs, err := sr.attrList(&sr.cs.resAttrs, 1, sr.scratch[:0], svcDedicated, nil)
	if err != nil {
		return nil, fmt.Errorf("resource: %w", err)
	}
	sr.scratch = attrs[:0]
	dropped, err := sr.flatUint32(sr.cs.resDropped)
	if err != nil {
		return nil, err
	}
	if !present {
		if len(attrs) > 0 || dropped != 0 {
			return nil, fmt.Errorf("resource attributes without a resource")
		}
		return nil, nil
	}
	for _, res := range sr.resources {
		if res.ServiceName == service && res.DroppedAttributesCount == dropped && slices.Equal(res.Attributes, attrs) {
			return res, nil
		}
	}
	res := &model.Resource{ServiceName: service, Attributes: cloneAttrs(attrs), DroppedAttributesCount: dropped}
	sr.resources = remember(sr.resources, res)
	return res, nil
}

// scope decodes the current row's scope into s, sharing an equal one built
// before.
func (sr *spanReader) scope(s *model.Span) error {
	cs := sr.cs
	name, present, err := sr.flatString(cs.scopeName)
	if err != nil {
		return err
	}
	version, _, err := sr.flatString(cs.scopeVersion)
	if err != nil {
		return err
	}
	attrs, err := sr.attrList(&cs.scopeAttrs, 1, sr.scratch[:0], nil, nil)
	if err != nil {
		return fmt.Errorf("scope: %w", err)
	}
	sr.scratch = attrs[:0]
	dropped, err := sr.flatUint32(cs.scopeDropped)
	if err != nil {
		return err
	}
	if !present {
		if len(attrs) > 0 || version != "" || dropped != 0 {
			return fmt.Errorf("scope fields without a scope")
		}
		return nil
	}
	for _, sc := range sr.scopes {
		if sc.Name == name && sc.Version == version && sc.DroppedAttributesCount == dropped && slices.Equal(sc.Attributes, attrs) {
			s.Scope = sc
			return nil
		}
	}
	sc := &model.Scope{Name: name, Version: version, Attributes: cloneAttrs(attrs), DroppedAttributesCount: dropped}
	sr.scopes = remember(sr.scopes, sc)
	s.Scope = sc
	return nil
}

// cloneAttrs copies attrs, keeping nil for an empty list.
func cloneAttrs(attrs model.Attributes) model.Attributes {
	if len(attrs) == 0 {
		return nil
	}
	return slices.Clone(attrs)
}

// maxShared bounds the resources and scopes a reader remembers for sharing.
const maxShared = 64

// remember adds v to the front of list, keeping at most maxShared entries.
func remember[T any](list []*T, v *T) []*T {
	if len(list) < maxShared {
		list = append(list, nil)
	}
	copy(list[1:], list)
	list[0] = v
	return list
}
