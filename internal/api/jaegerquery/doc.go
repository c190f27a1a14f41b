// Package jaegerquery holds the query semantics every Jaeger API of Waymark
// shares, so that the HTTP APIs (internal /api and /api/v3) and the gRPC
// services (api_v2 and api_v3) answer the same request alike: how a trace
// search's service, operation, tags and durations become a filter.Request,
// how a trace is looked up by ID (retrying without the client's time
// hints), how a trace is adjusted for display (sorted, exact repeats
// dropped) and grouped by resource and scope for OTLP output, and how a
// trace is summarised for a search result list. It does no I/O of its own
// beyond the lookup it is handed.
package jaegerquery
