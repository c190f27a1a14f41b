// Package jaeger receives spans from Jaeger clients and agents: Thrift
// binary batches over HTTP (POST /api/traces), the api_v2 gRPC
// CollectorService/PostSpans, and Agent.emitBatch messages over UDP in the
// compact (port 6831) and binary (6832) Thrift protocols. The OTLP mapping
// is the OpenTelemetry Collector's Jaeger translator; spans with the debug
// flag also get sampling.priority=1 so that samplers keep them. Every
// decoded batch goes through a receive.Sink: HTTP answers 202 and gRPC OK
// only once the pipeline took the spans, while UDP, which has no answer and
// no backpressure, drops and counts a datagram that is too large,
// undecodable, finds the queue full or is refused by the pipeline.
package jaeger
