// Package jaegergrpc serves Jaeger's gRPC query services over a Querier,
// for Jaeger tooling, the Jaeger UI's query clients and Grafana's Jaeger
// data source in gRPC mode: jaeger.api_v2.QueryService (GetTrace,
// FindTraces, GetServices, GetOperations, GetDependencies) and
// jaeger.api_v3.QueryService (GetTrace, FindTraces, FindTraceSummaries,
// GetServices, GetOperations, GetDependencies), both registered on one gRPC
// server by Register.
//
// api_v2 spans are converted with the OpenTelemetry Collector's Jaeger
// translator and streamed in chunks of at most ten spans, each span with
// its process; its messages are encoded with the generated gogo-protobuf
// code, whatever the server's codec. api_v3 streams OTLP TracesData
// (generated code in apiv3pb), encoded by pdata and cut so that no message
// exceeds 2 MiB, half of gRPC's default receive limit: a trace of any size
// arrives complete (only a single span above the limit travels alone in a
// larger message). api_v3 follows the HTTP /api/v3 routes: the same search
// mapping (package jaegerquery), required start_time_min/max, traces
// adjusted unless raw_traces, NotFound "No traces found" for an empty
// FindTraces. Its structured filter and FindSpans are refused, not
// ignored, and FindTraceSummaries answers a pagination request in one page.
//
// Every call is served for exactly one tenant, from the x-scope-orgid (or
// x-tenant) metadata or the configured default, and never sees another
// tenant's data. Bad requests yield InvalidArgument, an unknown trace
// NotFound, an overloaded store Unavailable; api_v2's ArchiveTrace is
// Unimplemented, as Waymark has no archive storage.
package jaegergrpc
