// Package zipkinapi serves the Zipkin v2 query API (GET /api/v2/services,
// spans, remoteServices, traces, trace/{traceId}, traceMany, dependencies,
// autocompleteKeys and autocompleteValues) that the Zipkin UI and Zipkin
// clients read, over a Querier. Responses are bare JSON with Zipkin's
// units: span timestamps and durations and the min/maxDuration parameters
// in µs, endTs and lookback in ms. Spans are written in Zipkin v2 JSON
// form straight from model spans: local and remote endpoints from the
// resource's service.name and the network attributes, tags from attributes
// as strings, annotations from events, the error tag from an error status,
// shared on the server half of a client/server span pair, and 64-bit trace
// IDs in their 16-hex form. Every request is served for exactly one
// tenant, from X-Scope-OrgID or the configured default, and never sees
// another tenant's data. Bad parameters yield a plain-text 400, an unknown
// trace a 404, never a panic. The package only serves GET routes; the
// Zipkin receiver owns POST /api/v2/spans on the same port.
package zipkinapi
