package uiapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"waymark/internal/model"
	"waymark/internal/store/filter"
)

// errBadParam marks a malformed request parameter (HTTP 400).
var errBadParam = errors.New("bad parameter")

// searchDefaults are the per-endpoint defaults applied by parseSearch.
type searchDefaults struct {
	lookback time.Duration // when start is absent: end − lookback
	limit    int           // when limit is absent; 0 means no limit
	maxLimit int           // upper bound of limit; 0 means none
}

// parseSearch turns the Jaeger search parameters (service, operation,
// tags (JSON map), tag (k:v, repeatable), start and end (µs), minDuration,
// maxDuration (Go durations) and limit) into a filter request. Absent times
// default to [now − lookback, now]. A limit above maxLimit is lowered to it.
func parseSearch(v url.Values, now time.Time, d searchDefaults) (filter.Request, error) {
	var req filter.Request
	if svc := v.Get("service"); svc != "" {
		req.Conditions = append(req.Conditions, filter.Condition{Scope: filter.ScopeResource, Key: "service.name", Op: filter.OpEq, Value: model.StringValue(svc)})
	}
	if op := v.Get("operation"); op != "" {
		req.Conditions = append(req.Conditions, filter.Condition{Scope: filter.ScopeIntrinsic, Key: filter.IntrinsicName, Op: filter.OpEq, Value: model.StringValue(op)})
	}
	tags, err := parseTags(v)
	if err != nil {
		return req, err
	}
	req.Conditions = append(req.Conditions, tags...)

	end, err := parseEpochMicros(v.Get("end"), "end")
	if err != nil {
		return req, err
	}
	if end == 0 {
		end = uint64(now.UnixNano())
	}
	start, err := parseEpochMicros(v.Get("start"), "start")
	if err != nil {
		return req, err
	}
	if start == 0 && d.lookback > 0 {
		start = end - min(end, uint64(d.lookback))
	}
	if start > end {
		return req, fmt.Errorf("%w: start is after end", errBadParam)
	}
	req.StartUnixNano, req.EndUnixNano = start, end

	if req.MinDurationNano, err = parseDuration(v.Get("minDuration"), "minDuration"); err != nil {
		return req, err
	}
	if req.MaxDurationNano, err = parseDuration(v.Get("maxDuration"), "maxDuration"); err != nil {
		return req, err
	}
	if req.MaxDurationNano != 0 && req.MinDurationNano > req.MaxDurationNano {
		return req, fmt.Errorf("%w: minDuration is greater than maxDuration", errBadParam)
	}

	req.Limit = d.limit
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return req, fmt.Errorf("%w: limit %q is not a non-negative integer", errBadParam, s)
		}
		req.Limit = n
	}
	if d.maxLimit > 0 && (req.Limit == 0 || req.Limit > d.maxLimit) {
		req.Limit = d.maxLimit
	}
	return req, nil
}

// parseTags reads the tags JSON map and repeated tag=key:value parameters
// as conditions; see tagCondition. Non-string JSON values compare by their
// text, as Jaeger sends every value as text.
func parseTags(v url.Values) ([]filter.Condition, error) {
	var conds []filter.Condition
	for _, raw := range v["tags"] {
		if strings.TrimSpace(raw) == "" {
			continue
		}
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil || dec.More() {
			return nil, fmt.Errorf("%w: tags must be one JSON object of strings", errBadParam)
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		// Deterministic condition order makes requests comparable.
		slices.Sort(keys)
		for _, k := range keys {
			if k == "" {
				return nil, fmt.Errorf("%w: tags has an empty key", errBadParam)
			}
			var text string
			switch val := m[k].(type) {
			case string:
				text = val
			case bool:
				text = strconv.FormatBool(val)
			case json.Number:
				text = val.String()
			default:
				return nil, fmt.Errorf("%w: tag %q must have a string, number or bool value", errBadParam, k)
			}
			conds = append(conds, tagCondition(k, text))
		}
	}
	for _, kv := range v["tag"] {
		k, val, ok := strings.Cut(kv, ":")
		if !ok || k == "" {
			return nil, fmt.Errorf("%w: tag %q must be key:value", errBadParam, kv)
		}
		conds = append(conds, tagCondition(k, val))
	}
	return conds, nil
}

// tagCondition maps one tag filter to a condition. The tags the Jaeger API
// derives from span fields match those fields, so that error=true finds
// failed spans whatever protocol they came in by: error (a bool), span.kind,
// otel.status_code and otel.status_description. Any other key is compared
// by text with a span attribute, else a resource attribute.
func tagCondition(key, value string) filter.Condition {
	field := func(k string, op filter.Op, v string) filter.Condition {
		return filter.Condition{Scope: filter.ScopeIntrinsic, Key: k, Op: op, Value: model.StringValue(v)}
	}
	switch key {
	case "error":
		if failed, err := strconv.ParseBool(value); err == nil {
			op := filter.OpEq
			if !failed {
				op = filter.OpNotEq
			}
			return field(filter.IntrinsicStatus, op, model.StatusError.String())
		}
	case "span.kind":
		return field(filter.IntrinsicKind, filter.OpEq, strings.ToLower(value))
	case "otel.status_code":
		return field(filter.IntrinsicStatus, filter.OpEq, strings.ToLower(value))
	case "otel.status_description":
		return field(filter.IntrinsicStatusMessage, filter.OpEq, value)
	}
	return filter.Condition{Scope: filter.ScopeAny, Key: key, Op: filter.OpEq, Value: model.StringValue(value)}
}

// parseEpochMicros parses an epoch time given in µs and returns ns; "" is 0.
// A value whose digit count says seconds (10), milliseconds (13) or
// nanoseconds (19) is read in that unit, as clients get the unit wrong.
func parseEpochMicros(s, name string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %s %q is not an integer time in microseconds", errBadParam, name, s)
	}
	var mult uint64
	switch len(strings.TrimLeft(s, "0")) {
	case 0:
		return 0, nil
	case 9, 10:
		mult = 1e9
	case 12, 13:
		mult = 1e6
	case 18, 19, 20:
		mult = 1
	default:
		mult = 1e3
	}
	if n > ^uint64(0)/mult {
		return 0, fmt.Errorf("%w: %s %q is out of range", errBadParam, name, s)
	}
	return n * mult, nil
}

// parseDuration parses a Go duration ("1.2s", "100ms") and returns ns; ""
// is 0.
func parseDuration(s, name string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%w: %s %q is not a duration such as 100ms or 1.5s", errBadParam, name, s)
	}
	return uint64(d), nil
}
