package jaegerapi

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"waymark/internal/api/jaegerquery"
	"waymark/internal/store/filter"
)

// getParam returns the name and value of the first of names present in q,
// or the first name and "". api_v3 takes each parameter under its camelCase
// name and the snake_case and older aliases Jaeger also accepts.
func getParam(q url.Values, names ...string) (name, value string) {
	for _, n := range names {
		if v := q.Get(n); v != "" {
			return n, v
		}
	}
	return names[0], ""
}

// parseRFC3339 parses an RFC3339Nano time into Unix ns. A space where the
// offset's sign belongs is read as '+': clients that append the time to the
// URL unencoded turn "+02:00" into " 02:00".
func parseRFC3339(name, s string) (uint64, error) {
	if n := len(s); n >= 6 && s[n-6] == ' ' {
		s = s[:n-6] + "+" + s[n-5:]
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, paramError(name, err)
	}
	if t.Before(time.Unix(0, 0)) || t.After(time.Unix(0, 1<<63-1)) {
		return 0, paramError(name, fmt.Errorf("time %s is outside 1970 to 2262", s))
	}
	return uint64(t.UnixNano()), nil
}

// v3TraceParams is a parsed GET /api/v3/traces/{id}.
type v3TraceParams struct {
	start, end uint64
	raw        bool
}

func parseV3TraceParams(q url.Values) (v3TraceParams, error) {
	var p v3TraceParams
	var err error
	if n, v := getParam(q, "startTime", "start_time"); v != "" {
		if p.start, err = parseRFC3339(n, v); err != nil {
			return p, err
		}
	}
	if n, v := getParam(q, "endTime", "end_time"); v != "" {
		if p.end, err = parseRFC3339(n, v); err != nil {
			return p, err
		}
	}
	n, v := getParam(q, "rawTraces", "raw_traces")
	p.raw, err = parseBoolParam(n, v)
	return p, err
}

// v3SearchParams is a parsed GET /api/v3/traces or /api/v3/trace-summaries.
type v3SearchParams struct {
	req filter.Request
	raw bool
}

// parseV3SearchParams parses an api_v3 search. query.startTimeMin and
// query.startTimeMax are required, as in Jaeger; the search depth defaults
// to 100.
func parseV3SearchParams(q url.Values) (v3SearchParams, error) {
	var p v3SearchParams
	minName, minValue := getParam(q, "query.startTimeMin", "query.start_time_min")
	maxName, maxValue := getParam(q, "query.startTimeMax", "query.start_time_max")
	if minValue == "" || maxValue == "" {
		return p, errors.New("query.startTimeMin and query.startTimeMax are required")
	}
	start, err := parseRFC3339(minName, minValue)
	if err != nil {
		return p, err
	}
	end, err := parseRFC3339(maxName, maxValue)
	if err != nil {
		return p, err
	}
	if start > end {
		return p, errors.New("invalid parameter: start time must be before end time")
	}
	f := jaegerquery.Search{Tags: make(map[string]string)}
	_, f.Service = getParam(q, "query.serviceName", "query.service_name")
	_, f.Operation = getParam(q, "query.operationName", "query.operation_name")
	if n, v := getParam(q, "query.attributes"); v != "" {
		if err := parseJSONTags(n, v, f.Tags); err != nil {
			return p, err
		}
	}
	var v string
	f.MinName, v = getParam(q, "query.durationMin", "query.duration_min")
	if f.MinDurationNano, err = parseDurationParam(f.MinName, v); err != nil {
		return p, err
	}
	f.MaxName, v = getParam(q, "query.durationMax", "query.duration_max")
	if f.MaxDurationNano, err = parseDurationParam(f.MaxName, v); err != nil {
		return p, err
	}
	if p.req, err = f.Request(); err != nil {
		return p, err
	}
	p.req.StartUnixNano, p.req.EndUnixNano = start, end
	n, v := getParam(q, "query.searchDepth", "query.search_depth", "query.numTraces", "query.num_traces")
	if p.req.Limit, err = parseLimit(n, v, jaegerquery.DefaultLimit); err != nil {
		return p, err
	}
	n, v = getParam(q, "query.rawTraces", "query.raw_traces")
	p.raw, err = parseBoolParam(n, v)
	return p, err
}
