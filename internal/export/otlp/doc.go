// Package otlp sends the agent's queued spans to any OTLP backend (Waymark's
// server, Tempo, Jaeger, an OpenTelemetry Collector) over OTLP/gRPC or
// OTLP/HTTP.
//
// Enqueuer is the last pipeline stage: it encodes each batch as a queue
// item (tenant, span count and the ExportTraceServiceRequest protobuf) and
// returns only after the durable queue has it. Exporter reads items from
// the queue and sends them with retries. It retries only what OTLP says is
// retryable (HTTP 429, 502, 503, 504; gRPC CANCELLED, DEADLINE_EXCEEDED,
// ABORTED, OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS, and RESOURCE_EXHAUSTED with
// RetryInfo) and connection failures, with exponential backoff and jitter,
// honouring Retry-After and RetryInfo. It acks an item only after the
// backend accepted it or refused it for good (400, 413, partial success and
// other non-retryable answers are dropped, counted and logged), so an item
// in flight when the agent stops is sent again after restart.
package otlp
