// Package receive holds what every Waymark receiver shares: request options,
// tenant extraction, bounded body reading with decompression, the one error
// table that maps failures to HTTP and gRPC answers, per-receiver metrics,
// and Sink, the common tail that validates decoded spans and hands them to
// the pipeline's model.Consumer.
//
// The protocol packages below it (otlp, zipkin, jaeger) only decode their
// wire formats into []model.Span and call Sink.Push, so limits, tenancy,
// metrics and backpressure behave the same for every protocol. A receiver
// answers success only after the consumer returned nil, which means the
// batch is durable. Receivers provide handlers; listeners and servers belong
// to the application.
package receive
