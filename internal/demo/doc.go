// Package demo runs a small simulated shop platform whose traces show what
// Waymark is for. Every service is a real HTTP server on a loopback port,
// instrumented with the OpenTelemetry Go SDK and W3C trace-context
// propagation: per datacenter an edge, an ingress gateway, an Envoy-like
// sidecar in front of each app (checkout, inventory, payments) and an
// orders-db database. A Driver sends a steady request rate to the edges.
//
// Faults are switched on by configuration: a share of 5xx answers from one
// sidecar in one datacenter, added latency on one service, and client retries
// that turn failures into a retry storm. Every span carries the datacenter it
// ran in as the resource attribute "datacenter", so an injected fault shows up
// only on the spans of the datacenter it was injected into. Spans are exported
// over OTLP/gRPC to a configurable endpoint (a Waymark receiver or agent);
// export failures are counted and logged, never fatal to the platform.
package demo
