package jaegergrpc

import (
	"time"

	"waymark/internal/api/jaegerquery"
	"waymark/internal/store/filter"
)

// traceQuery is a trace search as api_v2 and api_v3 both carry it, their
// field names being the same.
type traceQuery struct {
	service, operation string
	// tags are api_v2's tags, api_v3's attributes; tagsName names them in
	// errors.
	tags     map[string]string
	tagsName string
	// startMin and startMax are Unix ns; 0 is unset.
	startMin, startMax       uint64
	durationMin, durationMax time.Duration
	searchDepth              int32
}

// request validates q and turns it into a search, with the mapping every
// Jaeger API of Waymark shares: a search depth of 0 asks for
// jaegerquery.DefaultLimit traces.
func (q *traceQuery) request() (filter.Request, error) {
	if q.startMax != 0 && q.startMin > q.startMax {
		return filter.Request{}, invalid("start_time_min %s is after start_time_max %s", formatNano(q.startMin), formatNano(q.startMax))
	}
	if q.durationMin < 0 || q.durationMax < 0 {
		return filter.Request{}, invalid("duration_min and duration_max must not be negative")
	}
	if q.searchDepth < 0 || q.searchDepth > MaxNumTraces {
		return filter.Request{}, invalid("search_depth must be between 0 and %d, got %d", MaxNumTraces, q.searchDepth)
	}
	for k := range q.tags {
		if k == "" {
			return filter.Request{}, invalid("%s keys must not be empty", q.tagsName)
		}
	}
	s := jaegerquery.Search{
		Service:         q.service,
		Operation:       q.operation,
		Tags:            q.tags,
		MinDurationNano: uint64(q.durationMin),
		MaxDurationNano: uint64(q.durationMax),
		MinName:         "duration_min",
		MaxName:         "duration_max",
	}
	req, err := s.Request()
	if err != nil {
		return req, invalid("%v", err)
	}
	req.StartUnixNano, req.EndUnixNano = q.startMin, q.startMax
	req.Limit = int(q.searchDepth)
	if req.Limit == 0 {
		req.Limit = jaegerquery.DefaultLimit
	}
	return req, nil
}

// formatNano formats Unix ns as RFC 3339.
func formatNano(ns uint64) string {
	return time.Unix(0, int64(ns)).UTC().Format(time.RFC3339Nano)
}
