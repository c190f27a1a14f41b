package receivetest

import (
	"bytes"
	"net/http"
	"testing"

	"waymark/internal/model"
)

// HTTPCase is one request a receiver test sends and what must come of it.
type HTTPCase struct {
	Name string
	// Request is sent to the server; an empty URL means the path given to
	// RunHTTP, any other URL is a path too.
	Request Request
	// ConsumeErr is what the Recorder answers the pipeline's push.
	ConsumeErr error

	WantStatus int
	// WantSpans is the size of the one batch the Recorder must get; 0
	// means it must get none.
	WantSpans int
	// WantTenant is the batch's tenant; empty means model.DefaultTenant.
	WantTenant     string
	WantRetryAfter string
}

// RunHTTP sends each case to the server at base, whose pipeline ends in
// rec, as a subtest, and checks the status, Retry-After, that errors carry
// a message and 202 has no body, and the batch. check, when not nil, does
// the receiver's own checks; batch is the zero Batch when none was wanted.
func RunHTTP(t *testing.T, base, path string, rec *Recorder, cases []HTTPCase,
	check func(t *testing.T, tc HTTPCase, resp *http.Response, body []byte, batch model.Batch)) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			rec.Reset()
			rec.Fail(tc.ConsumeErr)
			req := tc.Request
			if req.URL == "" {
				req.URL = path
			}
			req.URL = base + req.URL
			resp, body := req.Send(t)
			if resp.StatusCode != tc.WantStatus {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, tc.WantStatus)
			}
			if resp.StatusCode >= 400 && len(bytes.TrimSpace(body)) == 0 {
				t.Error("error answer without a message")
			}
			if resp.StatusCode == http.StatusAccepted && len(body) != 0 {
				t.Errorf("202 with body %q", body)
			}
			if got := resp.Header.Get("Retry-After"); got != tc.WantRetryAfter {
				t.Errorf("Retry-After %q, want %q", got, tc.WantRetryAfter)
			}
			batch := rec.ExpectBatch(t, tc.WantSpans)
			if tc.WantSpans > 0 {
				want := tc.WantTenant
				if want == "" {
					want = model.DefaultTenant
				}
				if batch.Tenant != want {
					t.Errorf("tenant %q, want %q", batch.Tenant, want)
				}
			}
			if check != nil {
				check(t, tc, resp, body, batch)
			}
		})
	}
}
