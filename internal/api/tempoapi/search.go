package tempoapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"waymark/internal/api/apihttp"
	"waymark/internal/model"
	"waymark/internal/query"
	"waymark/internal/query/traceql"
	"waymark/internal/store/filter"
)

// searchParams are the parsed parameters of /api/search.
type searchParams struct {
	q           string
	tags        []filter.Condition
	start, end  uint64
	minDur      uint64
	maxDur      uint64
	limit       int
	spansPerSet int
}

func parseSearchParams(v url.Values, now time.Time) (searchParams, error) {
	p := searchParams{limit: defaultLimit, spansPerSet: defaultSpansPerSet, q: strings.TrimSpace(v.Get("q"))}
	tags := strings.TrimSpace(v.Get("tags"))
	if p.q != "" && tags != "" {
		return p, errors.New("give either q (TraceQL) or tags (logfmt), not both")
	}
	if tags != "" {
		conds, err := parseLogfmtTags(tags)
		if err != nil {
			return p, err
		}
		p.tags = conds
	}
	var err error
	if p.start, err = parseSeconds(v, "start"); err != nil {
		return p, err
	}
	if p.end, err = parseSeconds(v, "end"); err != nil {
		return p, err
	}
	if p.end != 0 {
		// end is inclusive of its whole second.
		p.end += uint64(time.Second) - 1
	}
	if p.start != 0 && p.end != 0 && p.start > p.end {
		return p, fmt.Errorf("start %d is after end %d", p.start/1e9, p.end/1e9)
	}
	if p.minDur, err = parseDurationParam(v, "minDuration"); err != nil {
		return p, err
	}
	if p.maxDur, err = parseDurationParam(v, "maxDuration"); err != nil {
		return p, err
	}
	if p.maxDur != 0 && p.minDur > p.maxDur {
		return p, fmt.Errorf("maxDuration %s is less than minDuration %s", time.Duration(p.maxDur), time.Duration(p.minDur))
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return p, fmt.Errorf("invalid limit %q: want a positive integer", s)
		}
		p.limit = min(n, maxLimit)
	}
	if s := v.Get("spss"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return p, fmt.Errorf("invalid spss %q: want a positive integer", s)
		}
		p.spansPerSet = n
	}
	_ = now
	return p, nil
}

// parseDurationParam reads a Go duration, truncated to milliseconds as Tempo does.
func parseDurationParam(v url.Values, key string) (uint64, error) {
	s := v.Get(key)
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid %s %q: want a duration such as 100ms or 2s", key, s)
	}
	return uint64(d.Truncate(time.Millisecond)), nil
}

// parseLogfmtTags parses `key=value key2="quoted value"` into equality
// conditions. "name" is the span name; "status.code"/"status" the status.
func parseLogfmtTags(s string) ([]filter.Condition, error) {
	var out []filter.Condition
	i := 0
	for i < len(s) {
		for i < len(s) && unicode.IsSpace(rune(s[i])) {
			i++
		}
		if i >= len(s) {
			break
		}
		ks := i
		for i < len(s) && s[i] != '=' && !unicode.IsSpace(rune(s[i])) {
			i++
		}
		key := s[ks:i]
		if key == "" || i >= len(s) || s[i] != '=' {
			return nil, fmt.Errorf("invalid tags %q: want key=value pairs separated by spaces (at offset %d)", s, ks)
		}
		i++
		var val string
		if i < len(s) && s[i] == '"' {
			j := i + 1
			var b strings.Builder
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
				j++
			}
			if j >= len(s) {
				return nil, fmt.Errorf("invalid tags %q: unterminated quote at offset %d", s, i)
			}
			val, i = b.String(), j+1
		} else {
			vs := i
			for i < len(s) && !unicode.IsSpace(rune(s[i])) {
				i++
			}
			val = s[vs:i]
		}
		out = append(out, tagCondition(key, val))
	}
	return out, nil
}

func tagCondition(key, val string) filter.Condition {
	switch key {
	case "name":
		return filter.Condition{Scope: filter.ScopeIntrinsic, Key: filter.IntrinsicName, Op: filter.OpEq, Value: model.StringValue(val)}
	case "status", "status.code":
		return filter.Condition{Scope: filter.ScopeIntrinsic, Key: filter.IntrinsicStatus, Op: filter.OpEq, Value: model.StringValue(strings.ToLower(val))}
	case "service.name":
		return filter.Condition{Scope: filter.ScopeResource, Key: "service.name", Op: filter.OpEq, Value: model.StringValue(val)}
	}
	return filter.Condition{Scope: filter.ScopeAny, Key: key, Op: filter.OpEq, Value: model.StringValue(val)}
}

func (h *handler) search(w http.ResponseWriter, r *http.Request) {
	tenant, ok := h.tenant(w, r)
	if !ok {
		return
	}
	p, err := parseSearchParams(r.URL.Query(), time.Now())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.Timeout)
	defer cancel()
	if p.q != "" {
		tq, err := traceql.Parse(p.q)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid TraceQL query: "+err.Error())
			return
		}
		if p.minDur != 0 || p.maxDur != 0 {
			writeError(w, http.StatusBadRequest, "minDuration and maxDuration go with tags=; in TraceQL write { duration > 100ms }")
			return
		}
		res, err := h.q.SearchTraceQL(ctx, tenant, query.TraceQLRequest{Query: tq, StartUnixNano: p.start, EndUnixNano: p.end, Limit: p.limit, SpansPerSet: p.spansPerSet})
		if err != nil {
			h.searchFailed(w, tenant, err)
			return
		}
		writeJSON(w, appendPartialSearch(w, appendTraceQLResponse(nil, res.Results), res.Warning))
		return
	}
	req := filter.Request{StartUnixNano: p.start, EndUnixNano: p.end, Conditions: p.tags, MinDurationNano: p.minDur, MaxDurationNano: p.maxDur, Limit: p.limit}
	if err := req.Compile(); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	res, err := h.q.SearchSummaries(ctx, tenant, req, p.spansPerSet)
	if err != nil {
		h.searchFailed(w, tenant, err)
		return
	}
	writeJSON(w, appendPartialSearch(w, appendSearchResponse(nil, res.Summaries), res.Warning))
}

// appendPartialSearch closes a search response (which lacks its final
// brace). A search the span budget cut short gets "status":"PARTIAL" and a
// "message", as Tempo marks a partial trace, and a Warning header; Grafana
// ignores fields it does not know and shows the traces found.
func appendPartialSearch(w http.ResponseWriter, dst []byte, warning string) []byte {
	if warning != "" {
		apihttp.SetWarning(w.Header(), warning)
	}
	return appendPartial(dst, warning)
}

func (h *handler) searchFailed(w http.ResponseWriter, tenant string, err error) {
	if errors.Is(err, context.DeadlineExceeded) {
		writeError(w, http.StatusGatewayTimeout, "search timed out: narrow the time range or the query")
		return
	}
	h.log.Error("search", "tenant", tenant, "err", err)
	writeError(w, http.StatusInternalServerError, err.Error())
}

// appendSearchResponse writes the search response Grafana reads, for a
// tag search: one spanset per trace holding the matched spans. It stops
// before the final brace, which appendPartialSearch writes.
func appendSearchResponse(dst []byte, results []query.TraceSummary) []byte {
	dst = append(dst, `{"traces":[`...)
	for i := range results {
		if i > 0 {
			dst = append(dst, ',')
		}
		t := &results[i]
		set := traceql.Spanset{Spans: make([]traceql.SpanMatch, len(t.Matched))}
		for j := range t.Matched {
			set.Spans[j] = traceql.SpanMatch{Span: &t.Matched[j]}
		}
		dst = appendSearchTrace(dst, t, []traceql.Spanset{set}, []int{t.MatchedCount})
	}
	return appendSearchMetrics(dst, len(results))
}

// appendTraceQLResponse writes the search response for a TraceQL query,
// but for the final brace, which appendPartialSearch writes.
func appendTraceQLResponse(dst []byte, results []query.TraceQLResult) []byte {
	dst = append(dst, `{"traces":[`...)
	for i := range results {
		if i > 0 {
			dst = append(dst, ',')
		}
		r := &results[i]
		matched := make([]int, len(r.SpanSets))
		for j := range r.SpanSets {
			matched[j] = len(r.SpanSets[j].Spans)
		}
		if len(matched) == 1 {
			matched[0] = r.MatchedCount
		}
		dst = appendSearchTrace(dst, &r.TraceSummary, r.SpanSets, matched)
	}
	return appendSearchMetrics(dst, len(results))
}

func appendSearchMetrics(dst []byte, n int) []byte {
	dst = append(dst, `],"metrics":{"inspectedTraces":`...)
	dst = strconv.AppendInt(dst, int64(n), 10)
	return append(dst, `,"completedJobs":1,"totalJobs":1}`...)
}

func appendSearchTrace(dst []byte, t *query.TraceSummary, sets []traceql.Spanset, matched []int) []byte {
	dst = append(dst, `{"traceID":"`...)
	dst = t.TraceID.AppendHex(dst)
	dst = append(dst, `","rootServiceName":`...)
	dst = appendString(dst, orUnknown(t.RootServiceName, "<root span not yet received>"))
	dst = append(dst, `,"rootTraceName":`...)
	dst = appendString(dst, orUnknown(t.RootSpanName, "<root span not yet received>"))
	dst = append(dst, `,"startTimeUnixNano":"`...)
	dst = strconv.AppendUint(dst, t.StartUnixNano, 10)
	dst = append(dst, `","durationMs":`...)
	dst = strconv.AppendUint(dst, t.DurationNano/1e6, 10)
	dst = append(dst, `,"spanSets":[`...)
	var first []byte
	for i := range sets {
		if i > 0 {
			dst = append(dst, ',')
		}
		mark := len(dst)
		dst = appendSpanSet(dst, &sets[i], matched[i])
		if i == 0 {
			first = append([]byte(nil), dst[mark:]...)
		}
	}
	dst = append(dst, ']')
	if first != nil {
		dst = append(dst, `,"spanSet":`...)
		dst = append(dst, first...)
	}
	dst = append(dst, `,"serviceStats":{`...)
	n := 0
	for svc, st := range t.ServiceStats {
		if n++; n > 1 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, svc)
		dst = append(dst, `:{"spanCount":`...)
		dst = strconv.AppendInt(dst, int64(st.SpanCount), 10)
		if st.ErrorCount > 0 {
			dst = append(dst, `,"errorCount":`...)
			dst = strconv.AppendInt(dst, int64(st.ErrorCount), 10)
		}
		dst = append(dst, '}')
	}
	return append(dst, "}}"...)
}

func appendSpanSet(dst []byte, set *traceql.Spanset, matched int) []byte {
	dst = append(dst, `{"spans":[`...)
	for i := range set.Spans {
		m := &set.Spans[i]
		s := m.Span
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"spanID":"`...)
		dst = s.SpanID.AppendHex(dst)
		dst = append(dst, `","name":`...)
		dst = appendString(dst, s.Name)
		dst = append(dst, `,"startTimeUnixNano":"`...)
		dst = strconv.AppendUint(dst, s.StartTimeUnixNano, 10)
		dst = append(dst, `","durationNanos":"`...)
		dst = strconv.AppendUint(dst, s.DurationNano(), 10)
		dst = append(dst, `","attributes":[{"key":"service.name","value":{"stringValue":`...)
		dst = appendString(dst, s.ServiceName())
		dst = append(dst, `}}`...)
		if s.StatusCode == model.StatusError {
			dst = append(dst, `,{"key":"status","value":{"stringValue":"error"}}`...)
		}
		for _, a := range m.Attributes {
			if a.Name == "resource.service.name" || a.Name == "span:status" || a.Name == "status" {
				continue
			}
			dst = append(dst, `,{"key":`...)
			dst = appendString(dst, attributeKey(a.Name))
			dst = append(dst, `,"value":`...)
			dst = appendAnyValue(dst, a.Value)
			dst = append(dst, '}')
		}
		dst = append(dst, "]}"...)
	}
	dst = append(dst, ']')
	if len(set.Attributes) > 0 {
		dst = append(dst, `,"attributes":[`...)
		for i, a := range set.Attributes {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"key":`...)
			dst = appendString(dst, a.Name)
			dst = append(dst, `,"value":`...)
			dst = appendAnyValue(dst, a.Value)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"matched":`...)
	dst = strconv.AppendInt(dst, int64(matched), 10)
	return append(dst, '}')
}

// attributeKey turns a canonical TraceQL field name into the attribute key
// Grafana shows: the scope prefix is dropped ("span.http.method" →
// "http.method"); intrinsics keep their name.
func attributeKey(name string) string {
	for _, p := range []string{"span.", "resource.", "event.", "link.", "instrumentation."} {
		if strings.HasPrefix(name, p) {
			return name[len(p):]
		}
	}
	return name
}

func orUnknown(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}
