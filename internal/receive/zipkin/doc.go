// Package zipkin receives Zipkin spans over HTTP: POST /api/v2/spans with
// a JSON array or a proto3 ListOfSpans, and the legacy POST /api/v1/spans
// with JSON or Thrift, each optionally compressed. Spans are mapped to OTLP
// by the OpenTelemetry Collector's Zipkin translator and pushed through a
// receive.Sink; the answer is 202 Accepted once the pipeline took them.
// 64-bit trace IDs are zero-padded in their high bytes, also in proto3
// bodies, whose 8-byte trace IDs Envoy sends by default; the client and
// server halves of a shared span (one span ID, two kinds) both stay; and a
// span marked debug (or any span of a request with X-B3-Flags: 1) gets the
// attribute sampling.priority=1 unless it has one, so that samplers keep it.
package zipkin
