package jaegerapi

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// structuredError is one entry of the internal API's errors[]. Code is
// omitted when zero, as for a trace ID that was not found in a search.
type structuredError struct {
	Code    int    `json:"code,omitempty"`
	Msg     string `json:"msg"`
	TraceID string `json:"traceID,omitempty"`
}

// appendEnvelope appends the internal API's response envelope around data,
// which must be valid JSON: {"data":…,"total":…,"limit":0,"offset":0,
// "errors":…}. Empty errs is written as null.
func appendEnvelope(dst, data []byte, total int, errs []structuredError) []byte {
	dst = append(dst, `{"data":`...)
	dst = append(dst, data...)
	return appendEnvelopeTail(dst, total, errs)
}

// appendEnvelopeTail appends what follows the envelope's data.
func appendEnvelopeTail(dst []byte, total int, errs []structuredError) []byte {
	dst = append(dst, `,"total":`...)
	dst = strconv.AppendInt(dst, int64(total), 10)
	dst = append(dst, `,"limit":0,"offset":0,"errors":`...)
	if len(errs) == 0 {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, marshal(errs)...)
	}
	return append(dst, '}')
}

// v3ErrorBody is api_v3's error response.
type v3ErrorBody struct {
	Error v3ErrorDetail `json:"error"`
}

// v3ErrorDetail holds an api_v3 error's status and message.
type v3ErrorDetail struct {
	HTTPCode int    `json:"httpCode"`
	Message  string `json:"message"`
}

// marshal encodes v, whose types are all plain structs, slices and strings
// of this package, so encoding cannot fail.
func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte("null")
	}
	return b
}

func writeJSON(w http.ResponseWriter, code int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// writeEnvelope writes a 200 internal API response, indented when the
// request asks for prettyPrint.
func writeEnvelope(w http.ResponseWriter, r *http.Request, data []byte, total int, errs []structuredError) {
	body := appendEnvelope(make([]byte, 0, len(data)+96), data, total, errs)
	if prettyPrint(r.URL.Query()) {
		body = indentJSON(body)
	}
	writeJSON(w, http.StatusOK, body)
}
