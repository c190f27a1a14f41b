// Package apiv3pb holds the generated Go code of Jaeger's api_v3 query
// service, jaeger.api_v3.QueryService, and of the jaeger.expression.v1
// filter messages it uses: the request and response messages, the gRPC
// client and the server interface. The Jaeger IDL module publishes these
// .proto files but no Go code for them, so Waymark generates it from its
// copy of the files under proto/ (annotations removed, wire format
// unchanged). Traces travel as OTLP TracesData from
// go.opentelemetry.io/proto/otlp, so the messages go through gRPC's
// default codec.
package apiv3pb

//go:generate go run gen.go
