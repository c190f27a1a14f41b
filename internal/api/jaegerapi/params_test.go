package jaegerapi

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"waymark/internal/model"
)

func TestParseEpochDetectsUnit(t *testing.T) {
	const want = uint64(1_700_000_000_000_000_000)
	tests := []struct {
		name     string
		value    string
		nanos    uint64
		unit     timeUnit
		mismatch bool
		wantErr  bool
	}{
		{name: "µs as expected", value: "1700000000000000", nanos: want, unit: unitMicros},
		{name: "seconds", value: "1700000000", nanos: want, unit: unitSeconds, mismatch: true},
		{name: "milliseconds", value: "1700000000000", nanos: want, unit: unitMillis, mismatch: true},
		{name: "nanoseconds", value: "1700000000000000000", nanos: want, unit: unitNanos, mismatch: true},
		{name: "zero", value: "0", nanos: 0, unit: unitSeconds, mismatch: true},
		{name: "leading zeros count by value", value: "0001700000000000000", nanos: want, unit: unitMicros},
		{name: "largest ns", value: "18446744073709551615", nanos: 18446744073709551615, unit: unitNanos, mismatch: true},
		{name: "µs that overflow ns", value: "99999999999999999", wantErr: true},
		{name: "seconds that overflow ns", value: "99999999999", wantErr: true},
		{name: "negative", value: "-1", wantErr: true},
		{name: "sign", value: "+1700000000", wantErr: true},
		{name: "decimal", value: "1700000000.5", wantErr: true},
		{name: "too many digits", value: "184467440737095516150", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mm []unitMismatch
			e, err := parseEpoch(url.Values{"start": {tc.value}}, "start", unitMicros, &mm)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				if !strings.Contains(err.Error(), "start") {
					t.Errorf("error %q does not name the parameter", err)
				}
				return
			}
			if e.nanos != tc.nanos || !e.set {
				t.Errorf("got %d ns (set %v), want %d", e.nanos, e.set, tc.nanos)
			}
			if tc.mismatch != (len(mm) == 1) || (tc.mismatch && mm[0].got != tc.unit) {
				t.Errorf("mismatches %+v, want unit %s noted: %v", mm, tc.unit, tc.mismatch)
			}
		})
	}
}

func TestParseRFC3339(t *testing.T) {
	tests := []struct {
		name    string
		value   string
		nanos   uint64
		wantErr bool
	}{
		{name: "UTC", value: "2023-11-14T22:13:20Z", nanos: t0},
		{name: "nanoseconds", value: "2023-11-14T22:13:20.000000001Z", nanos: t0 + 1},
		{name: "offset", value: "2023-11-15T00:13:20+02:00", nanos: t0},
		{name: "offset sign lost to URL decoding", value: "2023-11-15T00:13:20 02:00", nanos: t0},
		{name: "negative offset", value: "2023-11-14T20:13:20-02:00", nanos: t0},
		{name: "space elsewhere", value: "2023-11-14 22:13:20Z", wantErr: true},
		{name: "date only", value: "2023-11-14", wantErr: true},
		{name: "before 1970", value: "1969-12-31T23:59:59Z", wantErr: true},
		{name: "after 2262", value: "2300-01-01T00:00:00Z", wantErr: true},
		{name: "short", value: " 02:00", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseRFC3339("startTime", tc.value)
			if (err != nil) != tc.wantErr || (!tc.wantErr && got != tc.nanos) {
				t.Errorf("got %d, %v; want %d, error %v", got, err, tc.nanos, tc.wantErr)
			}
		})
	}
}

func TestParseSearchParamsTagsMerge(t *testing.T) {
	q, err := url.ParseQuery("tag=a:1&tag=url:http://x:80/y&tags=" + url.QueryEscape(`{"a":"2","b":true}`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := parseSearchParams(q, testNow)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range p.req.Conditions {
		got[c.Key] = c.Value.Str
	}
	// JSON tags override tag=, as in Jaeger; a value keeps its colons.
	if len(got) != 3 || got["a"] != "2" || got["b"] != "true" || got["url"] != "http://x:80/y" {
		t.Errorf("conditions %v", got)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	q := newMemQuerier()
	q.add(model.DefaultTenant, fixtureTrace()...)
	h := NewHandler(q, Options{Registerer: reg})
	// A second handler on the same registry shares the collectors.
	h2 := NewHandler(q, Options{Registerer: reg})
	serve(h, http.MethodGet, "/api/services", nil)
	serve(h2, http.MethodGet, "/api/services", nil)
	serve(h, http.MethodGet, "/api/traces/ffff", nil)
	serve(h, http.MethodGet, "/api/bogus", nil)
	got := map[string]float64{}
	durations := 0
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			switch f.GetName() {
			case "waymark_jaegerapi_requests_total":
				got[labels["route"]+" "+labels["code"]] = m.GetCounter().GetValue()
			case "waymark_jaegerapi_request_duration_seconds":
				durations += int(m.GetHistogram().GetSampleCount())
			}
		}
	}
	want := map[string]float64{"services 200": 2, "trace 404": 1, "unmatched 404": 1}
	if len(got) != len(want) {
		t.Errorf("request counters %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("requests{%s} = %v, want %v", k, got[k], v)
		}
	}
	if durations != 4 {
		t.Errorf("%d timed requests, want 4", durations)
	}
}

func TestSearchDefaultsAtEpochStart(t *testing.T) {
	// A clock before now−2 days would underflow; the window starts at 0.
	p, err := parseSearchParams(url.Values{}, time.Unix(60, 0))
	if err != nil {
		t.Fatal(err)
	}
	if p.req.StartUnixNano != 0 || p.req.EndUnixNano != 60e9 {
		t.Errorf("window %d..%d", p.req.StartUnixNano, p.req.EndUnixNano)
	}
}
