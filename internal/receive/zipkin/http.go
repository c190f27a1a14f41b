package zipkin

import (
	"mime"
	"net/http"

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
	sink *receive.Sink
	v1   bool
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
	mux.Handle(V2Path, &handler{sink: sink})
	mux.Handle(V1Path, &handler{sink: sink, v1: true})
	return mux
}

// decodeFunc decodes one body format.
type decodeFunc func(body []byte, debug bool) ([]model.Span, error)

// decoder picks the decoder for a Content-Type, or nil.
func (h *handler) decoder(contentType string) decodeFunc {
	mt := ""
	if contentType != "" {
		var err error
		if mt, _, err = mime.ParseMediaType(contentType); err != nil {
			return nil
		}
	}
	switch {
	case mt == "" || mt == "application/json":
		if h.v1 {
			return func(b []byte, _ bool) ([]model.Span, error) { return DecodeV1JSON(nil, b) }
		}
		return func(b []byte, debug bool) ([]model.Span, error) { return DecodeV2JSON(nil, b, debug) }
	case !h.v1 && (mt == "application/x-protobuf" || mt == "application/protobuf"):
		return func(b []byte, debug bool) ([]model.Span, error) { return DecodeV2Proto(nil, b, debug) }
	case h.v1 && (mt == "application/x-thrift" || mt == "application/vnd.apache.thrift.binary"):
		return func(b []byte, _ bool) ([]model.Span, error) { return DecodeV1Thrift(nil, b) }
	}
	return nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		receive.MethodNotAllowed(w)
		return
	}
	decode := h.decoder(r.Header.Get("Content-Type"))
	if decode == nil {
		h.fail(w, &receive.MediaTypeError{What: "content type", Value: r.Header.Get("Content-Type")})
		return
	}
	tenant, body, err := h.sink.ReadHTTP(r)
	if err != nil {
		receive.WriteHTTPError(w, err)
		return
	}
	var spans []model.Span
	if len(body) > 0 {
		if spans, err = decode(body, r.Header.Get("X-B3-Flags") == "1"); err != nil {
			h.fail(w, receive.Invalid(err))
			return
		}
	}
	if _, err := h.sink.Push(r.Context(), tenant, spans, nil); err != nil {
		receive.WriteHTTPError(w, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// fail counts a request refused before decoding and answers it.
func (h *handler) fail(w http.ResponseWriter, err error) {
	h.sink.Failed(err)
	receive.WriteHTTPError(w, err)
}
