package apihttp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"waymark/internal/model"
	"waymark/internal/query"
)

func TestTenant(t *testing.T) {
	tests := []struct {
		name    string
		headers map[string]string
		want    string
		wantErr bool
	}{
		{"default", nil, "dflt", false},
		{"first header", map[string]string{"X-Scope-OrgID": "a", "X-Tenant": "b"}, "a", false},
		{"alias", map[string]string{"X-Tenant": "b"}, "b", false},
		{"invalid", map[string]string{"X-Scope-OrgID": "a/b"}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			got, err := Tenant(r, "dflt", HeaderTenant, "X-Tenant")
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("Tenant = %q, %v; want %q, error %v", got, err, tt.want, tt.wantErr)
			}
			if err != nil && StatusOf(err) != http.StatusBadRequest {
				t.Errorf("invalid tenant status %d", StatusOf(err))
			}
		})
	}
}

func TestStatusOf(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		code       int
		retryAfter string
	}{
		{"bad request", BadRequest(errors.New("x")), 400, ""},
		{"wrapped bad request", fmt.Errorf("parse: %w", BadRequest(errors.New("x"))), 400, ""},
		{"not found", fmt.Errorf("find: %w", query.ErrTraceNotFound), 404, ""},
		{"deadline", fmt.Errorf("read: %w", context.DeadlineExceeded), 504, ""},
		{"overloaded", fmt.Errorf("search: %w", &model.OverloadedError{RetryAfter: 1400 * time.Millisecond}), 503, "1"},
		{"overloaded briefly", &model.OverloadedError{}, 503, "1"},
		{"other", errors.New("disk"), 500, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := StatusOf(tt.err); got != tt.code {
				t.Errorf("StatusOf = %d, want %d", got, tt.code)
			}
			rec := httptest.NewRecorder()
			SetRetryAfter(rec, tt.err)
			if got := rec.Header().Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tt.retryAfter)
			}
		})
	}
}

func TestMetrics(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	if NewMetrics(nil, "x", "X API", log) != nil {
		t.Fatal("metrics without a registerer")
	}
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg, "testapi", "test API", log)
	if m == nil {
		t.Fatal("no metrics")
	}
	if m2 := NewMetrics(reg, "testapi", "test API", log); m2 == nil || m2.requests != m.requests {
		t.Error("a second handler on the registry does not share the metrics")
	}
	clash := prometheus.NewCounter(prometheus.CounterOpts{Name: "waymark_clash_requests_total", Help: "x"})
	reg.MustRegister(clash)
	if NewMetrics(reg, "clash", "clashing API", log) != nil {
		t.Error("metrics built over a clashing collector")
	}
	h := m.Instrument("r", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	for range 2 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, mt := range f.GetMetric() {
			key := f.GetName()
			for _, l := range mt.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			if c := mt.GetCounter(); c != nil {
				got[key] = c.GetValue()
			}
			if hg := mt.GetHistogram(); hg != nil {
				got[f.GetName()] = float64(hg.GetSampleCount())
			}
		}
	}
	want := map[string]float64{"waymark_testapi_requests_total,code=418,route=r": 2, "waymark_testapi_request_duration_seconds": 2}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
	var nilMetrics *Metrics
	if nilMetrics.Instrument("r", h) == nil {
		t.Error("nil metrics dropped the handler")
	}
}

func TestSetWarning(t *testing.T) {
	cases := []struct {
		name, msg, want string
	}{
		{name: "plain", msg: "trace truncated", want: `199 waymark "trace truncated"`},
		{name: "quotes and backslashes", msg: `a "b" \c`, want: `199 waymark "a 'b' 'c"`},
		{name: "control characters", msg: "a\r\nb\x00c\x7f", want: `199 waymark "a''b'c'"`},
		{name: "empty", msg: "", want: `199 waymark ""`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			SetWarning(h, tc.msg)
			SetWarning(h, "second")
			if got := h.Values("Warning"); len(got) != 2 || got[0] != tc.want || got[1] != `199 waymark "second"` {
				t.Errorf("Warning = %q, want [%q, second]", got, tc.want)
			}
		})
	}
}
