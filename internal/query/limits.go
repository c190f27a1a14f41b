package query

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/bits"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"waymark/internal/model"
)

// Defaults of the per-query limits.
const (
	// DefaultMaxTraceSpans is the number of spans of one trace a query
	// returns when Options.MaxTraceSpans is 0.
	DefaultMaxTraceSpans = 100_000
	// DefaultMaxSpansPerQuery is the span budget of one search when
	// Options.MaxSpansPerQuery is 0.
	DefaultMaxSpansPerQuery = 1_000_000
)

// Trace is one trace read whole, cut to the per-trace span limit.
type Trace struct {
	ID model.TraceID
	// Spans are the spans returned: all of them, or when the trace is
	// larger than the limit its root spans and then its earliest spans by
	// start time (see Truncate).
	Spans []model.Span
	// StoredSpans is the number of spans stored for the trace; it exceeds
	// len(Spans) exactly when the trace was truncated.
	StoredSpans int
}

// Truncated reports whether spans of the trace were left out.
func (t *Trace) Truncated() bool { return t.StoredSpans > len(t.Spans) }

// Warning describes the truncation for people, or is empty when the trace
// is complete.
func (t *Trace) Warning() string {
	if !t.Truncated() {
		return ""
	}
	return fmt.Sprintf("trace truncated: it has %d spans, only the first %d are shown (root spans, then by start time); the limit is query.max_trace_spans",
		t.StoredSpans, len(t.Spans))
}

// Truncate returns at most limit spans of one trace, deterministically, and
// spans itself when it is within the limit (limit ≤ 0 means no limit). A
// cut keeps the root spans (no parent) first, then the earliest spans by
// start time, ties broken by span ID and kind. Parents start before their
// children, so a span kept for being early has its parent kept too: the
// kept spans are a connected top of the call tree (up to clock skew), with
// no orphans, showing where the request began and what it called first.
// The result is a new slice in that order, so the rest can be freed; spans
// is left as it was.
func Truncate(spans []model.Span, limit int) []model.Span {
	if limit <= 0 || len(spans) <= limit {
		return spans
	}
	// Sort small keys rather than the spans themselves, which are large.
	// A span ID read big-endian orders as its bytes do.
	type key struct {
		start, id uint64
		notRoot   bool
		kind      model.SpanKind
		pos       int32
	}
	keys := make([]key, len(spans))
	for i := range spans {
		s := &spans[i]
		keys[i] = key{s.StartTimeUnixNano, binary.BigEndian.Uint64(s.SpanID[:]), !s.ParentSpanID.IsZero(), s.Kind, int32(i)}
	}
	smallestFirst(keys, limit, func(a, b key) int {
		if a.notRoot != b.notRoot {
			if a.notRoot {
				return 1
			}
			return -1
		}
		if a.start != b.start {
			return cmp.Compare(a.start, b.start)
		}
		if a.id != b.id {
			return cmp.Compare(a.id, b.id)
		}
		return cmp.Compare(a.kind, b.kind)
	})
	out := make([]model.Span, limit)
	for i := range out {
		out[i] = spans[keys[i].pos]
	}
	return out
}

// smallestFirst reorders s so that s[:k] holds its k smallest elements by
// compare, sorted: a quickselect (median-of-three pivots, so deterministic)
// narrows to the first k, and only they are sorted. It costs O(len(s) +
// k log k) on average instead of a full sort's O(len(s) log len(s)); input
// chosen to defeat the pivots (span times come from senders) makes it fall
// back to sorting what is left, so it is never worse than O(n log n).
func smallestFirst[E any](s []E, k int, compare func(a, b E) int) {
	lo, hi := 0, len(s)-1
	for rounds := 2 * bits.Len(uint(len(s))); hi-lo > 12; rounds-- {
		if rounds == 0 {
			break
		}
		mid := lo + (hi-lo)/2
		// Order s[lo], s[mid], s[hi] and take the middle one as pivot.
		if compare(s[mid], s[lo]) < 0 {
			s[mid], s[lo] = s[lo], s[mid]
		}
		if compare(s[hi], s[mid]) < 0 {
			s[hi], s[mid] = s[mid], s[hi]
			if compare(s[mid], s[lo]) < 0 {
				s[mid], s[lo] = s[lo], s[mid]
			}
		}
		pivot := s[mid]
		i, j := lo, hi
		for i <= j {
			for compare(s[i], pivot) < 0 {
				i++
			}
			for compare(pivot, s[j]) < 0 {
				j--
			}
			if i <= j {
				s[i], s[j] = s[j], s[i]
				i++
				j--
			}
		}
		// s[lo:j+1] ≤ pivot ≤ s[i:hi+1]; keep narrowing the side holding
		// the k-th element.
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			lo = hi
		}
	}
	// s[k] now lies in s[lo:hi+1], everything before lo is no larger and
	// everything after hi no smaller: sorting the range puts it in place.
	slices.SortFunc(s[lo:hi+1], compare)
	slices.SortFunc(s[:k], compare)
}

// budget counts the spans one query holds against Options.MaxSpansPerQuery.
type budget struct {
	left  int
	limit int
	spent bool
}

func newBudget(limit int) *budget { return &budget{left: limit, limit: limit} }

// take reserves n spans; it reports false, and marks the budget spent,
// when fewer than n are left.
func (b *budget) take(n int) bool {
	if n > b.left {
		b.spent = true
		return false
	}
	b.left -= n
	return true
}

// warning describes a spent budget for people, or is empty.
func (b *budget) warning(returned int) string {
	if !b.spent {
		return ""
	}
	return fmt.Sprintf("partial result: the search stopped after %d traces because it reached its budget of %d spans (query.max_spans_per_query); narrow the time range or the query for the rest",
		returned, b.limit)
}

// limitMetrics counts the answers the limits cut short.
type limitMetrics struct {
	truncated prometheus.Counter
	partial   prometheus.Counter
}

func newLimitMetrics(reg prometheus.Registerer) *limitMetrics {
	m := &limitMetrics{
		truncated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "waymark_query_traces_truncated_total",
			Help: "Traces returned with fewer spans than stored because they exceed query.max_trace_spans.",
		}),
		partial: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "waymark_query_searches_partial_total",
			Help: "Searches answered in part because they reached query.max_spans_per_query.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.truncated, m.partial)
	}
	return m
}

// limitTrace cuts spans to the per-trace limit, counting and logging a cut.
func (q *Querier) limitTrace(ctx context.Context, tenant string, id model.TraceID, spans []model.Span) Trace {
	t := Trace{ID: id, StoredSpans: len(spans), Spans: Truncate(spans, q.maxTraceSpans)}
	if t.Truncated() {
		q.metrics.truncated.Inc()
		q.log.WarnContext(ctx, "trace truncated to query.max_trace_spans",
			"tenant", tenant, "trace_id", id, "stored_spans", t.StoredSpans, "returned_spans", len(t.Spans))
	}
	return t
}

// partial counts and logs a search its budget cut short and returns the
// warning for its answer.
func (q *Querier) partial(ctx context.Context, tenant, kind string, b *budget, returned int) string {
	w := b.warning(returned)
	if w != "" {
		q.metrics.partial.Inc()
		q.log.WarnContext(ctx, "search answered in part: span budget spent",
			"tenant", tenant, "search", kind, "returned_traces", returned, "max_spans_per_query", b.limit)
	}
	return w
}

// discardLogger returns l, or a logger that drops everything when nil.
func discardLogger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
