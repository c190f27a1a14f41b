package jaeger

import (
	"bytes"
	"context"
	"fmt"

	"github.com/apache/thrift/lib/go/thrift"
	jaegermodel "github.com/jaegertracing/jaeger-idl/model/v1"
	"github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
	"github.com/jaegertracing/jaeger-idl/thrift-gen/agent"
	"github.com/jaegertracing/jaeger-idl/thrift-gen/jaeger"
	jaegertranslator "github.com/open-telemetry/opentelemetry-collector-contrib/pkg/translator/jaeger"

	"waymark/internal/model"
	"waymark/internal/receive"
)

// debugFlag is the Jaeger span flag that forces sampling.
const debugFlag = 2

// DecodeThriftBatch appends the spans of a Thrift-binary jaeger.Batch (the
// body of POST /api/traces) to dst.
func DecodeThriftBatch(dst []model.Span, b []byte) ([]model.Span, error) {
	batch := jaeger.NewBatch()
	p := thrift.NewTBinaryProtocolConf(memoryTransport(b), &thrift.TConfiguration{})
	if err := batch.Read(context.Background(), p); err != nil {
		return dst, fmt.Errorf("decode jaeger thrift batch: %w", err)
	}
	return fromThrift(dst, batch)
}

// emitBatch is the name of the one message a Jaeger agent accepts.
const emitBatch = "emitBatch"

// DecodeAgentMessage appends the spans of one Agent.emitBatch message, as a
// Jaeger client sends it in a UDP datagram, to dst. compact selects the
// Thrift compact protocol (port 6831); otherwise it is binary (6832).
func DecodeAgentMessage(dst []model.Span, b []byte, compact bool) ([]model.Span, error) {
	ctx := context.Background()
	var p thrift.TProtocol
	if compact {
		p = thrift.NewTCompactProtocolConf(memoryTransport(b), &thrift.TConfiguration{})
	} else {
		p = thrift.NewTBinaryProtocolConf(memoryTransport(b), &thrift.TConfiguration{})
	}
	name, typ, _, err := p.ReadMessageBegin(ctx)
	if err != nil {
		return dst, fmt.Errorf("decode agent message: %w", err)
	}
	if name != emitBatch || (typ != thrift.ONEWAY && typ != thrift.CALL) {
		return dst, fmt.Errorf("decode agent message: got %q of type %d, want %s", name, typ, emitBatch)
	}
	args := agent.NewAgentEmitBatchArgs()
	if err := args.Read(ctx, p); err != nil {
		return dst, fmt.Errorf("decode agent message: %w", err)
	}
	if err := p.ReadMessageEnd(ctx); err != nil {
		return dst, fmt.Errorf("decode agent message: %w", err)
	}
	if args.Batch == nil {
		return dst, nil
	}
	return fromThrift(dst, args.Batch)
}

// DecodeProtoRequest appends the spans of an api_v2 PostSpansRequest, in
// its protobuf encoding, to dst.
func DecodeProtoRequest(dst []model.Span, b []byte) ([]model.Span, error) {
	var req api_v2.PostSpansRequest
	if err := req.Unmarshal(b); err != nil {
		return dst, fmt.Errorf("decode jaeger protobuf: %w", err)
	}
	forced := make(map[receive.SpanRef]bool)
	for _, s := range req.Batch.Spans {
		if s != nil && s.Flags.IsDebug() {
			forced[receive.NewSpanRef(s.TraceID.High, s.TraceID.Low, uint64(s.SpanID))] = true
		}
	}
	td, err := jaegertranslator.ProtoToTraces([]*jaegermodel.Batch{&req.Batch})
	if err != nil {
		return dst, fmt.Errorf("translate jaeger spans: %w", err)
	}
	return receive.AppendTraces(dst, td, forced), nil
}

// fromThrift maps a Thrift batch with the collector's translator and marks
// its debug spans.
func fromThrift(dst []model.Span, batch *jaeger.Batch) ([]model.Span, error) {
	forced := make(map[receive.SpanRef]bool)
	for _, s := range batch.GetSpans() {
		if s != nil && s.Flags&debugFlag != 0 {
			forced[receive.NewSpanRef(uint64(s.TraceIdHigh), uint64(s.TraceIdLow), uint64(s.SpanId))] = true
		}
	}
	td, err := jaegertranslator.ThriftToTraces(batch)
	if err != nil {
		return dst, fmt.Errorf("translate jaeger spans: %w", err)
	}
	return receive.AppendTraces(dst, td, forced), nil
}

// memoryTransport reads b without copying it.
func memoryTransport(b []byte) *thrift.TMemoryBuffer {
	return &thrift.TMemoryBuffer{Buffer: bytes.NewBuffer(b)}
}
