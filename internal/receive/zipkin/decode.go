package zipkin

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/translator/zipkin/zipkinv1"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/translator/zipkin/zipkinv2"
	zipkinmodel "github.com/openzipkin/zipkin-go/model"
	"github.com/openzipkin/zipkin-go/proto/zipkin_proto3"
	"google.golang.org/protobuf/proto"

	"waymark/internal/model"
	"waymark/internal/receive"
)

// DecodeV2JSON appends the spans of a Zipkin v2 JSON array to dst. With
// debug set (the request carried X-B3-Flags: 1) every span counts as a
// debug span.
func DecodeV2JSON(dst []model.Span, b []byte, debug bool) ([]model.Span, error) {
	var zs []*zipkinmodel.SpanModel
	if err := json.Unmarshal(b, &zs); err != nil {
		return dst, fmt.Errorf("decode zipkin json: %w", err)
	}
	return fromZipkin(dst, zs, debug)
}

// DecodeV2Proto appends the spans of a zipkin2.proto3.ListOfSpans to dst.
// Trace IDs may be 8 or 16 bytes long; span IDs must be 8 bytes.
func DecodeV2Proto(dst []model.Span, b []byte, debug bool) ([]model.Span, error) {
	var list zipkin_proto3.ListOfSpans
	if err := proto.Unmarshal(b, &list); err != nil {
		return dst, fmt.Errorf("decode zipkin protobuf: %w", err)
	}
	zs := make([]*zipkinmodel.SpanModel, 0, len(list.GetSpans()))
	for i, s := range list.GetSpans() {
		m, err := modelFromProto(s)
		if err != nil {
			return dst, fmt.Errorf("decode zipkin protobuf: span %d: %w", i, err)
		}
		zs = append(zs, m)
	}
	return fromZipkin(dst, zs, debug)
}

// DecodeV1JSON appends the spans of a Zipkin v1 JSON array to dst.
func DecodeV1JSON(dst []model.Span, b []byte) ([]model.Span, error) {
	td, err := zipkinv1.NewJSONTracesUnmarshaler(false).UnmarshalTraces(b)
	if err != nil {
		return dst, fmt.Errorf("decode zipkin v1 json: %w", err)
	}
	return model.SpansFromTraces(dst, td), nil
}

// DecodeV1Thrift appends the spans of a Thrift list<zipkincore.Span>
// (binary protocol) to dst.
func DecodeV1Thrift(dst []model.Span, b []byte) ([]model.Span, error) {
	td, err := zipkinv1.NewThriftTracesUnmarshaler().UnmarshalTraces(b)
	if err != nil {
		return dst, fmt.Errorf("decode zipkin v1 thrift: %w", err)
	}
	return model.SpansFromTraces(dst, td), nil
}

// fromZipkin maps Zipkin v2 spans to model spans with the collector's
// translator, then marks the debug ones.
func fromZipkin(dst []model.Span, zs []*zipkinmodel.SpanModel, debug bool) ([]model.Span, error) {
	var forced map[receive.SpanRef]bool
	for _, z := range zs {
		if z != nil && (debug || z.Debug) {
			if forced == nil {
				forced = make(map[receive.SpanRef]bool)
			}
			forced[receive.NewSpanRef(z.TraceID.High, z.TraceID.Low, uint64(z.ID))] = true
		}
	}
	td, err := zipkinv2.ToTranslator{}.ToTraces(zs)
	if err != nil {
		return dst, fmt.Errorf("translate zipkin spans: %w", err)
	}
	return receive.AppendTraces(dst, td, forced), nil
}

var errNoSpanID = errors.New("span id is empty")

// modelFromProto converts a proto3 span as zipkin-go does, except that an
// 8-byte trace ID is accepted and zero-padded to 16 bytes, as in JSON.
func modelFromProto(s *zipkin_proto3.Span) (*zipkinmodel.SpanModel, error) {
	if s == nil {
		return nil, errors.New("span is null")
	}
	var tid zipkinmodel.TraceID
	switch len(s.TraceId) {
	case 8:
		tid.Low = binary.BigEndian.Uint64(s.TraceId)
	case 16:
		tid.High = binary.BigEndian.Uint64(s.TraceId[:8])
		tid.Low = binary.BigEndian.Uint64(s.TraceId[8:])
	default:
		return nil, fmt.Errorf("trace id has %d bytes, want 8 or 16", len(s.TraceId))
	}
	id, err := protoSpanID(s.Id)
	if err != nil {
		return nil, fmt.Errorf("span id: %w", err)
	}
	if id == nil {
		return nil, errNoSpanID
	}
	parent, err := protoSpanID(s.ParentId)
	if err != nil {
		return nil, fmt.Errorf("parent id: %w", err)
	}
	m := &zipkinmodel.SpanModel{
		SpanContext:    zipkinmodel.SpanContext{TraceID: tid, ID: *id, ParentID: parent, Debug: s.Debug},
		Name:           s.Name,
		Kind:           zipkinmodel.Kind(s.Kind.String()),
		Timestamp:      microsToTime(s.Timestamp),
		Duration:       time.Duration(s.Duration * 1e3),
		Shared:         s.Shared,
		LocalEndpoint:  endpointFromProto(s.LocalEndpoint),
		RemoteEndpoint: endpointFromProto(s.RemoteEndpoint),
		Tags:           s.Tags,
	}
	for _, a := range s.Annotations {
		if a != nil {
			m.Annotations = append(m.Annotations, zipkinmodel.Annotation{Timestamp: microsToTime(a.Timestamp), Value: a.Value})
		}
	}
	return m, nil
}

// protoSpanID converts an 8-byte span ID; empty means none.
func protoSpanID(b []byte) (*zipkinmodel.ID, error) {
	switch len(b) {
	case 0:
		return nil, nil
	case 8:
		id := zipkinmodel.ID(binary.BigEndian.Uint64(b))
		return &id, nil
	}
	return nil, fmt.Errorf("has %d bytes, want 8", len(b))
}

func endpointFromProto(e *zipkin_proto3.Endpoint) *zipkinmodel.Endpoint {
	if e == nil {
		return nil
	}
	return &zipkinmodel.Endpoint{ServiceName: e.ServiceName, IPv4: net.IP(e.Ipv4), IPv6: net.IP(e.Ipv6), Port: uint16(e.Port)}
}

func microsToTime(us uint64) time.Time { return time.Unix(0, int64(us*1e3)).UTC() }
