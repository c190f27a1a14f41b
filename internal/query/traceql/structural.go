package traceql

import "waymark/internal/model"

// traceTree links the spans of a trace by their parent span IDs. It is
// built once per trace, when a query first needs it.
type traceTree struct {
	// parent is the index of each span's parent, or -1 when the span is a
	// root or its parent was not received. A span ID that occurs twice
	// resolves to its first occurrence.
	parent []int32
	// sibling numbers the groups of spans that share a non-zero parent span
	// ID; -1 for spans without a parent ID.
	sibling []int32
	// childCount is the number of spans whose parent is each span.
	childCount []int32
}

func (e *evaluator) traceTree() *traceTree {
	if e.tree != nil {
		return e.tree
	}
	n := len(e.trace)
	t := &traceTree{parent: make([]int32, n), sibling: make([]int32, n), childCount: make([]int32, n)}
	byID := make(map[model.SpanID]int32, n)
	for i := range e.trace {
		if _, dup := byID[e.trace[i].SpanID]; !dup {
			byID[e.trace[i].SpanID] = int32(i)
		}
	}
	groups := make(map[model.SpanID]int32)
	for i := range e.trace {
		pid := e.trace[i].ParentSpanID
		t.parent[i], t.sibling[i] = -1, -1
		if pid.IsZero() {
			continue
		}
		g, ok := groups[pid]
		if !ok {
			g = int32(len(groups))
			groups[pid] = g
		}
		t.sibling[i] = g
		if p, ok := byID[pid]; ok && p != int32(i) {
			t.parent[i] = p
			t.childCount[p]++
		}
	}
	e.tree = t
	return t
}

// inverse returns the relation that holds from b to a when rel holds from
// a to b.
func inverse(rel SpansetOp) SpansetOp {
	switch rel {
	case SpansetChild:
		return SpansetParent
	case SpansetParent:
		return SpansetChild
	case SpansetDescendant:
		return SpansetAncestor
	case SpansetAncestor:
		return SpansetDescendant
	}
	return rel
}

// relate returns the spans of r that stand in relation rel to some span of
// l (as {l} rel {r} defines it), or, when negated, those that stand in it to
// none. Both lists and the result are ascending span indices.
func (e *evaluator) relate(rel SpansetOp, l, r []int32, negated bool) []int32 {
	t := e.traceTree()
	n := len(e.trace)
	inL := make([]bool, n)
	for _, i := range l {
		inL[i] = true
	}
	var holds func(i int32) bool
	switch rel {
	case SpansetChild:
		holds = func(i int32) bool { p := t.parent[i]; return p >= 0 && inL[p] }
	case SpansetParent:
		isParent := make([]bool, n)
		for _, i := range l {
			if p := t.parent[i]; p >= 0 {
				isParent[p] = true
			}
		}
		holds = func(i int32) bool { return isParent[i] }
	case SpansetDescendant:
		holds = func(i int32) bool {
			for p, steps := t.parent[i], 0; p >= 0 && steps < n; p, steps = t.parent[p], steps+1 {
				if inL[p] {
					return true
				}
			}
			return false
		}
	case SpansetAncestor:
		isAncestor := make([]bool, n)
		for _, i := range l {
			for p, steps := t.parent[i], 0; p >= 0 && steps < n && !isAncestor[p]; p, steps = t.parent[p], steps+1 {
				isAncestor[p] = true
			}
		}
		holds = func(i int32) bool { return isAncestor[i] }
	case SpansetSibling:
		count := make(map[int32]int)
		for _, i := range l {
			if g := t.sibling[i]; g >= 0 {
				count[g]++
			}
		}
		holds = func(i int32) bool {
			g := t.sibling[i]
			if g < 0 {
				return false
			}
			c := count[g]
			if inL[i] {
				c--
			}
			return c > 0
		}
	default:
		return nil
	}
	var out []int32
	for _, i := range r {
		if holds(i) != negated {
			out = append(out, i)
		}
	}
	return out
}
