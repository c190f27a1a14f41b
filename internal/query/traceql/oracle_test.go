package traceql

import (
	"slices"
	"strings"

	"waymark/internal/model"
)

// This file holds the test oracle: plain Go over the dataset that computes
// what each query must return, written without the engine's code. An
// oracle returns the spansets of one trace as lists of span indices.

type oracle func(tr []model.Span) [][]int

type spanPred func(tr []model.Span, i int) bool

// where is the oracle of a single spanset filter.
func where(p func(s *model.Span) bool) oracle {
	return whereT(func(tr []model.Span, i int) bool { return p(&tr[i]) })
}

// whereT is where for predicates that need the whole trace.
func whereT(p spanPred) oracle {
	return func(tr []model.Span) [][]int {
		var idx []int
		for i := range tr {
			if p(tr, i) {
				idx = append(idx, i)
			}
		}
		if len(idx) == 0 {
			return nil
		}
		return [][]int{idx}
	}
}

func merge(a, b []int) []int {
	out := append(slices.Clone(a), b...)
	slices.Sort(out)
	return slices.Compact(out)
}

// both is {A} && {B}.
func both(a, b oracle) oracle {
	return func(tr []model.Span) [][]int {
		as, bs := a(tr), b(tr)
		var out [][]int
		for _, x := range as {
			for _, y := range bs {
				out = append(out, merge(x, y))
			}
		}
		return out
	}
}

// either is {A} || {B}.
func either(a, b oracle) oracle {
	return func(tr []model.Span) [][]int { return append(a(tr), b(tr)...) }
}

// relation reports whether spans l and r of tr are related.
type relation func(tr []model.Span, l, r int) bool

func byID(tr []model.Span, id model.SpanID) int {
	if id.IsZero() {
		return -1
	}
	for i := range tr {
		if tr[i].SpanID == id {
			return i
		}
	}
	return -1
}

func isChild(tr []model.Span, l, r int) bool {
	return !tr[r].ParentSpanID.IsZero() && tr[r].ParentSpanID == tr[l].SpanID
}

func isParent(tr []model.Span, l, r int) bool { return isChild(tr, r, l) }

func isDescendant(tr []model.Span, l, r int) bool {
	for p := byID(tr, tr[r].ParentSpanID); p >= 0; p = byID(tr, tr[p].ParentSpanID) {
		if p == l {
			return true
		}
	}
	return false
}

func isAncestor(tr []model.Span, l, r int) bool { return isDescendant(tr, r, l) }

func isSibling(tr []model.Span, l, r int) bool {
	return l != r && !tr[l].ParentSpanID.IsZero() && tr[l].ParentSpanID == tr[r].ParentSpanID
}

type structMode int

const (
	plain structMode = iota
	negated
	unioned
)

// structural is {A} rel {B} for single-spanset sides.
func structural(a, b oracle, rel relation, mode structMode) oracle {
	return func(tr []model.Span) [][]int {
		as, bs := a(tr), b(tr)
		var L, R []int
		for _, x := range as {
			L = append(L, x...)
		}
		for _, y := range bs {
			R = append(R, y...)
		}
		if len(bs) == 0 || (len(as) == 0 && mode != negated) {
			return nil
		}
		related := func(r int) bool {
			for _, l := range L {
				if rel(tr, l, r) {
					return true
				}
			}
			return false
		}
		var out []int
		for _, r := range R {
			if related(r) != (mode == negated) {
				out = append(out, r)
			}
		}
		if mode == unioned {
			for _, l := range L {
				for _, r := range R {
					if rel(tr, l, r) {
						out = append(out, l)
						break
					}
				}
			}
		}
		if len(out) == 0 {
			return nil
		}
		return [][]int{merge(out, nil)}
	}
}

// filterSets keeps the spansets for which keep holds.
func filterSets(a oracle, keep func(tr []model.Span, set []int) bool) oracle {
	return func(tr []model.Span) [][]int {
		var out [][]int
		for _, set := range a(tr) {
			if keep(tr, set) {
				out = append(out, set)
			}
		}
		return out
	}
}

// groupBy splits every spanset by key, in order of first appearance.
func groupBy(a oracle, key func(s *model.Span) string) oracle {
	return func(tr []model.Span) [][]int {
		var out [][]int
		for _, set := range a(tr) {
			pos := map[string]int{}
			first := len(out)
			for _, i := range set {
				k := key(&tr[i])
				n, ok := pos[k]
				if !ok {
					n = len(out) - first
					pos[k] = n
					out = append(out, nil)
				}
				out[first+n] = append(out[first+n], i)
			}
		}
		return out
	}
}

func durs(tr []model.Span, set []int) []int64 {
	out := make([]int64, len(set))
	for k, i := range set {
		out[k] = int64(tr[i].EndTimeUnixNano - tr[i].StartTimeUnixNano)
	}
	return out
}

// Span accessors, written against model only.

func service(s *model.Span) string { return s.Resource.ServiceName }

func resStr(s *model.Span, key string) (string, bool) {
	v, ok := s.Resource.Attributes.Get(key)
	return v.Str, ok && v.Type == model.ValueString
}

func spanStr(s *model.Span, key string) (string, bool) {
	v, ok := s.Attributes.Get(key)
	return v.Str, ok && v.Type == model.ValueString
}

func spanInt(s *model.Span, key string) (int64, bool) {
	v, ok := s.Attributes.Get(key)
	return v.Int, ok && v.Type == model.ValueInt
}

func spanFloat(s *model.Span, key string) (float64, bool) {
	v, ok := s.Attributes.Get(key)
	return v.Double, ok && v.Type == model.ValueDouble
}

func spanBool(s *model.Span, key string) (bool, bool) {
	v, ok := s.Attributes.Get(key)
	return v.Int != 0, ok && v.Type == model.ValueBool
}

func has(s *model.Span, key string) bool {
	_, ok := s.Attributes.Get(key)
	return ok
}

// tags returns the elements of the span's "tags" array attribute.
func tags(s *model.Span) ([]string, bool) {
	v, ok := s.Attributes.Get("tags")
	if !ok {
		return nil, false
	}
	inner := strings.Trim(v.Str, "[]")
	if inner == "" {
		return []string{}, true
	}
	parts := strings.Split(inner, ",")
	for i := range parts {
		parts[i] = strings.Trim(parts[i], `"`)
	}
	return parts, true
}

func dur(s *model.Span) int64 { return int64(s.EndTimeUnixNano - s.StartTimeUnixNano) }

func rootOf(tr []model.Span) int {
	for i := range tr {
		if tr[i].ParentSpanID.IsZero() {
			return i
		}
	}
	return -1
}

func traceDur(tr []model.Span) int64 {
	lo, hi := tr[0].StartTimeUnixNano, tr[0].EndTimeUnixNano
	for i := range tr {
		lo = min(lo, tr[i].StartTimeUnixNano)
		hi = max(hi, tr[i].EndTimeUnixNano)
	}
	return int64(hi - lo)
}

func childCount(tr []model.Span, i int) int {
	n := 0
	for j := range tr {
		if isChild(tr, i, j) {
			n++
		}
	}
	return n
}

func hasEvent(s *model.Span, p func(e *model.Event) bool) bool {
	for k := range s.Events {
		if p(&s.Events[k]) {
			return true
		}
	}
	return false
}
