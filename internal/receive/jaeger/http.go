package jaeger

import (
	"net/http"

	"waymark/internal/model"
	"waymark/internal/receive"
)

// TracesPath is the path of the Jaeger collector's Thrift HTTP endpoint.
const TracesPath = "/api/traces"

// thriftHandler serves POST /api/traces.
type thriftHandler struct {
	sink *receive.Sink
}

// NewThriftHTTPHandler returns the handler of POST /api/traces: a
// Thrift-binary jaeger.Batch with Content-Type application/x-thrift or
// application/vnd.apache.thrift.binary, optionally compressed (see
// receive.ReadBody). It answers 202 with an empty body once the pipeline
// took the spans, 400 for an undecodable batch, 413 for a body over the
// limit, 415 for another content type, 503 with Retry-After when the
// pipeline refuses, and 405 for other methods.
func NewThriftHTTPHandler(next model.Consumer, opts receive.Options) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(TracesPath, &thriftHandler{sink: receive.NewSink(receive.ReceiverJaegerThriftHTTP, next, opts)})
	return mux
}

func (h *thriftHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		receive.MethodNotAllowed(w)
		return
	}
	if _, err := h.sink.MediaType(r, "application/x-thrift", "application/vnd.apache.thrift.binary"); err != nil {
		receive.WriteHTTPError(w, err)
		return
	}
	tenant, body, err := h.sink.ReadHTTP(r)
	if err != nil {
		receive.WriteHTTPError(w, err)
		return
	}
	spans, err := DecodeThriftBatch(nil, body)
	h.sink.Accept(w, r, tenant, spans, err)
}
