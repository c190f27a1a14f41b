package jaegerquery

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"waymark/internal/model"
	"waymark/internal/store/filter"
)

// DefaultLimit is the number of traces a search returns when the client
// does not say, as in Jaeger.
const DefaultLimit = 100

// The tags Jaeger derives from OTLP span fields.
const (
	tagError             = "error"
	tagSpanKind          = "span.kind"
	tagStatusCode        = "otel.status_code"
	tagStatusDescription = "otel.status_description"
)

// Search holds the parts of a Jaeger trace search that become conditions
// on one span. Times and the limit are set on the request by the caller.
type Search struct {
	// Service matches the resource attribute service.name; empty matches
	// any.
	Service string
	// Operation matches the span name; empty matches any.
	Operation string
	// Tags each match a tag (see TagCondition); all must match one span.
	Tags map[string]string
	// MinDurationNano and MaxDurationNano bound the span's duration; 0 is
	// no bound.
	MinDurationNano, MaxDurationNano uint64
	// MinName and MaxName name the duration parameters in errors.
	MinName, MaxName string
}

// Request returns the filter request of s, its conditions ordered service,
// operation, then tags by key. It fails on an empty tag key or a maximum
// duration below the minimum.
func (s *Search) Request() (filter.Request, error) {
	var req filter.Request
	if s.MaxDurationNano != 0 && s.MaxDurationNano < s.MinDurationNano {
		return req, fmt.Errorf("invalid parameter: '%s' should be greater than '%s'", s.MaxName, s.MinName)
	}
	req.MinDurationNano, req.MaxDurationNano = s.MinDurationNano, s.MaxDurationNano
	if s.Service != "" {
		req.Conditions = append(req.Conditions, filter.Condition{Scope: filter.ScopeResource, Key: "service.name", Op: filter.OpEq, Value: model.StringValue(s.Service)})
	}
	if s.Operation != "" {
		req.Conditions = append(req.Conditions, filter.Condition{Scope: filter.ScopeIntrinsic, Key: filter.IntrinsicName, Op: filter.OpEq, Value: model.StringValue(s.Operation)})
	}
	keys := make([]string, 0, len(s.Tags))
	for k := range s.Tags {
		if k == "" {
			return req, errors.New("invalid parameter: tag keys must not be empty")
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		req.Conditions = append(req.Conditions, TagCondition(k, s.Tags[k]))
	}
	return req, nil
}

// TagCondition turns a Jaeger tag filter into a condition. The tags Jaeger
// derives from span fields (error, span.kind, otel.status_code,
// otel.status_description) match those fields; any other key matches a
// span attribute, or else a resource attribute, by text.
func TagCondition(key, value string) filter.Condition {
	intrinsic := func(k string, op filter.Op, v string) filter.Condition {
		return filter.Condition{Scope: filter.ScopeIntrinsic, Key: k, Op: op, Value: model.StringValue(v)}
	}
	switch key {
	case tagError:
		if b, err := strconv.ParseBool(value); err == nil {
			if b {
				return intrinsic(filter.IntrinsicStatus, filter.OpEq, model.StatusError.String())
			}
			return intrinsic(filter.IntrinsicStatus, filter.OpNotEq, model.StatusError.String())
		}
	case tagSpanKind:
		return intrinsic(filter.IntrinsicKind, filter.OpEq, strings.ToLower(value))
	case tagStatusCode:
		return intrinsic(filter.IntrinsicStatus, filter.OpEq, strings.ToLower(value))
	case tagStatusDescription:
		return intrinsic(filter.IntrinsicStatusMessage, filter.OpEq, value)
	}
	return filter.Condition{Scope: filter.ScopeAny, Key: key, Op: filter.OpEq, Value: model.StringValue(value)}
}
