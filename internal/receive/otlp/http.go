package otlp

import (
	"net/http"

	"waymark/internal/model"
	"waymark/internal/receive"
)

// Media types of OTLP/HTTP.
const (
	contentTypeProto = "application/x-protobuf"
	contentTypeJSON  = "application/json"
)

// TracesPath is the OTLP/HTTP traces path.
const TracesPath = "/v1/traces"

// httpHandler serves OTLP/HTTP trace exports.
type httpHandler struct {
	sink *receive.Sink
}

// NewHTTPHandler returns the OTLP/HTTP handler. It serves POST /v1/traces
// with an application/x-protobuf or application/json body, compressed or
// not (see receive.ReadBody), and answers in the request's content type:
// 200 with an ExportTraceServiceResponse, or an error status with a
// google.rpc.Status (400 undecodable, 413 too large, 503 with Retry-After
// when the pipeline refuses). Other methods get 405, other content types
// 415, other paths 404.
func NewHTTPHandler(next model.Consumer, opts receive.Options) http.Handler {
	h := &httpHandler{sink: receive.NewSink(receive.ReceiverOTLPHTTP, next, opts)}
	mux := http.NewServeMux()
	mux.Handle(TracesPath, h)
	return mux
}

func (h *httpHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		receive.MethodNotAllowed(w)
		return
	}
	mt, err := h.sink.MediaType(r, contentTypeProto, contentTypeJSON)
	if err != nil {
		receive.WriteHTTPError(w, err)
		return
	}
	isJSON := mt == contentTypeJSON
	tenant, body, err := h.sink.ReadHTTP(r)
	if err != nil {
		h.writeError(w, isJSON, err)
		return
	}

	var (
		spans []model.Span
		otlp  []byte
	)
	switch {
	case len(body) == 0:
	case isJSON:
		spans, err = DecodeJSON(nil, body)
	default:
		var legacy bool
		if spans, legacy, err = decodeProto(nil, body); !legacy {
			otlp = body
		}
	}
	if err != nil {
		err = receive.Invalid(err)
		h.sink.Failed(err)
		h.writeError(w, isJSON, err)
		return
	}
	res, err := h.sink.Push(r.Context(), tenant, spans, otlp)
	if err != nil {
		h.writeError(w, isJSON, err)
		return
	}
	var out []byte
	if isJSON {
		w.Header().Set("Content-Type", contentTypeJSON)
		out = responseJSONBytes(int64(res.Rejected), res.Message)
	} else {
		w.Header().Set("Content-Type", contentTypeProto)
		out = appendResponseProto(nil, int64(res.Rejected), res.Message)
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

// writeError answers err with a google.rpc.Status in the request's
// encoding.
func (h *httpHandler) writeError(w http.ResponseWriter, isJSON bool, err error) {
	f := receive.Classify(err)
	f.SetHeaders(w.Header())
	var body []byte
	if isJSON {
		w.Header().Set("Content-Type", contentTypeJSON)
		body = statusJSON(f.Code, err.Error())
	} else {
		w.Header().Set("Content-Type", contentTypeProto)
		body = statusProto(f.Code, err.Error())
	}
	w.WriteHeader(f.HTTPStatus)
	_, _ = w.Write(body)
}
