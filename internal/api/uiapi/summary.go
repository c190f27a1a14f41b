package uiapi

import (
	"cmp"
	"slices"

	"waymark/internal/model"
)

// ServiceCount is the number of spans, and of failed spans, one service
// contributed to a trace.
type ServiceCount struct {
	Name       string `json:"name"`
	SpanCount  int    `json:"spanCount"`
	ErrorCount int    `json:"errorCount"`
}

// TraceSummary is what the search results list shows of one trace.
type TraceSummary struct {
	TraceID       string `json:"traceID"`
	RootService   string `json:"rootService"`
	RootOperation string `json:"rootOperation"`
	// RootMissing says no span without a parent was found; the root fields
	// then name the earliest span whose parent is absent.
	RootMissing bool `json:"rootMissing,omitempty"`
	// StartUs is the earliest span start (µs since the epoch) and DurationUs
	// the time from it to the latest span end.
	StartUs    int64   `json:"startUs"`
	DurationUs float64 `json:"durationUs"`
	SpanCount  int     `json:"spanCount"`
	ErrorCount int     `json:"errorCount"`
	// Depth is the number of levels of the span tree.
	Depth int `json:"depth"`
	// OrphanCount is the number of spans whose parent is not in the trace.
	OrphanCount int `json:"orphanCount"`
	// Services lists the services in the trace by descending span count.
	Services []ServiceCount `json:"services"`
}

// Summarize builds the summary of one trace from all its spans. spans must
// not be empty.
func Summarize(id model.TraceID, spans []model.Span) TraceSummary {
	sum := TraceSummary{TraceID: id.String(), SpanCount: len(spans)}
	index := make(map[model.SpanID]int, len(spans))
	for i := range spans {
		index[spans[i].SpanID] = i
	}
	var minStart, maxEnd uint64
	root, rootIsTrue := -1, false
	svcIdx := make(map[string]int)
	for i := range spans {
		s := &spans[i]
		if i == 0 || s.StartTimeUnixNano < minStart {
			minStart = s.StartTimeUnixNano
		}
		if end := max(s.EndTimeUnixNano, s.StartTimeUnixNano); end > maxEnd {
			maxEnd = end
		}
		failed := isError(s)
		if failed {
			sum.ErrorCount++
		}
		name := s.ServiceName()
		j, ok := svcIdx[name]
		if !ok {
			j = len(sum.Services)
			svcIdx[name] = j
			sum.Services = append(sum.Services, ServiceCount{Name: name})
		}
		sum.Services[j].SpanCount++
		if failed {
			sum.Services[j].ErrorCount++
		}
		_, hasParent := index[s.ParentSpanID]
		isTrueRoot := s.ParentSpanID.IsZero()
		if !isTrueRoot && !hasParent {
			sum.OrphanCount++
		}
		if isTrueRoot || !hasParent {
			if root < 0 || (isTrueRoot && !rootIsTrue) || (isTrueRoot == rootIsTrue && s.StartTimeUnixNano < spans[root].StartTimeUnixNano) {
				root, rootIsTrue = i, isTrueRoot
			}
		}
	}
	if root < 0 {
		// Every span has a parent in the trace: a cycle. Take the earliest.
		root = 0
		for i := range spans {
			if spans[i].StartTimeUnixNano < spans[root].StartTimeUnixNano {
				root = i
			}
		}
	}
	sum.RootService = spans[root].ServiceName()
	sum.RootOperation = spans[root].Name
	sum.RootMissing = !rootIsTrue
	sum.StartUs = int64(minStart / 1e3)
	sum.DurationUs = nsToUs(maxEnd - minStart)
	sum.Depth = treeDepth(spans, index)
	slices.SortStableFunc(sum.Services, func(a, b ServiceCount) int {
		return cmp.Or(cmp.Compare(b.SpanCount, a.SpanCount), cmp.Compare(a.Name, b.Name))
	})
	return sum
}

// treeDepth returns the number of levels of the span tree. A span whose
// parent is absent starts a level-1 subtree; cycles are cut.
func treeDepth(spans []model.Span, index map[model.SpanID]int) int {
	depth := make([]int32, len(spans)) // 0 unknown, -1 on the current path
	maxDepth := int32(0)
	var path []int
	for i := range spans {
		if depth[i] != 0 {
			continue
		}
		// Walk up to a root, an absent parent, a span of known depth or a
		// cycle, then assign depths on the way back down.
		path = path[:0]
		base := int32(0)
		for j := i; ; {
			depth[j] = -1
			path = append(path, j)
			pid := spans[j].ParentSpanID
			if pid.IsZero() {
				break
			}
			p, ok := index[pid]
			if !ok || depth[p] == -1 {
				break
			}
			if depth[p] > 0 {
				base = depth[p]
				break
			}
			j = p
		}
		for k := len(path) - 1; k >= 0; k-- {
			base++
			depth[path[k]] = base
		}
		maxDepth = max(maxDepth, base)
	}
	return int(maxDepth)
}
