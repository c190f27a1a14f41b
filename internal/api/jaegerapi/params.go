package jaegerapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"waymark/internal/api/jaegerquery"
	"waymark/internal/model"
	"waymark/internal/store/filter"
)

// Defaults and bounds of Jaeger's /api/traces and /api/dependencies.
const (
	defaultSearchLookback = 48 * time.Hour
	defaultDepsLookback   = 24 * time.Hour
	maxTraceIDsPerRequest = 1000
	errAttributesNotValid = "must be a JSON object of strings, numbers or bools"
)

// timeUnit is the unit of an epoch integer.
type timeUnit uint8

// Epoch units, told apart by digit count.
const (
	unitSeconds timeUnit = iota
	unitMillis
	unitMicros
	unitNanos
)

func (u timeUnit) String() string {
	switch u {
	case unitSeconds:
		return "s"
	case unitMillis:
		return "ms"
	case unitMicros:
		return "µs"
	}
	return "ns"
}

func (u timeUnit) nanos() uint64 {
	switch u {
	case unitSeconds:
		return 1e9
	case unitMillis:
		return 1e6
	case unitMicros:
		return 1e3
	}
	return 1
}

// detectUnit tells the unit of an epoch integer by its digit count: up to 11
// digits are seconds, 12–14 milliseconds, 15–17 microseconds, more
// nanoseconds (10, 13, 16 and 19 digits for present-day times).
func detectUnit(v uint64) timeUnit {
	switch {
	case v < 1e11:
		return unitSeconds
	case v < 1e14:
		return unitMillis
	case v < 1e17:
		return unitMicros
	}
	return unitNanos
}

// unitMismatch records an epoch parameter sent in another unit than the API
// defines, so the handler can log it.
type unitMismatch struct {
	param     string
	got, want timeUnit
}

// epoch is a parsed epoch integer parameter.
type epoch struct {
	nanos uint64
	set   bool
}

// parseEpoch parses the epoch integer parameter name, defined in unit want,
// into Unix nanoseconds. Its real unit is detected by digit count; a
// mismatch is appended to mm. An absent parameter gives a zero epoch.
func parseEpoch(q url.Values, name string, want timeUnit, mm *[]unitMismatch) (epoch, error) {
	s := q.Get(name)
	if s == "" {
		return epoch{}, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return epoch{}, paramError(name, errors.New("not an unsigned integer epoch"))
	}
	unit := detectUnit(v)
	if unit != want {
		*mm = append(*mm, unitMismatch{param: name, got: unit, want: want})
	}
	if v > math.MaxUint64/unit.nanos() {
		return epoch{}, paramError(name, errors.New("epoch out of range"))
	}
	return epoch{nanos: v * unit.nanos(), set: true}, nil
}

// paramError reports a malformed parameter.
func paramError(name string, err error) error {
	return fmt.Errorf("malformed parameter %s: %w", name, err)
}

// parseDurationParam parses a Go duration string ("1.2s", "500us");
// absent is 0.
func parseDurationParam(name, s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, paramError(name, err)
	}
	if d < 0 {
		return 0, paramError(name, errors.New("duration must not be negative"))
	}
	return uint64(d), nil
}

// parseBoolParam parses an optional bool; absent is false.
func parseBoolParam(name, s string) (bool, error) {
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, paramError(name, err)
	}
	return b, nil
}

// parseLimit parses a positive count; absent gives def.
func parseLimit(name, s string, def int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, paramError(name, err)
	}
	if n <= 0 {
		return 0, paramError(name, errors.New("must be greater than 0"))
	}
	return int(n), nil
}

// parseJSONTags merges a JSON object of tag filters into tags. Values may be
// strings, numbers or bools; they are compared as text.
func parseJSONTags(name, s string, tags map[string]string) error {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return paramError(name, errors.New(errAttributesNotValid))
	}
	if dec.More() {
		return paramError(name, errors.New(errAttributesNotValid))
	}
	for k, v := range m {
		switch v := v.(type) {
		case string:
			tags[k] = v
		case json.Number:
			tags[k] = v.String()
		case bool:
			tags[k] = strconv.FormatBool(v)
		default:
			return paramError(name, errors.New(errAttributesNotValid))
		}
	}
	return nil
}

// searchParams is a parsed GET /api/traces.
type searchParams struct {
	req      filter.Request
	traceIDs []model.TraceID
	raw      bool
	units    []unitMismatch
}

// parseSearchParams parses the query of GET /api/traces. start and end are
// µs (other units are detected and noted); they default to now−2 days and
// now. service is optional. With traceID parameters the other filters are
// ignored, as in Jaeger.
func parseSearchParams(q url.Values, now time.Time) (searchParams, error) {
	var p searchParams
	start, err := parseEpoch(q, "start", unitMicros, &p.units)
	if err != nil {
		return p, err
	}
	end, err := parseEpoch(q, "end", unitMicros, &p.units)
	if err != nil {
		return p, err
	}
	if !start.set {
		start.nanos = uint64(max(now.Add(-defaultSearchLookback).UnixNano(), 0))
	}
	if !end.set {
		end.nanos = uint64(max(now.UnixNano(), 0))
	}
	if start.nanos > end.nanos {
		return p, errors.New("invalid parameter: start time must be before end time")
	}
	f := jaegerquery.Search{
		Service:   q.Get("service"),
		Operation: q.Get("operation"),
		Tags:      make(map[string]string),
		MinName:   "minDuration",
		MaxName:   "maxDuration",
	}
	for _, t := range q["tag"] {
		k, v, ok := strings.Cut(t, ":")
		if !ok {
			return p, paramError("tag", fmt.Errorf("expecting key:value, got %q", t))
		}
		f.Tags[k] = v
	}
	for _, t := range q["tags"] {
		if err := parseJSONTags("tags", t, f.Tags); err != nil {
			return p, err
		}
	}
	if f.MinDurationNano, err = parseDurationParam("minDuration", q.Get("minDuration")); err != nil {
		return p, err
	}
	if f.MaxDurationNano, err = parseDurationParam("maxDuration", q.Get("maxDuration")); err != nil {
		return p, err
	}
	if p.req, err = f.Request(); err != nil {
		return p, err
	}
	if p.req.Limit, err = parseLimit("limit", q.Get("limit"), jaegerquery.DefaultLimit); err != nil {
		return p, err
	}
	p.req.StartUnixNano, p.req.EndUnixNano = start.nanos, end.nanos
	if p.raw, err = parseBoolParam("raw", q.Get("raw")); err != nil {
		return p, err
	}
	ids := q["traceID"]
	if len(ids) > maxTraceIDsPerRequest {
		return p, paramError("traceID", fmt.Errorf("at most %d trace ids per request", maxTraceIDsPerRequest))
	}
	for _, s := range ids {
		id, err := model.ParseTraceID(s)
		if err != nil {
			return p, paramError("traceID", err)
		}
		p.traceIDs = append(p.traceIDs, id)
	}
	return p, nil
}

// depsParams is a parsed GET /api/dependencies.
type depsParams struct {
	start, end uint64
	service    string
	units      []unitMismatch
}

// parseDepsParams parses endTs (epoch ms, default now) and lookback (ms,
// default 24 h) of GET /api/dependencies.
func parseDepsParams(q url.Values, now time.Time) (depsParams, error) {
	var p depsParams
	end, err := parseEpoch(q, "endTs", unitMillis, &p.units)
	if err != nil {
		return p, err
	}
	if !end.set {
		end.nanos = uint64(max(now.UnixNano(), 0))
	}
	lookback := uint64(defaultDepsLookback)
	if s := q.Get("lookback"); s != "" {
		ms, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return p, paramError("lookback", errors.New("not a number of milliseconds"))
		}
		if ms > math.MaxUint64/uint64(time.Millisecond) {
			return p, paramError("lookback", errors.New("out of range"))
		}
		lookback = ms * uint64(time.Millisecond)
	}
	p.end = end.nanos
	if lookback < p.end {
		p.start = p.end - lookback
	}
	p.service = q.Get("service")
	return p, nil
}

// traceHints are the optional time bounds of a trace-by-ID lookup, in Unix ns.
type traceHints struct {
	start, end uint64
	raw        bool
	units      []unitMismatch
}

// parseTraceHints parses start and end (µs) and raw of GET /api/traces/{id}.
func parseTraceHints(q url.Values) (traceHints, error) {
	var h traceHints
	start, err := parseEpoch(q, "start", unitMicros, &h.units)
	if err != nil {
		return h, err
	}
	end, err := parseEpoch(q, "end", unitMicros, &h.units)
	if err != nil {
		return h, err
	}
	h.start, h.end = start.nanos, end.nanos
	h.raw, err = parseBoolParam("raw", q.Get("raw"))
	return h, err
}

// prettyPrint reports whether a v1 response should be indented, as Jaeger
// does for any prettyPrint value other than "" and "false".
func prettyPrint(q url.Values) bool {
	v := q.Get("prettyPrint")
	return v != "" && v != "false"
}

// indentJSON returns b indented, or b when it is not valid JSON.
func indentJSON(b []byte) []byte {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "    "); err != nil {
		return b
	}
	return out.Bytes()
}
