package tempoapi

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"waymark/internal/api/jsonenc"
	"waymark/internal/model"
	"waymark/internal/query"
	"waymark/internal/query/traceql"
	"waymark/internal/store/summary"
)

// TagQuerier is what the tag endpoints need from the query layer.
type TagQuerier interface {
	Tags(ctx context.Context, tenant string, startUnixNano, endUnixNano uint64) (summary.Tags, error)
	Services(ctx context.Context, tenant string) ([]string, error)
	Operations(ctx context.Context, tenant, service string) ([]query.Operation, error)
}

// intrinsicTags are the intrinsic names Grafana offers under "intrinsic".
var intrinsicTags = []string{"duration", "event:name", "kind", "name", "rootName", "rootServiceName", "span:duration", "span:id",
	"span:kind", "span:name", "span:parentID", "span:status", "span:statusMessage", "status", "statusMessage",
	"trace:duration", "trace:id", "trace:rootName", "trace:rootService", "traceDuration"}

var scopeOrder = []string{summary.ScopeResource, summary.ScopeSpan, summary.ScopeEvent, summary.ScopeLink}

func (h *handler) tagRange(w http.ResponseWriter, v url.Values) (start, end uint64, limit int, ok bool) {
	var err error
	if start, err = parseSeconds(v, "start"); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return 0, 0, 0, false
	}
	if end, err = parseSeconds(v, "end"); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return 0, 0, 0, false
	}
	limit = 1000
	if s := v.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit <= 0 {
			writeError(w, http.StatusBadRequest, "invalid limit "+strconv.Quote(s))
			return 0, 0, 0, false
		}
	}
	return start, end, limit, true
}

func sortedKeys(m map[string]*summary.TagValues, limit int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// loadTags reads the tenant, range and limit of a tags request and the
// tags seen in that range; it answers the request itself on error.
func (h *handler) loadTags(w http.ResponseWriter, r *http.Request) (summary.Tags, int, bool) {
	tenant, ok := h.tenant(w, r)
	if !ok {
		return nil, 0, false
	}
	start, end, limit, ok := h.tagRange(w, r.URL.Query())
	if !ok {
		return nil, 0, false
	}
	tags, err := h.tq.Tags(r.Context(), tenant, start, end)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return nil, 0, false
	}
	return tags, limit, true
}

// tagsV1 answers /api/search/tags: {"tagNames":[…]}.
func (h *handler) tagsV1(w http.ResponseWriter, r *http.Request) {
	tags, limit, ok := h.loadTags(w, r)
	if !ok {
		return
	}
	scope := r.URL.Query().Get("scope")
	set := map[string]*summary.TagValues{}
	for _, sc := range scopeOrder {
		if scope != "" && scope != "all" && scope != sc {
			continue
		}
		for k, v := range tags[sc] {
			set[k] = v
		}
	}
	var names []string
	if scope == "intrinsic" {
		names = intrinsicTags
	} else {
		names = sortedKeys(set, limit)
	}
	dst := append([]byte(nil), `{"tagNames":`...)
	dst = appendStrings(dst, names)
	writeJSON(w, append(dst, `,"metrics":{}}`...))
}

// tagsV2 answers /api/v2/search/tags: {"scopes":[{"name","tags"}…]}.
func (h *handler) tagsV2(w http.ResponseWriter, r *http.Request) {
	tags, limit, ok := h.loadTags(w, r)
	if !ok {
		return
	}
	scope := r.URL.Query().Get("scope")
	dst := append([]byte(nil), `{"scopes":[`...)
	n := 0
	for _, sc := range scopeOrder {
		if scope != "" && scope != "all" && scope != sc {
			continue
		}
		if len(tags[sc]) == 0 && sc != summary.ScopeResource && sc != summary.ScopeSpan {
			continue
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		dst = append(dst, `{"name":"`...)
		dst = append(dst, sc...)
		dst = append(dst, `","tags":`...)
		dst = appendStrings(dst, sortedKeys(tags[sc], limit))
		dst = append(dst, '}')
	}
	if scope == "" || scope == "all" || scope == "intrinsic" {
		if n > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"name":"intrinsic","tags":`...)
		dst = appendStrings(dst, intrinsicTags)
		dst = append(dst, '}')
	}
	writeJSON(w, append(dst, `],"metrics":{}}`...))
}

// tagName decodes a tag path segment until stable (Grafana encodes it twice).
func tagName(raw string) string {
	for i := 0; i < 3; i++ {
		dec, err := url.PathUnescape(raw)
		if err != nil || dec == raw {
			break
		}
		raw = dec
	}
	return raw
}

// tagValues lists the values of tag, a TraceQL identifier (v2) or a bare
// attribute name (v1), as typed values.
func (h *handler) tagValues(ctx context.Context, tenant, tag string, start, end uint64, q string, limit int) ([]model.Value, string, error) {
	switch strings.TrimPrefix(tag, "span:") {
	case "status":
		return []model.Value{model.StringValue("error"), model.StringValue("ok"), model.StringValue("unset")}, "keyword", nil
	case "kind":
		return []model.Value{model.StringValue("client"), model.StringValue("consumer"), model.StringValue("internal"),
			model.StringValue("producer"), model.StringValue("server"), model.StringValue("unspecified")}, "keyword", nil
	case "name":
		ops, err := h.tq.Operations(ctx, tenant, "")
		if err != nil {
			return nil, "", err
		}
		seen := map[string]bool{}
		var out []model.Value
		for _, op := range ops {
			if !seen[op.Name] {
				seen[op.Name] = true
				out = append(out, model.StringValue(op.Name))
			}
		}
		return out, "", nil
	}
	if tag == "trace:rootService" || tag == "rootServiceName" {
		tag = "resource.service.name"
	}
	scopes := []string{summary.ScopeSpan, summary.ScopeResource}
	key := tag
	switch {
	case strings.HasPrefix(tag, "resource."):
		scopes, key = []string{summary.ScopeResource}, tag[len("resource."):]
	case strings.HasPrefix(tag, "span."):
		scopes, key = []string{summary.ScopeSpan}, tag[len("span."):]
	case strings.HasPrefix(tag, "event."):
		scopes, key = []string{summary.ScopeEvent}, tag[len("event."):]
	case strings.HasPrefix(tag, "link."):
		scopes, key = []string{summary.ScopeLink}, tag[len("link."):]
	case strings.HasPrefix(tag, "."):
		key = tag[1:]
	}
	if q = strings.TrimSpace(q); q != "" && q != "{}" {
		// Values among the spans the query matches, over its newest traces.
		// A query that does not parse is ignored, as Tempo does.
		if tq, err := traceql.Parse(q); err == nil && !tq.IsMetrics() {
			return h.filteredValues(ctx, tenant, tq, scopes, key, start, end, limit)
		}
	}
	tags, err := h.tq.Tags(ctx, tenant, start, end)
	if err != nil {
		return nil, "", err
	}
	set := map[model.Value]struct{}{}
	for _, sc := range scopes {
		if tv := tags[sc][key]; tv != nil {
			for v := range tv.Values {
				set[v] = struct{}{}
			}
		}
	}
	out := make([]model.Value, 0, len(set))
	for v := range set {
		out = append(out, v)
	}
	summary.SortValues(out)
	if len(out) > limit {
		out = out[:limit]
	}
	return out, "", nil
}

func (h *handler) filteredValues(ctx context.Context, tenant string, tq *traceql.Query, scopes []string, key string, start, end uint64, limit int) ([]model.Value, string, error) {
	res, err := h.q.SearchTraceQL(ctx, tenant, query.TraceQLRequest{Query: tq, StartUnixNano: start, EndUnixNano: end, Limit: 200, SpansPerSet: 1 << 20})
	if err != nil {
		return nil, "", err
	}
	set := map[model.Value]struct{}{}
	for _, r := range res.Results {
		for _, ss := range r.SpanSets {
			for _, m := range ss.Spans {
				for _, sc := range scopes {
					var v model.Value
					var ok bool
					if sc == summary.ScopeSpan {
						v, ok = m.Span.Attributes.Get(key)
					} else if m.Span.Resource != nil {
						v, ok = m.Span.Resource.Attributes.Get(key)
					}
					if ok && v.Type != model.ValueArray && v.Type != model.ValueMap {
						set[v] = struct{}{}
						break
					}
				}
			}
		}
	}
	out := make([]model.Value, 0, len(set))
	for v := range set {
		out = append(out, v)
	}
	summary.SortValues(out)
	if len(out) > limit {
		out = out[:limit]
	}
	return out, "", nil
}

func (h *handler) tagValuesV1(w http.ResponseWriter, r *http.Request) {
	h.serveTagValues(w, r, false)
}

func (h *handler) tagValuesV2(w http.ResponseWriter, r *http.Request) {
	h.serveTagValues(w, r, true)
}

func (h *handler) serveTagValues(w http.ResponseWriter, r *http.Request, typed bool) {
	tenant, ok := h.tenant(w, r)
	if !ok {
		return
	}
	v := r.URL.Query()
	start, end, limit, ok := h.tagRange(w, v)
	if !ok {
		return
	}
	tag := tagName(r.PathValue("name"))
	if !typed && !strings.HasPrefix(tag, ".") && !strings.Contains(tag, ":") && tag != "name" && tag != "status" && tag != "kind" {
		tag = "." + tag
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.Timeout)
	defer cancel()
	vals, typ, err := h.tagValues(ctx, tenant, tag, start, end, v.Get("q"), limit)
	if err != nil {
		h.searchFailed(w, tenant, err)
		return
	}
	dst := append([]byte(nil), `{"tagValues":[`...)
	for i, val := range vals {
		if i > 0 {
			dst = append(dst, ',')
		}
		if !typed {
			dst = appendString(dst, val.AsString())
			continue
		}
		t := typ
		if t == "" {
			t = valueTypeName(val)
		}
		dst = append(dst, `{"type":"`...)
		dst = append(dst, t...)
		dst = append(dst, `","value":`...)
		dst = appendString(dst, val.AsString())
		dst = append(dst, '}')
	}
	writeJSON(w, append(dst, `],"metrics":{}}`...))
}

func valueTypeName(v model.Value) string {
	switch v.Type {
	case model.ValueInt:
		return "int"
	case model.ValueDouble:
		return "float"
	case model.ValueBool:
		return "bool"
	}
	return "string"
}

func appendStrings(dst []byte, ss []string) []byte { return jsonenc.AppendStrings(dst, ss) }
