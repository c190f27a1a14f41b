package tempoapi

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"waymark/internal/api/apihttp"
	"waymark/internal/model"
	"waymark/internal/query"
	"waymark/internal/store/filter"
)

// Querier is what the Tempo API needs from the query layer.
// Trace reads and searches report, besides their data, whether the query
// layer's limits cut them short (query.Trace.Truncated, the Warning of a
// search); the handler passes that on.
type Querier interface {
	FindTrace(ctx context.Context, tenant string, id model.TraceID, startUnixNano, endUnixNano uint64) (query.Trace, error)
	SearchSummaries(ctx context.Context, tenant string, req filter.Request, spansPerSet int) (query.SummarySearch, error)
	SearchTraceQL(ctx context.Context, tenant string, req query.TraceQLRequest) (query.TraceQLSearch, error)
	QueryRange(ctx context.Context, tenant string, req query.MetricsRequest) (query.MetricsResult, error)
}

// Options configures the handler.
type Options struct {
	// DefaultTenant answers requests without X-Scope-OrgID.
	DefaultTenant string
	// Timeout bounds each request; 0 means 30 s.
	Timeout time.Duration
	Logger  *slog.Logger
}

// Search defaults, as Tempo's query frontend has them.
const (
	defaultLimit       = 20
	defaultSpansPerSet = 3
	maxLimit           = 10_000
)

type handler struct {
	q    Querier
	tq   TagQuerier
	opts Options
	log  *slog.Logger
}

// NewHandler returns the Tempo API handler.
func NewHandler(q interface {
	Querier
	TagQuerier
}, opts Options) http.Handler {
	if opts.DefaultTenant == "" {
		opts.DefaultTenant = model.DefaultTenant
	}
	if opts.Timeout == 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	h := &handler{q: q, tq: q, opts: opts, log: opts.Logger}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/echo", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("echo"))
	})
	mux.HandleFunc("GET /api/status/buildinfo", h.buildInfo)
	mux.HandleFunc("GET /api/traces/{id}", h.traceV1)
	mux.HandleFunc("GET /api/v2/traces/{id}", h.traceV2)
	mux.HandleFunc("GET /api/search", h.search)
	mux.HandleFunc("GET /api/search/tags", h.tagsV1)
	mux.HandleFunc("GET /api/v2/search/tags", h.tagsV2)
	mux.HandleFunc("GET /api/search/tag/{name}/values", h.tagValuesV1)
	mux.HandleFunc("GET /api/v2/search/tag/{name}/values", h.tagValuesV2)
	mux.HandleFunc("GET /api/metrics/query_range", h.metricsRange)
	mux.HandleFunc("GET /api/metrics/query", h.metricsInstant)
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown API path %s", r.URL.Path))
	})
	return mux
}

func (h *handler) tenant(w http.ResponseWriter, r *http.Request) (string, bool) {
	t := r.Header.Get("X-Scope-OrgID")
	if t == "" {
		return h.opts.DefaultTenant, true
	}
	if err := model.ValidateTenant(t); err != nil {
		writeError(w, http.StatusBadRequest, "X-Scope-OrgID: "+err.Error())
		return "", false
	}
	return t, true
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(msg + "\n"))
}

func writeJSON(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

func (h *handler) buildInfo(w http.ResponseWriter, _ *http.Request) {
	info := map[string]string{"version": "waymark-dev", "revision": "", "branch": "", "buildUser": "", "buildDate": "", "goVersion": runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info["revision"] = s.Value
			case "vcs.time":
				info["buildDate"] = s.Value
			}
		}
	}
	b, _ := json.Marshal(info)
	writeJSON(w, b)
}

// parseTraceID accepts 1–32 hex characters (Tempo strips leading zeros),
// decoding the path segment until stable.
func parseTraceID(raw string) (model.TraceID, error) {
	for i := 0; i < 3; i++ {
		dec, err := url.PathUnescape(raw)
		if err != nil || dec == raw {
			break
		}
		raw = dec
	}
	return model.ParseTraceID(strings.TrimSpace(raw))
}

// parseSeconds reads a Unix-seconds parameter; empty gives 0.
func parseSeconds(v url.Values, key string) (uint64, error) {
	s := v.Get(key)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid %s %q: want Unix seconds", key, s)
	}
	return uint64(n) * uint64(time.Second), nil
}

func (h *handler) findTrace(w http.ResponseWriter, r *http.Request) (query.Trace, string, bool) {
	tenant, ok := h.tenant(w, r)
	if !ok {
		return query.Trace{}, "", false
	}
	id, err := parseTraceID(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return query.Trace{}, "", false
	}
	start, err := parseSeconds(r.URL.Query(), "start")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return query.Trace{}, "", false
	}
	end, err := parseSeconds(r.URL.Query(), "end")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return query.Trace{}, "", false
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.Timeout)
	defer cancel()
	tr, err := h.q.FindTrace(ctx, tenant, id, start, end)
	if errors.Is(err, query.ErrTraceNotFound) {
		return query.Trace{}, tenant, true
	}
	if err != nil {
		h.log.Error("find trace", "tenant", tenant, "trace_id", id, "err", err)
		writeError(w, http.StatusInternalServerError, err.Error())
		return query.Trace{}, "", false
	}
	return tr, tenant, true
}

func wantsProtobuf(r *http.Request) bool {
	a := r.Header.Get("Accept")
	return strings.Contains(a, "application/protobuf") || strings.Contains(a, "application/x-protobuf")
}

// traceV1 answers /api/traces/{id}: tempopb.Trace (wire-identical to OTLP
// TracesData) or {"batches":[…]}; 404 when unknown.
func (h *handler) traceV1(w http.ResponseWriter, r *http.Request) {
	h.serveTrace(w, r, false)
}

// traceV2 answers /api/v2/traces/{id}: TraceByIDResponse{trace, metrics},
// with status PARTIAL and a message when the trace was truncated.
// An unknown ID is 404 (Tempo answers 200 with an empty trace, which Grafana
// shows as an empty trace instead of "not found").
func (h *handler) traceV2(w http.ResponseWriter, r *http.Request) {
	h.serveTrace(w, r, true)
}

func (h *handler) serveTrace(w http.ResponseWriter, r *http.Request, v2 bool) {
	tr, _, ok := h.findTrace(w, r)
	if !ok {
		return
	}
	spans := tr.Spans
	if len(spans) == 0 {
		writeError(w, http.StatusNotFound, "trace not found")
		return
	}
	warning := tr.Warning()
	if warning != "" {
		// v1 has no field for it; v2 has status and message as well.
		apihttp.SetWarning(w.Header(), warning)
	}
	sortSpans(spans)
	if wantsProtobuf(r) {
		var m ptrace.ProtoMarshaler
		b, err := m.MarshalTraces(model.TracesFromSpans(spans))
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		if v2 {
			// TraceByIDResponse{1: Trace, 3: status, 4: message}
			msg := make([]byte, 0, len(b)+len(warning)+16)
			msg = append(msg, 0x0a)
			msg = binary.AppendUvarint(msg, uint64(len(b)))
			msg = append(msg, b...)
			if warning != "" {
				msg = append(msg, 0x18, statusPartial, 0x22)
				msg = binary.AppendUvarint(msg, uint64(len(warning)))
				msg = append(msg, warning...)
			}
			b = msg
		}
		w.Header().Set("Content-Type", "application/protobuf")
		_, _ = w.Write(b)
		return
	}
	if !v2 {
		writeJSON(w, appendTraceJSON(nil, "batches", spans))
		return
	}
	b := append([]byte(`{"trace":`), appendTraceJSON(nil, "resourceSpans", spans)...)
	b = append(b, `,"metrics":{}`...)
	writeJSON(w, appendPartial(b, warning))
}

// statusPartial is TraceByIDResponse's PARTIAL status.
const statusPartial = 1

// appendPartial closes a JSON answer, adding "status":"PARTIAL" and the
// message when warning is set, as Tempo marks a partial trace.
func appendPartial(dst []byte, warning string) []byte {
	if warning != "" {
		dst = append(dst, `,"status":"PARTIAL","message":`...)
		dst = appendString(dst, warning)
	}
	return append(dst, '}')
}
