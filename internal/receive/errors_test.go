package receive

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"waymark/internal/model"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		name       string
		err        error
		wantHTTP   int
		wantCode   codes.Code
		wantRetry  time.Duration
		wantReason string
	}{
		{"invalid", Invalidf("bad span"), 400, codes.InvalidArgument, 0, ReasonInvalid},
		{"wrapped invalid", fmt.Errorf("decode: %w", Invalid(errors.New("x"))), 400, codes.InvalidArgument, 0, ReasonInvalid},
		{"too large", &TooLargeError{Limit: 10}, 413, codes.ResourceExhausted, 0, ReasonTooLarge},
		{"media type", &MediaTypeError{What: "content type", Value: "text/plain"}, 415, codes.InvalidArgument, 0, ReasonMediaType},
		{"overloaded", &model.OverloadedError{Reason: "full", RetryAfter: 4 * time.Second}, 503, codes.Unavailable, 4 * time.Second, ReasonOverloaded},
		{"overloaded wrapped without delay", fmt.Errorf("wal: %w", &model.OverloadedError{Reason: "full"}), 503, codes.Unavailable, DefaultRetryAfter, ReasonOverloaded},
		{"pipeline failure", errors.New("disk full"), 503, codes.Unavailable, DefaultRetryAfter, ReasonPipeline},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := Classify(tc.err)
			if f.HTTPStatus != tc.wantHTTP || f.Code != tc.wantCode || f.RetryAfter != tc.wantRetry || f.Reason != tc.wantReason {
				t.Fatalf("got %+v, want %d %v %v %s", f, tc.wantHTTP, tc.wantCode, tc.wantRetry, tc.wantReason)
			}
			st := status.Convert(GRPCError(tc.err))
			if st.Code() != tc.wantCode || st.Message() != tc.err.Error() {
				t.Errorf("gRPC status %v %q", st.Code(), st.Message())
			}
			var retry time.Duration
			for _, d := range st.Details() {
				if ri, ok := d.(*errdetails.RetryInfo); ok {
					retry = ri.GetRetryDelay().AsDuration()
				}
			}
			if retry != tc.wantRetry {
				t.Errorf("RetryInfo %v, want %v", retry, tc.wantRetry)
			}
			w := httptest.NewRecorder()
			WriteHTTPError(w, tc.err)
			if w.Code != tc.wantHTTP {
				t.Errorf("HTTP status %d", w.Code)
			}
			if got := w.Header().Get("Retry-After") != ""; got != (tc.wantRetry > 0) {
				t.Errorf("Retry-After %q", w.Header().Get("Retry-After"))
			}
		})
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	cases := []struct {
		d    time.Duration
		want string
	}{{0, "1"}, {time.Millisecond, "1"}, {time.Second, "1"}, {1500 * time.Millisecond, "2"}, {time.Minute, "60"}}
	for _, tc := range cases {
		if got := RetryAfterSeconds(tc.d); got != tc.want {
			t.Errorf("RetryAfterSeconds(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestMethodNotAllowed(t *testing.T) {
	w := httptest.NewRecorder()
	MethodNotAllowed(w)
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "POST" {
		t.Fatalf("got %d, Allow %q", w.Code, w.Header().Get("Allow"))
	}
}
