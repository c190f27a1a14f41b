package uiapi

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"waymark/internal/model"
	"waymark/internal/query"
	"waymark/internal/store/filter"
	"waymark/internal/store/summary"
)

// Querier is the part of the query layer the UI endpoints read. It must be
// safe for concurrent use.
type Querier interface {
	// Search returns the traces that have a span matching req, newest
	// first, at most req.Limit (0: all), each with its matched spans, and
	// a warning when the query layer's span budget cut it short.
	Search(ctx context.Context, tenant string, req filter.Request) (query.MatchSearch, error)
	// FindTrace returns the trace's spans, cut to the query layer's
	// per-trace limit (the Trace says so), or an error wrapping
	// query.ErrTraceNotFound. The times (Unix ns, 0 for none) are hints.
	FindTrace(ctx context.Context, tenant string, id model.TraceID, startUnixNano, endUnixNano uint64) (query.Trace, error)
	// Tags returns the attribute keys and values per scope seen between
	// the two times (Unix ns).
	Tags(ctx context.Context, tenant string, startUnixNano, endUnixNano uint64) (summary.Tags, error)
}

// Options configures the handler. The zero value is usable.
type Options struct {
	// DefaultTenant serves requests without a tenant header; empty means
	// model.DefaultTenant.
	DefaultTenant string
	// MaxTraces caps the traces one statistics request scans (default
	// 20000); answers that hit it are marked truncated.
	MaxTraces int
	// MaxSummaries caps the limit of trace-summaries and request lookups
	// (default 1500).
	MaxSummaries int
	// Logger receives internal errors; nil discards them.
	Logger *slog.Logger
	// Registerer receives the handler's metrics; nil means no metrics.
	Registerer prometheus.Registerer
}

// Defaults of Options and of the endpoints.
const (
	defaultMaxTraces      = 20000
	defaultMaxSummaries   = 1500
	defaultSummaryLimit   = 20
	defaultSummaryWindow  = 48 * time.Hour
	defaultStatsWindow    = time.Hour
	defaultLookupWindow   = 7 * 24 * time.Hour
	defaultBreakdownAttr  = "datacenter"
	defaultBreakdownLimit = 50
	summaryWorkers        = 4
)

// The attributes that carry a request ID: Envoy's x-request-id as Envoy
// tags it, as a plain tag, and as OTel semantic conventions name a captured
// request header.
const (
	requestIDEnvoy  = "guid:x-request-id"
	requestIDTag    = "x-request-id"
	requestIDHeader = "http.request.header.x_request_id"
)

const (
	headerTenant      = "X-Scope-OrgID"
	headerTenantAlias = "X-Tenant"
)

// NewHandler returns the handler of the UI endpoints. Mount it at
// /api/waymark/; it answers 404 for any other path under that prefix.
func NewHandler(q Querier, opts Options) http.Handler {
	h := &handler{q: q, opts: opts, now: time.Now, mux: http.NewServeMux()}
	if h.opts.DefaultTenant == "" {
		h.opts.DefaultTenant = model.DefaultTenant
	}
	if h.opts.MaxTraces <= 0 {
		h.opts.MaxTraces = defaultMaxTraces
	}
	if h.opts.MaxSummaries <= 0 {
		h.opts.MaxSummaries = defaultMaxSummaries
	}
	if h.opts.Logger == nil {
		h.opts.Logger = slog.New(slog.DiscardHandler)
	}
	h.metrics = newMetrics(opts.Registerer)
	h.route("GET /api/waymark/trace-summaries", "trace_summaries", h.traceSummaries)
	h.route("GET /api/waymark/service-stats", "service_stats", h.serviceStats)
	h.route("GET /api/waymark/breakdown", "breakdown", h.breakdown)
	h.route("GET /api/waymark/request/{id}", "request", h.requestLookup)
	h.route("GET /api/waymark/trace/{id}", "trace", h.trace)
	h.route("GET /api/waymark/tags", "tags", h.tags)
	h.route("/api/waymark/", "unmatched", func(_ context.Context, _ string, r *http.Request) (any, error) {
		return nil, fmt.Errorf("%w: %s %s", errNotFound, r.Method, r.URL.Path)
	})
	return h
}

type handler struct {
	q       Querier
	opts    Options
	now     func() time.Time
	mux     *http.ServeMux
	metrics *metrics
	bufs    sync.Pool // *[]byte, response buffers of writeAppended
}

// maxPooledBuffer bounds the response buffers kept for reuse: one for a
// trace of about 250,000 spans.
const maxPooledBuffer = 16 << 20

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// errNotFound marks an unknown route or object (HTTP 404).
var errNotFound = errors.New("not found")

// endpointFunc answers one request for tenant with a value to encode as data.
type endpointFunc func(ctx context.Context, tenant string, r *http.Request) (any, error)

// envelope is the Jaeger API's response shape, which the UI already reads.
type envelope struct {
	Data   any        `json:"data"`
	Total  int        `json:"total"`
	Errors []apiError `json:"errors"`
}

type apiError struct {
	Code int    `json:"code"`
	Msg  string `json:"msg"`
}

func (h *handler) route(pattern, name string, fn endpointFunc) {
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := h.now()
		code := h.serve(w, r, fn)
		h.metrics.observe(name, code, h.now().Sub(start))
	})
}

func (h *handler) serve(w http.ResponseWriter, r *http.Request, fn endpointFunc) int {
	tenant := r.Header.Get(headerTenant)
	if tenant == "" {
		tenant = r.Header.Get(headerTenantAlias)
	}
	if tenant == "" {
		tenant = h.opts.DefaultTenant
	}
	var (
		data any
		err  = model.ValidateTenant(tenant)
	)
	if err != nil {
		err = fmt.Errorf("%w: %w", errBadParam, err)
	} else {
		data, err = fn(r.Context(), tenant, r)
	}
	env := envelope{Data: data}
	code := http.StatusOK
	if err != nil {
		code = statusOf(err)
		if code == http.StatusInternalServerError {
			h.opts.Logger.Error("ui api request failed", "path", r.URL.Path, "tenant", tenant, "err", err)
		}
		env = envelope{Errors: []apiError{{Code: code, Msg: err.Error()}}}
	} else if n, ok := lengthOf(data); ok {
		env.Total = n
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if a, ok := data.(jsonAppender); ok && err == nil {
		h.writeAppended(w, r, a, env.Total)
		return code
	}
	w.WriteHeader(code)
	if err := json.NewEncoder(w).Encode(env); err != nil {
		h.opts.Logger.Debug("write response", "path", r.URL.Path, "err", err)
	}
	return code
}

// jsonAppender is data that writes its own JSON, for large answers.
type jsonAppender interface {
	AppendJSON(dst []byte) []byte
}

// writeAppended writes a 200 envelope around a's JSON, as json.Encoder
// would, from a pooled buffer.
func (h *handler) writeAppended(w http.ResponseWriter, r *http.Request, a jsonAppender, total int) {
	bp, _ := h.bufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	b := append((*bp)[:0], `{"data":`...)
	b = a.AppendJSON(b)
	b = append(b, `,"total":`...)
	b = strconv.AppendInt(b, int64(total), 10)
	b = append(b, ",\"errors\":null}\n"...)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(b); err != nil {
		h.opts.Logger.Debug("write response", "path", r.URL.Path, "err", err)
	}
	if cap(b) <= maxPooledBuffer {
		*bp = b
		h.bufs.Put(bp)
	}
}

func statusOf(err error) int {
	switch {
	case errors.Is(err, errBadParam):
		return http.StatusBadRequest
	case errors.Is(err, errNotFound):
		return http.StatusNotFound
	case errors.Is(err, context.Canceled):
		// The client went away; the code is only for metrics.
		return 499
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	}
	if _, ok := model.IsOverloaded(err); ok {
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func lengthOf(data any) (int, bool) {
	switch d := data.(type) {
	case []TraceSummary:
		return len(d), true
	case []string:
		return len(d), true
	}
	return 0, false
}

// traceSummaries answers GET /api/waymark/trace-summaries with the Jaeger
// search parameters: one summary per matching trace, newest first.
func (h *handler) traceSummaries(ctx context.Context, tenant string, r *http.Request) (any, error) {
	req, err := parseSearch(r.URL.Query(), h.now(), searchDefaults{lookback: defaultSummaryWindow, limit: defaultSummaryLimit, maxLimit: h.opts.MaxSummaries})
	if err != nil {
		return nil, err
	}
	res, err := h.q.Search(ctx, tenant, req)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	matches := res.Matches
	h.metrics.scanned("trace_summaries", len(matches))
	out := make([]TraceSummary, len(matches))
	errs := make([]error, len(matches))
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(summaryWorkers, len(matches)) {
		wg.Go(func() {
			for i := range next {
				out[i], errs[i] = h.summarize(ctx, tenant, &matches[i])
			}
		})
	}
	for i := range matches {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// summarize fetches the whole trace of m and summarises it. A trace that
// vanished since the search (retention) is summarised from its matched spans.
func (h *handler) summarize(ctx context.Context, tenant string, m *filter.Match) (TraceSummary, error) {
	tr, err := h.q.FindTrace(ctx, tenant, m.TraceID, m.StartUnixNano, m.EndUnixNano)
	switch {
	case errors.Is(err, query.ErrTraceNotFound):
		tr = query.Trace{ID: m.TraceID, Spans: m.Spans, StoredSpans: len(m.Spans)}
	case err != nil:
		return TraceSummary{}, fmt.Errorf("fetch trace %s: %w", m.TraceID, err)
	}
	if len(tr.Spans) == 0 {
		return TraceSummary{TraceID: m.TraceID.String(), StartUs: int64(m.StartUnixNano / 1e3)}, nil
	}
	// A truncated trace is summarised from the spans kept, but for its
	// span count, which is the stored one.
	sum := Summarize(m.TraceID, tr.Spans)
	if tr.Truncated() {
		sum.SpanCount = tr.StoredSpans
	}
	return sum, nil
}

// scan runs a statistics search capped at MaxTraces and reports whether the
// cap, or the query layer's span budget, was reached.
func (h *handler) scan(ctx context.Context, tenant, endpoint string, req filter.Request) ([]filter.Match, bool, error) {
	req.Limit = h.opts.MaxTraces
	res, err := h.q.Search(ctx, tenant, req)
	if err != nil {
		return nil, false, fmt.Errorf("search: %w", err)
	}
	h.metrics.scanned(endpoint, len(res.Matches))
	return res.Matches, len(res.Matches) >= h.opts.MaxTraces || res.Warning != "", nil
}

// serviceStats answers GET /api/waymark/service-stats?start&end (µs; default
// the last hour) with per-service and per-operation RED figures. It also
// takes the other search parameters, to narrow the spans considered.
func (h *handler) serviceStats(ctx context.Context, tenant string, r *http.Request) (any, error) {
	req, err := parseSearch(r.URL.Query(), h.now(), searchDefaults{lookback: defaultStatsWindow})
	if err != nil {
		return nil, err
	}
	matches, truncated, err := h.scan(ctx, tenant, "service_stats", req)
	if err != nil {
		return nil, err
	}
	window := float64(req.EndUnixNano-req.StartUnixNano) / 1e9
	st := ServiceStatsOf(matches, window)
	st.Truncated = truncated
	return st, nil
}

// breakdown answers GET /api/waymark/breakdown?service&operation&attribute&
// start&end&tags&limit: the matching spans grouped by attribute (default
// datacenter), most deviant group first. limit caps the groups (default 50).
func (h *handler) breakdown(ctx context.Context, tenant string, r *http.Request) (any, error) {
	v := r.URL.Query()
	groups := defaultBreakdownLimit
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%w: limit %q is not a non-negative integer", errBadParam, s)
		}
		groups = n
		v.Del("limit")
	}
	attr := v.Get("attribute")
	if attr == "" {
		attr = defaultBreakdownAttr
	}
	req, err := parseSearch(v, h.now(), searchDefaults{lookback: defaultStatsWindow})
	if err != nil {
		return nil, err
	}
	matches, truncated, err := h.scan(ctx, tenant, "breakdown", req)
	if err != nil {
		return nil, err
	}
	b := BreakdownOf(matches, attr, groups)
	b.Truncated = truncated
	return b, nil
}

// requestLookup answers GET /api/waymark/request/{id}?start&end&limit with
// the IDs of the traces, newest first, that carry the request ID in one of
// the request ID attributes. The range defaults to the last 7 days.
func (h *handler) requestLookup(ctx context.Context, tenant string, r *http.Request) (any, error) {
	id := r.PathValue("id")
	if id == "" {
		return nil, fmt.Errorf("%w: empty request id", errBadParam)
	}
	base, err := parseSearch(r.URL.Query(), h.now(), searchDefaults{lookback: defaultLookupWindow, limit: defaultSummaryLimit, maxLimit: h.opts.MaxSummaries})
	if err != nil {
		return nil, err
	}
	if len(base.Conditions) > 0 || base.MinDurationNano > 0 || base.MaxDurationNano > 0 {
		return nil, fmt.Errorf("%w: request lookup takes only start, end and limit", errBadParam)
	}
	var all []filter.Match
	for _, key := range []string{requestIDEnvoy, requestIDTag, requestIDHeader} {
		req := base
		req.Conditions = []filter.Condition{{Scope: filter.ScopeAny, Key: key, Op: filter.OpEq, Value: model.StringValue(id)}}
		res, err := h.q.Search(ctx, tenant, req)
		if err != nil {
			return nil, fmt.Errorf("search %s: %w", key, err)
		}
		all = append(all, res.Matches...)
	}
	slices.SortFunc(all, func(a, b filter.Match) int {
		return cmp.Or(cmp.Compare(b.StartUnixNano, a.StartUnixNano), bytes.Compare(a.TraceID[:], b.TraceID[:]))
	})
	ids := make([]string, 0, len(all))
	seen := make(map[model.TraceID]bool, len(all))
	for _, m := range all {
		if seen[m.TraceID] || (base.Limit > 0 && len(ids) >= base.Limit) {
			continue
		}
		seen[m.TraceID] = true
		ids = append(ids, m.TraceID.String())
	}
	return ids, nil
}

// trace answers GET /api/waymark/trace/{id} with the whole trace in the
// compact form of CompactTrace.
func (h *handler) trace(ctx context.Context, tenant string, r *http.Request) (any, error) {
	id, err := model.ParseTraceID(r.PathValue("id"))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errBadParam, err)
	}
	tr, err := h.q.FindTrace(ctx, tenant, id, 0, 0)
	if errors.Is(err, query.ErrTraceNotFound) || (err == nil && len(tr.Spans) == 0) {
		return nil, fmt.Errorf("%w: trace %s", errNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("fetch trace %s: %w", id, err)
	}
	h.metrics.scanned("trace", 1)
	ct := Compact(id, tr.Spans)
	if tr.Truncated() {
		ct.Warning, ct.StoredSpans = tr.Warning(), tr.StoredSpans
	}
	return ct, nil
}

// TagKey is an attribute key with the values seen for it, for the UI's
// autocomplete.
type TagKey struct {
	Key    string   `json:"key"`
	Scopes []string `json:"scopes"`
	Values []string `json:"values"`
	// Truncated says the key has more distinct values than were kept.
	Truncated bool `json:"truncated,omitempty"`
}

// tags answers GET /api/waymark/tags?start&end (µs; default the last hour)
// with every attribute key seen, span and resource scopes merged, sorted by
// key, each with its values sorted.
func (h *handler) tags(ctx context.Context, tenant string, r *http.Request) (any, error) {
	req, err := parseSearch(r.URL.Query(), h.now(), searchDefaults{lookback: defaultStatsWindow})
	if err != nil {
		return nil, err
	}
	tags, err := h.q.Tags(ctx, tenant, req.StartUnixNano, req.EndUnixNano)
	if err != nil {
		return nil, fmt.Errorf("tags: %w", err)
	}
	return TagKeysOf(tags), nil
}

// TagKeysOf flattens a tag summary into keys sorted by name, each listing
// the scopes it appears in and its values as text, sorted.
func TagKeysOf(tags summary.Tags) []TagKey {
	byKey := make(map[string]*TagKey)
	values := make(map[string]map[string]struct{})
	for scope, keys := range tags {
		for key, tv := range keys {
			k := byKey[key]
			if k == nil {
				k = &TagKey{Key: key}
				byKey[key] = k
				values[key] = make(map[string]struct{})
			}
			k.Scopes = append(k.Scopes, scope)
			k.Truncated = k.Truncated || tv.Truncated
			for v := range tv.Values {
				values[key][v.AsString()] = struct{}{}
			}
		}
	}
	out := make([]TagKey, 0, len(byKey))
	for key, k := range byKey {
		for v := range values[key] {
			k.Values = append(k.Values, v)
		}
		slices.Sort(k.Values)
		slices.Sort(k.Scopes)
		out = append(out, *k)
	}
	slices.SortFunc(out, func(a, b TagKey) int { return cmp.Compare(a.Key, b.Key) })
	return out
}
