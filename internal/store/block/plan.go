package block

import (
	"slices"

	"github.com/parquet-go/parquet-go"

	"waymark/internal/model"
	"waymark/internal/store/filter"
)

// dedRead is a dedicated column a search decodes.
type dedRead struct {
	key   string
	leaf  leaf
	isInt bool
}

// pagePredicate reports whether a page with the given bounds of a column
// may hold a matching row.
type pagePredicate struct {
	leaf leaf
	may  func(min, max parquet.Value) bool
}

// rgPlan lists what a search reads of one row group.
type rgPlan struct {
	start, duration, name, kind, status, statusMessage, service bool
	spanGeneric, resGeneric                                     bool
	ded                                                         []dedRead
	prune                                                       []pagePredicate
}

func (p *rgPlan) addDed(d dedRead) {
	for _, x := range p.ded {
		if x.key == d.key {
			return
		}
	}
	p.ded = append(p.ded, d)
}

// dedicatedLeaf returns the dedicated column of span attribute key.
func (b *Block) dedicatedLeaf(key string) (dedRead, bool) {
	if l, ok := b.cols.dedicated[key]; ok {
		return dedRead{key: key, leaf: l, isInt: key == keyHTTPResponseStatusCode || key == keyHTTPStatusCode}, true
	}
	for i, k := range b.dedicated {
		if k == key {
			return dedRead{key: key, leaf: b.cols.extra[i]}, true
		}
	}
	return dedRead{}, false
}

// plan decides what to read of a row group, or reports that no row of it
// can match.
func (s *searcher) plan(info *rowGroupInfo) (rgPlan, bool) {
	var p rgPlan
	req, cols := s.req, &s.b.cols
	if req.StartUnixNano != 0 || req.EndUnixNano != 0 {
		p.start = true
		p.prune = append(p.prune, pagePredicate{leaf: cols.start, may: func(lo, hi parquet.Value) bool {
			return (req.EndUnixNano == 0 || lo.Uint64() <= req.EndUnixNano) && (req.StartUnixNano == 0 || hi.Uint64() >= req.StartUnixNano)
		}})
	}
	if req.MinDurationNano != 0 || req.MaxDurationNano != 0 {
		p.start, p.duration = true, true
	}
	for i := range req.Conditions {
		c := &req.Conditions[i]
		present := false
		var exact *leaf
		exactKind := parquet.ByteArray
		switch c.Scope {
		case filter.ScopeIntrinsic:
			present = true
			switch c.Key {
			case filter.IntrinsicName:
				p.name, exact = true, &cols.name
			case filter.IntrinsicKind:
				p.kind = true
			case filter.IntrinsicStatus:
				p.status = true
			case filter.IntrinsicStatusMessage:
				p.statusMessage, exact = true, &cols.statusMessage
			case filter.IntrinsicDuration:
				p.start, p.duration = true, true
			default:
				present = false
			}
		default:
			sources := 0
			if c.Scope != filter.ScopeResource {
				if d, ok := s.b.dedicatedLeaf(c.Key); ok {
					p.addDed(d)
					sources++
					l := d.leaf
					exact = &l
					if d.isInt {
						exactKind = parquet.Int64
					}
				}
				if hasKey(info.SpanKeys, c.Key) {
					p.spanGeneric = true
					sources++
				}
			}
			if c.Scope != filter.ScopeSpan {
				p.service = true
				if c.Key == keyServiceName {
					sources++
					exact, exactKind = &cols.service, parquet.ByteArray
				} else if hasKey(info.ResourceKeys, c.Key) {
					p.resGeneric = true
					sources++
				}
			}
			present = sources > 0
			if sources != 1 {
				exact = nil
			}
		}
		if !present && c.Op != filter.OpNotEq && c.Op != filter.OpNotRegex {
			return p, false
		}
		if exact != nil && c.Op == filter.OpEq {
			if pred, ok := eqPredicate(*exact, exactKind, c.Value); ok {
				p.prune = append(p.prune, pred)
			}
		}
	}
	return p, true
}

// eqPredicate prunes pages of a column whose values are all different from v.
func eqPredicate(l leaf, kind parquet.Kind, v model.Value) (pagePredicate, bool) {
	switch {
	case kind == parquet.ByteArray && v.Type == model.ValueString:
		return pagePredicate{leaf: l, may: func(lo, hi parquet.Value) bool {
			return string(lo.ByteArray()) <= v.Str && v.Str <= string(hi.ByteArray())
		}}, true
	case kind == parquet.Int64 && v.Type == model.ValueInt:
		return pagePredicate{leaf: l, may: func(lo, hi parquet.Value) bool {
			return lo.Int64() <= v.Int && v.Int <= hi.Int64()
		}}, true
	}
	return pagePredicate{}, false
}

func hasKey(keys []string, k string) bool {
	_, ok := slices.BinarySearch(keys, k)
	return ok
}

// rowRange is a half-open range of rows within a row group.
type rowRange struct{ from, to int64 }

// candidateRanges applies the plan's page predicates to the column indexes
// of rg and returns the row ranges that may match.
func candidateRanges(rg parquet.RowGroup, prune []pagePredicate) ([]rowRange, error) {
	ranges := []rowRange{{0, rg.NumRows()}}
	for _, pp := range prune {
		chunk := rg.ColumnChunks()[pp.leaf.index]
		ci, err := chunk.ColumnIndex()
		if err != nil {
			continue // no page index: nothing to prune with
		}
		oi, err := chunk.OffsetIndex()
		if err != nil || oi.NumPages() != ci.NumPages() {
			continue
		}
		var keep []rowRange
		for i := 0; i < ci.NumPages(); i++ {
			from := oi.FirstRowIndex(i)
			to := rg.NumRows()
			if i+1 < oi.NumPages() {
				to = oi.FirstRowIndex(i + 1)
			}
			if ci.NullPage(i) {
				continue // only nulls: an equality or time bound never holds
			}
			if !pp.may(ci.MinValue(i), ci.MaxValue(i)) {
				continue
			}
			if n := len(keep); n > 0 && keep[n-1].to == from {
				keep[n-1].to = to
			} else {
				keep = append(keep, rowRange{from, to})
			}
		}
		ranges = intersect(ranges, keep)
		if len(ranges) == 0 {
			break
		}
	}
	return ranges, nil
}

// intersect returns the rows present in both sorted range lists.
func intersect(a, b []rowRange) []rowRange {
	var out []rowRange
	for i, j := 0, 0; i < len(a) && j < len(b); {
		from, to := max(a[i].from, b[j].from), min(a[i].to, b[j].to)
		if from < to {
			out = append(out, rowRange{from, to})
		}
		if a[i].to < b[j].to {
			i++
		} else {
			j++
		}
	}
	return out
}

// columns lists the leaf columns the plan reads.
func (p *rgPlan) columns(cols *columnSet) []int {
	var out []int
	add := func(need bool, l leaf) {
		if need {
			out = append(out, l.index)
		}
	}
	add(p.start, cols.start)
	add(p.duration, cols.duration)
	add(p.name, cols.name)
	add(p.kind, cols.kind)
	add(p.status, cols.status)
	add(p.statusMessage, cols.statusMessage)
	add(p.service, cols.service)
	for _, d := range p.ded {
		add(true, d.leaf)
	}
	for _, al := range []*attrLeaves{&cols.spanAttrs, &cols.resAttrs} {
		need := (al == &cols.spanAttrs && p.spanGeneric) || (al == &cols.resAttrs && p.resGeneric)
		for _, l := range []leaf{al.key, al.typ, al.str, al.int, al.double, al.bytes} {
			add(need, l)
		}
	}
	return out
}
