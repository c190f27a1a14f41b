// Package jaegergrpc serves Jaeger's gRPC query service,
// jaeger.api_v2.QueryService (GetTrace, FindTraces, GetServices,
// GetOperations, GetDependencies), over a Querier, for Jaeger tooling and
// Grafana's Jaeger data source in gRPC mode. The api_v2 service is served
// because the Jaeger IDL module publishes generated Go code for api_v2
// only. Spans are converted with the OpenTelemetry Collector's Jaeger
// translator and streamed in chunks of at most ten spans, each span with
// its process. Register works on any gRPC server: messages are encoded
// with the generated api_v2 code, not with the server's codec. Every call
// is served for exactly one tenant, from the x-scope-orgid (or x-tenant)
// metadata or the configured default, and never sees another tenant's
// data. Bad requests yield InvalidArgument, an unknown trace NotFound, an
// overloaded store Unavailable; ArchiveTrace is Unimplemented, as Waymark
// has no archive storage.
package jaegergrpc
