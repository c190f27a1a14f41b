// Package receive holds what every Waymark receiver shares: request
// options, tenant extraction, bounded body reading with decompression, the
// one error table that maps failures to HTTP and gRPC answers, per-receiver
// metrics, the raw-bytes gRPC service registration, and Sink, the common
// tail that validates decoded spans and hands them to the pipeline's
// model.Consumer. The protocol packages below it (otlp, zipkin, jaeger)
// only decode their wire formats and call Sink, so limits, tenancy, metrics
// and backpressure behave the same for every protocol; a receiver answers
// success only after the consumer returned nil, which means the batch is
// durable. Receivers provide handlers: listeners and servers belong to the
// application. The package imports only model among Waymark's packages.
package receive
