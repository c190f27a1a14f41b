package block

import (
	"context"
	"fmt"
	"slices"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"

	"waymark/internal/model"
	"waymark/internal/store/filter"
)

// A search with a filter.Projection builds light spans: it fetches and
// decodes only the columns of the fields asked for (plus trace_id and
// start_time, which every span carries), reads the generic attribute lists
// only in row groups whose key index holds a wanted key, and steps over
// the entries of other keys without building them.

// projPlan is what a projected read decodes of one row group.
type projPlan struct {
	p *filter.Projection
	// cols are the leaf indexes to fetch and decode.
	cols []int
	// spanDed are the dedicated columns of wanted span keys; spanList and
	// resList say whether the generic span and resource lists are read.
	spanDed           []dedRead
	spanList, resList bool
	// svc says whether the service_name column is read (a Resource is built).
	svc bool
}

// projPlan decides the columns a projected read of a row group decodes.
func (b *Block) projPlan(p *filter.Projection, info *rowGroupInfo, buf []int) projPlan {
	pp := projPlan{p: p, cols: buf[:0]}
	cs := &b.cols
	add := func(need bool, l leaf) {
		if need {
			pp.cols = append(pp.cols, l.index)
		}
	}
	add(true, cs.traceID)
	add(true, cs.start)
	add(p.Has(filter.FieldDuration), cs.duration)
	add(p.Has(filter.FieldName), cs.name)
	add(p.Has(filter.FieldKind), cs.kind)
	add(p.Has(filter.FieldStatus), cs.status)
	add(p.Has(filter.FieldStatus), cs.statusMessage)
	add(p.Has(filter.FieldSpanID), cs.spanID)
	add(p.Has(filter.FieldParentSpanID), cs.parentSpanID)
	for _, k := range p.SpanAttributes {
		if d, ok := b.dedicatedLeaf(k); ok && !slices.ContainsFunc(pp.spanDed, func(x dedRead) bool { return x.key == k }) {
			pp.spanDed = append(pp.spanDed, d)
			add(true, d.leaf)
		}
		pp.spanList = pp.spanList || hasKey(info.SpanKeys, k)
	}
	for _, k := range p.ResourceAttributes {
		// An entry of service.name is generic (in the key index) or marks
		// the service column; the mark matters only for an empty service,
		// whose attribute then exists with an empty value.
		if hasKey(info.ResourceKeys, k) || (k == keyServiceName && slices.Contains(b.meta.Services, "")) {
			pp.resList = true
		}
	}
	pp.svc = p.Has(filter.FieldServiceName) || len(p.ResourceAttributes) > 0
	add(pp.svc, cs.service)
	for _, g := range []struct {
		need bool
		al   *attrLeaves
	}{{pp.spanList, &cs.spanAttrs}, {pp.resList, &cs.resAttrs}} {
		for _, l := range []leaf{g.al.key, g.al.typ, g.al.str, g.al.int, g.al.double, g.al.bytes} {
			add(g.need, l)
		}
	}
	return pp
}

// projected is the state of a projected search: the plan of the current
// row group and the attribute arena its spans' Attributes point into.
type projected struct {
	plan  projPlan
	arena model.Attributes
	// keepSpan, keepRes and svcDedicated are made once per search.
	keepSpan, keepRes func(string) bool
	svcDedicated      func(string) (model.Value, error)
	spanDedicated     func(string) (model.Value, error)
	service           string // of the current row
	// span is the span being built, which fn copies.
	span model.Span
	// svcByID holds the attribute-less resource of each entry of svcDict,
	// the dictionary of the service column being read.
	svcByID []*model.Resource
	svcDict parquet.Dictionary
}

// serviceResource returns the attribute-less resource of value k of the
// service column c, looked up once per dictionary entry.
func (pj *projected) serviceResource(sr *spanReader, c *column, k int) *model.Resource {
	id := c.ids[k]
	if id < 0 {
		return sr.lightResource(c.str(k), nil)
	}
	if c.dictOf != pj.svcDict {
		pj.svcDict = c.dictOf
		clear(pj.svcByID)
		pj.svcByID = pj.svcByID[:0]
	}
	if n := int(id) + 1; n > len(pj.svcByID) {
		pj.svcByID = append(pj.svcByID, make([]*model.Resource, n-len(pj.svcByID))...)
	}
	if r := pj.svcByID[id]; r != nil {
		return r
	}
	r := sr.lightResource(c.str(k), nil)
	pj.svcByID[id] = r
	return r
}

func newProjected(p *filter.Projection, sr *spanReader, arena model.Attributes) *projected {
	pj := &projected{spanDedicated: sr.spanDedicated, arena: arena[:0]}
	pj.keepSpan = func(k string) bool { return slices.Contains(p.SpanAttributes, k) }
	pj.keepRes = func(k string) bool { return slices.Contains(p.ResourceAttributes, k) }
	pj.svcDedicated = func(key string) (model.Value, error) {
		if key != keyServiceName {
			return model.Value{}, fmt.Errorf("resource attribute %q cannot be dedicated", key)
		}
		return model.StringValue(pj.service), nil
	}
	return pj
}

// readProjected is read for a projected plan: it decodes only the plan's
// columns and builds light spans. The span given to fn is valid during the
// call, its Attributes until the caller restarts the arena.
func (sr *spanReader) readProjected(ctx context.Context, rg parquet.RowGroup, ranges []rowRange, want func(row int64) bool, pj *projected, fn func(row int64, s *model.Span) error) error {
	var rows int64
	for _, r := range ranges {
		rows += r.to - r.from
	}
	if rows == 0 {
		return nil
	}
	pp := &pj.plan
	for _, i := range pp.cols {
		c := &sr.cols[i]
		if err := readColumn(ctx, rg, sr.cs.all[i], ranges, c); err != nil {
			return err
		}
		if c.leaf.maxRep == 0 && int64(c.slots) != rows {
			return fmt.Errorf("%w: column %d has %d values for %d rows", ErrCorrupt, i, c.slots, rows)
		}
		c.startRows()
	}
	for _, g := range []struct {
		need bool
		al   *attrLeaves
	}{{pp.spanList, &sr.cs.spanAttrs}, {pp.resList, &sr.cs.resAttrs}} {
		if g.need {
			if err := sr.checkGroup(g.al.key, g.al.typ, g.al.str, g.al.int, g.al.double, g.al.bytes); err != nil {
				return err
			}
		}
	}
	for i := range sr.dedFixed {
		sr.dedFixed[i] = -1
	}
	for i := range sr.dedExtra {
		sr.dedExtra[i] = -1
	}
	for _, r := range ranges {
		for row := r.from; row < r.to; row++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			if want != nil && !want(row) {
				for _, i := range pp.cols {
					sr.cols[i].skipRow()
				}
				continue
			}
			s := &pj.span
			*s = model.Span{}
			if err := sr.projSpan(s, pj); err != nil {
				return fmt.Errorf("%w: row %d: %w", ErrCorrupt, row, err)
			}
			if err := fn(row, s); err != nil {
				return err
			}
		}
	}
	for _, i := range pp.cols {
		if err := sr.cols[i].done(); err != nil {
			return err
		}
	}
	return nil
}

// projSpan builds the next row's light span.
func (sr *spanReader) projSpan(s *model.Span, pj *projected) error {
	cs, pp := sr.cs, &pj.plan
	p := pp.p
	if err := sr.flatFixed(cs.traceID, s.TraceID[:]); err != nil {
		return err
	}
	start, err := sr.flatInt64(cs.start)
	if err != nil {
		return err
	}
	s.StartTimeUnixNano, s.EndTimeUnixNano = uint64(start), uint64(start)
	if p.Has(filter.FieldDuration) {
		dur, err := sr.flatInt64(cs.duration)
		if err != nil {
			return err
		}
		s.EndTimeUnixNano = uint64(start) + uint64(dur)
	}
	if p.Has(filter.FieldName) {
		if s.Name, _, err = sr.flatString(cs.name); err != nil {
			return err
		}
	}
	if p.Has(filter.FieldKind) {
		if err := sr.kind(s); err != nil {
			return err
		}
	}
	if p.Has(filter.FieldStatus) {
		if err := sr.status(s); err != nil {
			return err
		}
	}
	if p.Has(filter.FieldSpanID) {
		if err := sr.flatFixed(cs.spanID, s.SpanID[:]); err != nil {
			return err
		}
	}
	if p.Has(filter.FieldParentSpanID) {
		if err := sr.flatFixed(cs.parentSpanID, s.ParentSpanID[:]); err != nil {
			return err
		}
	}
	if err := sr.projSpanAttrs(s, pj); err != nil {
		return err
	}
	if !pp.svc {
		return nil
	}
	svc := sr.col(cs.service)
	k, err := svc.flat()
	if err != nil {
		return err
	}
	if k >= 0 && svc.kind != encoding.ByteArray {
		return fmt.Errorf("column %d is not of strings", cs.service.index)
	}
	present := k >= 0
	if present && !pp.resList {
		s.Resource = pj.serviceResource(sr, svc, k)
		return nil
	}
	var service string
	if present {
		service = svc.str(k)
	}
	var attrs model.Attributes
	if pp.resList {
		pj.service = service
		if attrs, err = sr.attrList(&cs.resAttrs, 1, sr.scratch[:0], pj.svcDedicated, pj.keepRes); err != nil {
			return fmt.Errorf("resource: %w", err)
		}
		sr.scratch = attrs[:0]
	}
	if !present {
		if len(attrs) > 0 {
			return fmt.Errorf("resource attributes without a resource")
		}
		return nil
	}
	s.Resource = sr.lightResource(service, attrs)
	return nil
}

// projSpanAttrs fills in the wanted span attributes of the current row.
func (sr *spanReader) projSpanAttrs(s *model.Span, pj *projected) error {
	pp := &pj.plan
	for _, d := range pp.spanDed {
		k, err := sr.col(d.leaf).flat()
		if err != nil {
			return err
		}
		sr.setDedicated(d.key, k)
	}
	n := len(pj.arena)
	if pp.spanList {
		attrs, err := sr.attrList(&sr.cs.spanAttrs, 1, pj.arena[n:n], pj.spanDedicated, pj.keepSpan)
		if err != nil {
			return err
		}
		pj.arena = append(pj.arena[:n], attrs...)
	} else {
		// Without generic entries of the wanted keys here, a dedicated
		// column holds a key's value exactly when the span has the key.
		for _, d := range pp.spanDed {
			if !sr.hasDedicated(d.key) {
				continue
			}
			v, err := sr.spanDedicated(d.key)
			if err != nil {
				return err
			}
			pj.arena = append(pj.arena, model.Attribute{Key: d.key, Value: v})
		}
	}
	if m := len(pj.arena); m > n {
		s.Attributes = pj.arena[n:m:m]
	}
	return nil
}

// setDedicated records value index k of the current row's dedicated column
// of key.
func (sr *spanReader) setDedicated(key string, k int) {
	for i, fk := range fixedDedicatedKeys {
		if fk == key {
			sr.dedFixed[i] = k
			return
		}
	}
	for i, ek := range sr.extra {
		if ek == key && i < len(sr.dedExtra) {
			sr.dedExtra[i] = k
		}
	}
}

// hasDedicated reports whether the current row's dedicated column of key
// holds a value.
func (sr *spanReader) hasDedicated(key string) bool {
	for i, fk := range fixedDedicatedKeys {
		if fk == key {
			return sr.dedFixed[i] >= 0
		}
	}
	for i, ek := range sr.extra {
		if ek == key && i < len(sr.dedExtra) {
			return sr.dedExtra[i] >= 0
		}
	}
	return false
}

// maxLightResources bounds the resources of light spans a reader keeps.
const maxLightResources = 4096

// lightResource returns a shared resource with service and attrs (which it
// copies when it keeps them).
func (sr *spanReader) lightResource(service string, attrs model.Attributes) *model.Resource {
	if len(attrs) == 0 {
		if r, ok := sr.bySvc[service]; ok {
			return r
		}
		r := &model.Resource{ServiceName: service}
		if sr.bySvc == nil {
			sr.bySvc = make(map[string]*model.Resource)
		}
		if len(sr.bySvc) < maxLightResources {
			sr.bySvc[service] = r
		}
		return r
	}
	for _, res := range sr.resources {
		if res.ServiceName == service && res.DroppedAttributesCount == 0 && slices.Equal(res.Attributes, attrs) {
			return res
		}
	}
	res := &model.Resource{ServiceName: service, Attributes: cloneAttrs(attrs)}
	sr.resources = remember(sr.resources, res)
	return res
}

// restart empties the arena once the spans pointing into it were handed
// over, keeping the attributes of next (the first span of the next trace,
// or nil), which it moves to the arena's start.
func (pj *projected) restart(next *model.Span) {
	n := 0
	if next != nil && len(next.Attributes) > 0 {
		n = copy(pj.arena, next.Attributes)
		next.Attributes = pj.arena[:n:n]
	}
	clear(pj.arena[n:])
	pj.arena = pj.arena[:n]
}
