package zipkin

import (
	"maps"
	"net/http"
	"slices"

	"waymark/internal/model"
	"waymark/internal/receive"
)

// Paths of the Zipkin span endpoints.
const (
	V2Path = "/api/v2/spans"
	V1Path = "/api/v1/spans"
)

// handler serves one Zipkin endpoint.
type handler struct {
	sink     *receive.Sink
	decoders map[string]decodeFunc // by media type; "" is a missing Content-Type
	types    []string              // the keys of decoders
}

func newHandler(sink *receive.Sink, decoders map[string]decodeFunc) *handler {
	return &handler{sink: sink, decoders: decoders, types: slices.Collect(maps.Keys(decoders))}
}

// NewHTTPHandler returns the Zipkin HTTP handler. It serves POST
// /api/v2/spans (application/json, or application/x-protobuf with a
// ListOfSpans) and POST /api/v1/spans (application/json, or
// application/x-thrift with a list of zipkincore.Span); a missing Content-
// Type means JSON. Bodies may be compressed (see receive.ReadBody). It
// answers 202 once the pipeline took the spans, 400 for undecodable data,
// 413 for a body over the limit, 415 for other content types, 503 with
// Retry-After when the pipeline refuses, 405 for other methods.
func NewHTTPHandler(next model.Consumer, opts receive.Options) http.Handler {
	sink := receive.NewSink(receive.ReceiverZipkinHTTP, next, opts)
	mux := http.NewServeMux()
	v2JSON := func(b []byte, debug bool) ([]model.Span, error) { return DecodeV2JSON(nil, b, debug) }
	v2Proto := func(b []byte, debug bool) ([]model.Span, error) { return DecodeV2Proto(nil, b, debug) }
	v1JSON := func(b []byte, _ bool) ([]model.Span, error) { return DecodeV1JSON(nil, b) }
	v1Thrift := func(b []byte, _ bool) ([]model.Span, error) { return DecodeV1Thrift(nil, b) }
	mux.Handle(V2Path, newHandler(sink, map[string]decodeFunc{
		"": v2JSON, "application/json": v2JSON,
		"application/x-protobuf": v2Proto, "application/protobuf": v2Proto,
	}))
	mux.Handle(V1Path, newHandler(sink, map[string]decodeFunc{
		"": v1JSON, "application/json": v1JSON,
		"application/x-thrift": v1Thrift, "application/vnd.apache.thrift.binary": v1Thrift,
	}))
	return mux
}

// decodeFunc decodes one body format.
type decodeFunc func(body []byte, debug bool) ([]model.Span, error)

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		receive.MethodNotAllowed(w)
		return
	}
	mt, err := h.sink.MediaType(r, h.types...)
	if err != nil {
		receive.WriteHTTPError(w, err)
		return
	}
	decode := h.decoders[mt]
	tenant, body, err := h.sink.ReadHTTP(r)
	if err != nil {
		receive.WriteHTTPError(w, err)
		return
	}
	var spans []model.Span
	if len(body) > 0 {
		spans, err = decode(body, r.Header.Get("X-B3-Flags") == "1")
	}
	h.sink.Accept(w, r, tenant, spans, err)
}
