package zipkinapi

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"waymark/internal/model"
)

// Bounds of the query parameters.
const (
	defaultLimit      = 10
	maxLimit          = 10_000
	maxTraceIDs       = 1000
	maxAnnotationTerm = 64
)

// annotationTerm is one term of an annotationQuery: key=value constrains a
// tag; a bare key matches a tag key or an annotation value.
type annotationTerm struct {
	key   string
	value string
	// bare reports a term without "=".
	bare bool
}

// parseAnnotationQuery parses Zipkin's annotationQuery: terms joined by
// " and ", each "key=value" or a bare word. Empty input gives no terms.
func parseAnnotationQuery(s string) ([]annotationTerm, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, " and ")
	if len(parts) > maxAnnotationTerm {
		return nil, fmt.Errorf("annotationQuery has %d terms; at most %d are allowed", len(parts), maxAnnotationTerm)
	}
	terms := make([]annotationTerm, 0, len(parts))
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			return nil, fmt.Errorf("annotationQuery %q has an empty term", s)
		}
		key, value, hasValue := strings.Cut(p, "=")
		key = strings.TrimSpace(key)
		if key == "" {
			return nil, fmt.Errorf("annotationQuery term %q has an empty key", p)
		}
		terms = append(terms, annotationTerm{key: key, value: value, bare: !hasValue})
	}
	return terms, nil
}

// parseTraceID parses a Zipkin trace ID: 16 or 32 hex characters (shorter
// IDs are left-padded, as Zipkin does).
func parseTraceID(s string) (model.TraceID, error) {
	id, err := model.ParseTraceID(s)
	if err != nil {
		return model.TraceID{}, fmt.Errorf("traceId: %w", err)
	}
	return id, nil
}

// parseTraceIDs parses traceMany's comma-separated IDs, dropping repeats.
func parseTraceIDs(s string) ([]model.TraceID, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("traceIds is required: a comma-separated list of trace IDs")
	}
	parts := strings.Split(s, ",")
	if len(parts) > maxTraceIDs {
		return nil, fmt.Errorf("traceIds has %d IDs; at most %d are allowed", len(parts), maxTraceIDs)
	}
	ids := make([]model.TraceID, 0, len(parts))
	seen := make(map[model.TraceID]struct{}, len(parts))
	for _, p := range parts {
		id, err := parseTraceID(strings.TrimSpace(p))
		if err != nil {
			return nil, err
		}
		if _, dup := seen[id]; dup {
			continue
		}
		seen[id] = struct{}{}
		ids = append(ids, id)
	}
	return ids, nil
}

// parseUint parses the non-negative integer parameter key; ok is false when
// it is absent.
func parseUint(v url.Values, key string) (n uint64, ok bool, err error) {
	s := v.Get(key)
	if s == "" {
		return 0, false, nil
	}
	n, err = strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("%s must be a non-negative integer, got %q", key, s)
	}
	return n, true, nil
}

// timeRange is a query window in Unix ns, both ends inclusive.
type timeRange struct{ start, end uint64 }

// parseWindow reads endTs and lookback (ms). endTs defaults to now unless
// required; lookback defaults to defaultLookback, and never reaches before
// the epoch.
func parseWindow(v url.Values, now time.Time, defaultLookback time.Duration, endRequired bool) (timeRange, error) {
	endMs, ok, err := parseUint(v, "endTs")
	if err != nil {
		return timeRange{}, err
	}
	if !ok {
		if endRequired {
			return timeRange{}, errors.New("endTs is required: milliseconds since the epoch")
		}
		endMs = uint64(max(0, now.UnixMilli()))
	}
	lookMs, ok, err := parseUint(v, "lookback")
	if err != nil {
		return timeRange{}, err
	}
	if !ok {
		lookMs = uint64(defaultLookback.Milliseconds())
	}
	const maxMs = math.MaxUint64/1_000_000 - 1
	if endMs > maxMs {
		return timeRange{}, fmt.Errorf("endTs %d is out of range: it is in milliseconds", endMs)
	}
	startMs := uint64(0)
	if lookMs < endMs {
		startMs = endMs - lookMs
	}
	// The search treats a zero start as "unbounded"; 1 ns means the epoch.
	return timeRange{start: max(1, startMs*1e6), end: endMs*1e6 + 999_999}, nil
}

// parseLimit reads limit, default 10.
func parseLimit(v url.Values) (int, error) {
	n, ok, err := parseUint(v, "limit")
	if err != nil {
		return 0, err
	}
	if !ok {
		return defaultLimit, nil
	}
	if n == 0 || n > maxLimit {
		return 0, fmt.Errorf("limit must be between 1 and %d, got %d", maxLimit, n)
	}
	return int(n), nil
}

// parseDuration reads a duration parameter in µs and returns ns.
func parseDuration(v url.Values, key string) (uint64, error) {
	us, _, err := parseUint(v, key)
	if err != nil {
		return 0, err
	}
	if us > math.MaxUint64/1000 {
		return 0, fmt.Errorf("%s %d is out of range: it is in microseconds", key, us)
	}
	return us * 1000, nil
}
