// Package otlp receives OTLP traces over gRPC (TraceService/Export) and
// HTTP (POST /v1/traces, protobuf or JSON, optionally compressed), decodes
// them into []model.Span and pushes them through a receive.Sink. Protobuf
// requests are decoded once, by DecodeProto, straight from the bytes
// received, and those bytes travel on as model.Batch.OTLP so that a durable
// stage can log them without encoding them again. A request is answered
// with success only after the consumer returned nil; spans with all-zero
// IDs are reported in partial_success, and pipeline failures are answered
// as retryable (503 with Retry-After, or UNAVAILABLE with RetryInfo), as
// the OTLP specification prescribes.
package otlp
