// Package jaegerapi serves the Jaeger query HTTP API that Jaeger UI and
// Grafana's Jaeger data source read: the internal /api/* routes (services,
// operations, trace search, trace by ID, dependencies) and the api_v3 routes
// under /api/v3/* (services, operations, traces, trace summaries), with
// exactly Jaeger's response shapes and units (µs for /api/traces times and the
// trace JSON, ms for dependencies, RFC3339Nano for api_v3). It translates
// between these protocols and a Querier and does nothing else: it never
// reads storage itself and imports no store package but the filter
// vocabulary. Every request is served for exactly one tenant, taken from the
// X-Scope-OrgID header (or its alias x-tenant) or the configured default; a
// request never sees another tenant's data. Bad parameters yield a 400 with
// a message, never a panic, and any /api/* path without a route gets a plain
// 404 so it never falls through to the UI.
package jaegerapi
