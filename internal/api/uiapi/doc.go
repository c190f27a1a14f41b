// Package uiapi serves the read endpoints Waymark's web UI needs beyond the
// Jaeger API, under /api/waymark/: trace summaries for the results list, a
// compact column-oriented trace for the trace view, per-service and
// per-operation RED statistics, the outage-localisation breakdown of a
// service's spans by an attribute, attribute keys and values for
// autocomplete, and lookup of traces by request ID.
//
// Every endpoint reads one tenant (X-Scope-OrgID, else the default tenant)
// through a Querier and never writes. Answers are computed from the spans
// that match the request's time range and filters; when a scan reaches the
// configured trace cap the answer says so ("truncated") instead of silently
// presenting a partial figure as complete. Durations are in microseconds and
// times in microseconds since the Unix epoch, as in the Jaeger API.
package uiapi
