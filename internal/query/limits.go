package query

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
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

// ErrQueryTooLarge reports that a query would hold more spans than its
// budget allows and cannot answer in part; narrowing it helps.
var ErrQueryTooLarge = errors.New("query too large")

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
// start time, ties broken by span ID. Parents start before their children,
// so the earliest spans of a trace form its top levels: the kept spans are
// a connected prefix of the call tree (up to clock skew) with no orphans,
// which shows where the request began and what it called first. The
// result is a new slice in that order, so the rest can be freed; spans is
// reordered.
func Truncate(spans []model.Span, limit int) []model.Span {
	if limit <= 0 || len(spans) <= limit {
		return spans
	}
	slices.SortFunc(spans, func(a, b model.Span) int {
		ra, rb := a.ParentSpanID.IsZero(), b.ParentSpanID.IsZero()
		if ra != rb {
			if ra {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(a.StartTimeUnixNano, b.StartTimeUnixNano); c != 0 {
			return c
		}
		if c := slices.Compare(a.SpanID[:], b.SpanID[:]); c != 0 {
			return c
		}
		return cmp.Compare(a.Kind, b.Kind)
	})
	return slices.Clone(spans[:limit])
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
