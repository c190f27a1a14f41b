package tempoapi

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"waymark/internal/query"
	"waymark/internal/query/traceql"
)

// defaultMetricsSince is the range of a metrics request without start/end.
const defaultMetricsSince = time.Hour

// metricsParams are the parsed parameters of /api/metrics/query_range and
// /api/metrics/query.
type metricsParams struct {
	query      *traceql.Query
	start, end uint64
	step       uint64 // 0: the engine picks it
	// warnings note epoch values whose digit count showed another unit.
	warnings []string
}

// timeForm names how a metrics start or end was written, such as "Unix
// seconds" or "RFC3339".
type timeForm string

// parseMetricsParams reads q, start/end or since, step and exemplars.
// Instant requests take no step.
func parseMetricsParams(v url.Values, now time.Time, instant bool) (metricsParams, error) {
	var p metricsParams
	qs := strings.TrimSpace(v.Get("q"))
	if qs == "" {
		return p, errors.New("missing q: give a TraceQL metrics query such as { } | rate()")
	}
	tq, err := traceql.Parse(qs)
	if err != nil {
		return p, fmt.Errorf("invalid TraceQL query: %w", err)
	}
	if !tq.IsMetrics() {
		return p, errors.New("not a metrics query: end it in a metrics function such as | rate(), or send it to /api/search")
	}
	p.query = tq
	var startForm, endForm timeForm
	if s := v.Get("start"); s != "" {
		if p.start, startForm, err = p.parseTime("start", s); err != nil {
			return p, err
		}
	}
	if s := v.Get("end"); s != "" {
		if p.end, endForm, err = p.parseTime("end", s); err != nil {
			return p, err
		}
	}
	if startForm != "" && endForm != "" && startForm != endForm {
		return p, fmt.Errorf("start is in %s but end in %s: write both the same way", startForm, endForm)
	}
	since := defaultMetricsSince
	if s := v.Get("since"); s != "" {
		if since, err = time.ParseDuration(s); err != nil || since <= 0 {
			return p, fmt.Errorf("invalid since %q: want a positive duration such as 1h", s)
		}
	}
	if p.end == 0 {
		p.end = uint64(now.UnixNano())
	}
	if p.start == 0 {
		p.start = p.end - min(p.end-1, uint64(since))
	}
	if p.end <= p.start {
		return p, fmt.Errorf("end %s is not after start %s", formatNano(p.end), formatNano(p.start))
	}
	if s := v.Get("step"); s != "" && !instant {
		if p.step, err = parseStep(s); err != nil {
			return p, err
		}
	}
	if s := v.Get("exemplars"); s != "" {
		// Accepted for compatibility; Waymark does not return exemplars yet.
		if _, err := strconv.ParseUint(s, 10, 32); err != nil {
			return p, fmt.Errorf("invalid exemplars %q: want a count", s)
		}
	}
	return p, nil
}

// parseTime reads a metrics start or end: Unix seconds (up to 10 digits)
// or nanoseconds (longer), fractional seconds, or RFC3339. As a safety
// net, 11–13 digits are read as milliseconds and 14–16 as microseconds,
// with a warning, since no client means 1970 in nanoseconds.
func (p *metricsParams) parseTime(key, s string) (uint64, timeForm, error) {
	bad := func() error {
		return fmt.Errorf("invalid %s %q: want Unix seconds, Unix nanoseconds, fractional seconds or RFC3339", key, s)
	}
	if strings.ContainsAny(s, "-:T") {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || t.UnixNano() <= 0 || t.Year() > 2262 {
			return 0, "", bad()
		}
		return uint64(t.UnixNano()), "RFC3339", nil
	}
	whole, frac, isFrac := strings.Cut(s, ".")
	if whole == "" || !digits(whole) || isFrac && (frac == "" || !digits(frac)) || len(whole) > 19 {
		return 0, "", bad()
	}
	n, err := strconv.ParseUint(whole, 10, 64)
	if err != nil {
		return 0, "", bad()
	}
	unit, form := uint64(time.Second), timeForm("Unix seconds")
	switch {
	case isFrac || len(whole) <= 10:
	case len(whole) <= 13:
		unit, form = uint64(time.Millisecond), "Unix milliseconds"
	case len(whole) <= 16:
		unit, form = uint64(time.Microsecond), "Unix microseconds"
	default:
		unit, form = 1, "Unix nanoseconds"
	}
	if unit == uint64(time.Millisecond) || unit == uint64(time.Microsecond) {
		p.warnings = append(p.warnings, fmt.Sprintf("%s %s has %d digits: read as %s", key, s, len(whole), form))
	}
	if n > math.MaxInt64/unit {
		return 0, "", bad()
	}
	ns := n * unit
	if isFrac {
		form = "fractional seconds"
		frac = (frac + "000000000")[:9]
		f, _ := strconv.ParseUint(frac, 10, 64)
		ns += f
	}
	if ns == 0 || ns > math.MaxInt64 {
		return 0, "", bad()
	}
	return ns, form, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseStep reads a step as a duration ("30s") or plain seconds ("30", "0.5").
func parseStep(s string) (uint64, error) {
	bad := fmt.Errorf("invalid step %q: want a duration such as 30s, or seconds", s)
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return 0, bad
		}
		return uint64(d), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f > 0) || f*1e9 > math.MaxInt64 {
		return 0, bad
	}
	return uint64(math.Round(f * 1e9)), nil
}

func formatNano(t uint64) string {
	return time.Unix(0, int64(min(t, math.MaxInt64))).UTC().Format(time.RFC3339Nano)
}

func (h *handler) metricsRange(w http.ResponseWriter, r *http.Request) {
	h.serveMetrics(w, r, false)
}

func (h *handler) metricsInstant(w http.ResponseWriter, r *http.Request) {
	h.serveMetrics(w, r, true)
}

func (h *handler) serveMetrics(w http.ResponseWriter, r *http.Request, instant bool) {
	tenant, ok := h.tenant(w, r)
	if !ok {
		return
	}
	p, err := parseMetricsParams(r.URL.Query(), time.Now(), instant)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	for _, warn := range p.warnings {
		h.log.Warn("metrics query time in an unexpected unit", "tenant", tenant, "detail", warn)
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.Timeout)
	defer cancel()
	res, err := h.q.QueryRange(ctx, tenant, query.MetricsRequest{Query: p.query, StartUnixNano: p.start, EndUnixNano: p.end, StepNano: p.step, Instant: instant})
	if errors.Is(err, query.ErrInvalidRequest) {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err != nil {
		h.searchFailed(w, tenant, err)
		return
	}
	if instant {
		writeJSON(w, appendMetricsInstant(nil, &res))
		return
	}
	writeJSON(w, appendMetricsRange(nil, &res))
}

// appendMetricsRange writes a QueryRangeResponse in Tempo's JSON.
func appendMetricsRange(dst []byte, res *query.MetricsResult) []byte {
	dst = append(dst, `{"series":[`...)
	for i := range res.Series {
		s := &res.Series[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendSeriesLabels(dst, s.Labels)
		dst = append(dst, `,"samples":[`...)
		for j, smp := range s.Samples {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"timestampMs":"`...)
			dst = strconv.AppendInt(dst, smp.TimestampUnixMilli, 10)
			dst = append(dst, `","value":`...)
			dst = appendFloat(dst, smp.Value)
			dst = append(dst, '}')
		}
		dst = append(dst, "]}"...)
	}
	return appendMetricsStats(dst, res)
}

// appendMetricsInstant writes a QueryInstantResponse in Tempo's JSON.
func appendMetricsInstant(dst []byte, res *query.MetricsResult) []byte {
	dst = append(dst, `{"series":[`...)
	n := 0
	for i := range res.Series {
		s := &res.Series[i]
		if len(s.Samples) == 0 {
			continue
		}
		if n++; n > 1 {
			dst = append(dst, ',')
		}
		dst = appendSeriesLabels(dst, s.Labels)
		dst = append(dst, `,"value":`...)
		dst = appendFloat(dst, s.Samples[len(s.Samples)-1].Value)
		dst = append(dst, '}')
	}
	return appendMetricsStats(dst, res)
}

func appendMetricsStats(dst []byte, res *query.MetricsResult) []byte {
	dst = append(dst, `],"metrics":{"inspectedTraces":`...)
	dst = strconv.AppendUint(dst, res.InspectedTraces, 10)
	dst = append(dst, `,"inspectedSpans":"`...)
	dst = strconv.AppendUint(dst, res.InspectedSpans, 10)
	return append(dst, `","completedJobs":1,"totalJobs":1}}`...)
}

// appendSeriesLabels opens a series object with its typed labels and
// their Prometheus text form.
func appendSeriesLabels(dst []byte, labels []query.MetricsLabel) []byte {
	dst = append(dst, `{"labels":[`...)
	for i, l := range labels {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"key":`...)
		dst = appendString(dst, l.Key)
		dst = append(dst, `,"value":`...)
		dst = appendStaticValue(dst, l.Value)
		dst = append(dst, '}')
	}
	dst = append(dst, `],"promLabels":`...)
	return appendString(dst, promLabels(labels))
}

// appendStaticValue writes a label value as an OTLP AnyValue: durations,
// statuses, kinds and arrays as their text, nil as {}.
func appendStaticValue(dst []byte, v traceql.Static) []byte {
	switch v.Type {
	case traceql.TypeNil:
		return append(dst, "{}"...)
	case traceql.TypeString, traceql.TypeArray:
		dst = append(dst, `{"stringValue":`...)
		dst = appendString(dst, v.Str)
	case traceql.TypeInt:
		dst = append(dst, `{"intValue":"`...)
		dst = strconv.AppendInt(dst, v.Int, 10)
		dst = append(dst, '"')
	case traceql.TypeFloat:
		dst = append(dst, `{"doubleValue":`...)
		dst = appendFloat(dst, v.Float)
	case traceql.TypeBool:
		dst = append(dst, `{"boolValue":`...)
		dst = strconv.AppendBool(dst, v.Bool())
	default:
		dst = append(dst, `{"stringValue":`...)
		dst = appendString(dst, v.String())
	}
	return append(dst, '}')
}

// promLabels renders labels as Prometheus text, sorted by key, as Tempo's
// promLabels field has them: nil is <nil> and the empty string <empty>.
func promLabels(labels []query.MetricsLabel) string {
	sorted := slices.Clone(labels)
	slices.SortStableFunc(sorted, func(a, b query.MetricsLabel) int { return strings.Compare(a.Key, b.Key) })
	var b strings.Builder
	b.WriteByte('{')
	for i, l := range sorted {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(l.Key)
		b.WriteByte('=')
		var text string
		switch {
		case l.Value.Type == traceql.TypeNil:
			text = "<nil>"
		case l.Value.Type == traceql.TypeString && l.Value.Str == "":
			text = "<empty>"
		case l.Value.Type == traceql.TypeString || l.Value.Type == traceql.TypeArray:
			text = l.Value.Str
		default:
			text = l.Value.String()
		}
		b.WriteString(strconv.Quote(text))
	}
	b.WriteByte('}')
	return b.String()
}
