package receive

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"waymark/internal/model"
)

// DefaultRetryAfter is the delay suggested to senders when the pipeline
// fails without saying how long to wait.
const DefaultRetryAfter = time.Second

// InvalidError reports a request that cannot be decoded or is not valid:
// bad encoding, bad IDs, a bad tenant. Senders must not retry it.
type InvalidError struct {
	Err error
}

// Invalid wraps err as an *InvalidError.
func Invalid(err error) error { return &InvalidError{Err: err} }

// Invalidf formats a message as an *InvalidError.
func Invalidf(format string, args ...any) error {
	return &InvalidError{Err: fmt.Errorf(format, args...)}
}

// Error returns the underlying error's message.
func (e *InvalidError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *InvalidError) Unwrap() error { return e.Err }

// TooLargeError reports a request whose body, after decompression, exceeds
// the limit. Senders must not retry it.
type TooLargeError struct {
	Limit int64
}

// Error describes the limit.
func (e *TooLargeError) Error() string {
	return fmt.Sprintf("request body exceeds the limit of %d bytes", e.Limit)
}

// MediaTypeError reports a Content-Type or Content-Encoding the receiver
// does not understand.
type MediaTypeError struct {
	What  string // "content type" or "content encoding"
	Value string
}

// Error names the unsupported value.
func (e *MediaTypeError) Error() string {
	return fmt.Sprintf("unsupported %s %q", e.What, e.Value)
}

// Failure is how a receiver answers an error: the HTTP status, the gRPC
// code, an optional retry delay, and the metric reason.
type Failure struct {
	HTTPStatus int
	Code       codes.Code
	// RetryAfter is positive when the sender should retry after it.
	RetryAfter time.Duration
	// Reason is a short label value for metrics.
	Reason string
}

// Failure reasons used as metric label values.
const (
	ReasonInvalid     = "invalid"
	ReasonTooLarge    = "too_large"
	ReasonMediaType   = "unsupported_media_type"
	ReasonOverloaded  = "overloaded"
	ReasonPipeline    = "pipeline_error"
	ReasonUndecodable = "undecodable"
)

// Classify maps err to the answer every receiver gives (OTLP rules):
// invalid data is 400/InvalidArgument, a body over the limit 413/
// ResourceExhausted without a retry hint, an unknown media type 415, and
// anything else, which can only come from the pipeline, 503/Unavailable with
// a retry delay: a store that fails to persist is retryable, never success.
func Classify(err error) Failure {
	var (
		inv *InvalidError
		big *TooLargeError
		mt  *MediaTypeError
	)
	switch {
	case errors.As(err, &big):
		return Failure{HTTPStatus: http.StatusRequestEntityTooLarge, Code: codes.ResourceExhausted, Reason: ReasonTooLarge}
	case errors.As(err, &inv):
		return Failure{HTTPStatus: http.StatusBadRequest, Code: codes.InvalidArgument, Reason: ReasonInvalid}
	case errors.As(err, &mt):
		return Failure{HTTPStatus: http.StatusUnsupportedMediaType, Code: codes.InvalidArgument, Reason: ReasonMediaType}
	}
	if oe, ok := model.IsOverloaded(err); ok {
		d := oe.RetryAfter
		if d <= 0 {
			d = DefaultRetryAfter
		}
		return Failure{HTTPStatus: http.StatusServiceUnavailable, Code: codes.Unavailable, RetryAfter: d, Reason: ReasonOverloaded}
	}
	return Failure{HTTPStatus: http.StatusServiceUnavailable, Code: codes.Unavailable, RetryAfter: DefaultRetryAfter, Reason: ReasonPipeline}
}

// RetryAfterSeconds renders d as a Retry-After header value: whole
// seconds, rounded up, at least 1.
func RetryAfterSeconds(d time.Duration) string {
	s := int64(math.Ceil(d.Seconds()))
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(s, 10)
}

// SetHeaders sets the headers f calls for (Retry-After) on h.
func (f Failure) SetHeaders(h http.Header) {
	if f.RetryAfter > 0 {
		h.Set("Retry-After", RetryAfterSeconds(f.RetryAfter))
	}
}

// WriteHTTPError answers err as plain text with the status Classify
// gives. Receivers whose protocol defines no error body use it.
func WriteHTTPError(w http.ResponseWriter, err error) {
	f := Classify(err)
	f.SetHeaders(w.Header())
	http.Error(w, err.Error(), f.HTTPStatus)
}

// GRPCError turns err into a gRPC status error with the code Classify
// gives; retryable failures carry a RetryInfo detail.
func GRPCError(err error) error {
	f := Classify(err)
	st := status.New(f.Code, err.Error())
	if f.RetryAfter > 0 {
		if withInfo, derr := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(f.RetryAfter)}); derr == nil {
			st = withInfo
		}
	}
	return st.Err()
}

// MethodNotAllowed answers a request whose method is not POST.
func MethodNotAllowed(w http.ResponseWriter) {
	w.Header().Set("Allow", http.MethodPost)
	http.Error(w, "method not allowed, supported: [POST]", http.StatusMethodNotAllowed)
}
