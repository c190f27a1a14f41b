package uiapi

import (
	"cmp"
	"slices"

	"waymark/internal/store/filter"
)

// Group is the statistics of the spans that share one value of the
// breakdown attribute, compared with all other spans of the breakdown.
type Group struct {
	// Value is the attribute's text value; Missing marks the group of spans
	// that lack the attribute (Value is then "").
	Value     string  `json:"value"`
	Missing   bool    `json:"missing,omitempty"`
	Count     int     `json:"count"`
	Errors    int     `json:"errorCount"`
	ErrorRate float64 `json:"errorRate"`
	Latency
	// ErrorZ is the two-proportion z-statistic of this value's error rate
	// against all other values combined (positive: more errors).
	ErrorZ float64 `json:"errorZ"`
	// LatencyRatio is this value's geometric-mean latency divided by the
	// others' (2 means twice as slow).
	LatencyRatio float64 `json:"latencyRatio"`
	// LatencyZ is the Welch statistic of the difference in mean log latency
	// (positive: slower).
	LatencyZ float64 `json:"latencyZ"`
	// Score ranks groups by how much worse than the rest they are:
	// sqrt(max(ErrorZ,0)² + max(LatencyZ,0)²).
	Score float64 `json:"score"`
}

// Breakdown is the answer of the breakdown endpoint.
type Breakdown struct {
	Attribute string `json:"attribute"`
	// Total is the statistics of all spans considered.
	Total  Group   `json:"total"`
	Groups []Group `json:"groups"`
	// OtherGroups counts the groups left out after the first maxGroups.
	OtherGroups int `json:"otherGroups"`
	// Traces is the number of traces scanned; Truncated says the scan
	// stopped at the trace cap, so figures cover only the newest traces.
	Traces    int  `json:"traces"`
	Truncated bool `json:"truncated"`
}

// groupAcc accumulates one attribute value's spans.
type groupAcc struct {
	value     string
	missing   bool
	errors    int
	durations []uint64
	logs      logMoments
}

// BreakdownOf groups the matched spans of matches by the value of attribute
// (span attribute, else resource attribute) and ranks the groups by how much
// their error rate and latency deviate upwards from all other spans, most
// deviant first. Ties sort by count (descending), then value. At most
// maxGroups groups are returned (0 means all).
func BreakdownOf(matches []filter.Match, attribute string, maxGroups int) Breakdown {
	accs := make(map[string]*groupAcc)
	var missing *groupAcc
	var total groupAcc
	for mi := range matches {
		spans := matches[mi].Spans
		for i := range spans {
			s := &spans[i]
			v, ok := attributeOf(s, attribute)
			var g *groupAcc
			switch {
			case !ok:
				if missing == nil {
					missing = &groupAcc{missing: true}
				}
				g = missing
			default:
				g = accs[v]
				if g == nil {
					g = &groupAcc{value: v}
					accs[v] = g
				}
			}
			d := s.DurationNano()
			g.durations = append(g.durations, d)
			g.logs.add(d)
			total.logs.add(d)
			if isError(s) {
				g.errors++
				total.errors++
			}
		}
	}
	all := make([]*groupAcc, 0, len(accs)+1)
	for _, g := range accs {
		all = append(all, g)
	}
	if missing != nil {
		all = append(all, missing)
	}
	n := total.logs.n
	out := Breakdown{Attribute: attribute, Traces: len(matches), Groups: make([]Group, 0, len(all))}
	allDurations := make([]uint64, 0, n)
	for _, g := range all {
		allDurations = append(allDurations, g.durations...)
		gn := g.logs.n
		ratio, latZ := latencyDeviation(g.logs, total.logs.minus(g.logs))
		errZ := twoProportionZ(g.errors, gn, total.errors-g.errors, n-gn)
		out.Groups = append(out.Groups, Group{
			Value:        g.value,
			Missing:      g.missing,
			Count:        gn,
			Errors:       g.errors,
			ErrorRate:    rate(g.errors, gn),
			Latency:      latencyOf(g.durations),
			ErrorZ:       errZ,
			LatencyRatio: ratio,
			LatencyZ:     latZ,
			Score:        deviationScore(errZ, latZ),
		})
	}
	out.Total = Group{Value: "(all)", Count: n, Errors: total.errors, ErrorRate: rate(total.errors, n), Latency: latencyOf(allDurations), LatencyRatio: 1}
	slices.SortFunc(out.Groups, func(a, b Group) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		if a.Missing != b.Missing {
			if a.Missing {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.Value, b.Value)
	})
	if maxGroups > 0 && len(out.Groups) > maxGroups {
		out.OtherGroups = len(out.Groups) - maxGroups
		out.Groups = out.Groups[:maxGroups]
	}
	return out
}
