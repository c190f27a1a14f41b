package uiapi

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"waymark/internal/store/filter"
)

func TestParseSearch(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	nowNs := uint64(now.UnixNano())
	defaults := searchDefaults{lookback: time.Hour, limit: 20, maxLimit: 100}
	tests := []struct {
		name      string
		query     string
		wantErr   bool
		wantConds []string // key=value per condition, in order
		wantStart uint64
		wantEnd   uint64
		wantMin   uint64
		wantMax   uint64
		wantLimit int
	}{
		{name: "defaults", query: "", wantStart: nowNs - uint64(time.Hour), wantEnd: nowNs, wantLimit: 20},
		{name: "service and operation", query: "service=cart&operation=GET+%2Fcart", wantConds: []string{"service.name=cart", "name=GET /cart"}, wantStart: nowNs - uint64(time.Hour), wantEnd: nowNs, wantLimit: 20},
		{name: "tags json, sorted keys, typed values", query: `tags={"z":"1","big":12345678901234567890,"http.status_code":500}`, wantConds: []string{"big=12345678901234567890", "http.status_code=500", "z=1"}, wantStart: nowNs - uint64(time.Hour), wantEnd: nowNs, wantLimit: 20},
		{name: "derived tags match span fields", query: `tags={"error":true,"span.kind":"SERVER","otel.status_code":"OK","otel.status_description":"boom"}&tag=error:false`, wantConds: []string{"status=error", "status=ok", "statusMessage=boom", "kind=server", "status!=error"}, wantStart: nowNs - uint64(time.Hour), wantEnd: nowNs, wantLimit: 20},
		{name: "error tag that is not a bool is an attribute", query: `tag=error:timeout`, wantConds: []string{"error=timeout"}, wantStart: nowNs - uint64(time.Hour), wantEnd: nowNs, wantLimit: 20},
		{name: "two json objects", query: `tags={"a":"b"}{"c":"d"}`, wantErr: true},
		{name: "repeated tag", query: "tag=a:b&tag=c:d:e", wantConds: []string{"a=b", "c=d:e"}, wantStart: nowNs - uint64(time.Hour), wantEnd: nowNs, wantLimit: 20},
		{name: "start and end in microseconds", query: "start=1699999000000000&end=1699999500000000", wantStart: 1699999000000000000, wantEnd: 1699999500000000000, wantLimit: 20},
		{name: "milliseconds detected by digits", query: "start=1699999000000&end=1699999500000", wantStart: 1699999000000000000, wantEnd: 1699999500000000000, wantLimit: 20},
		{name: "durations", query: "minDuration=1.5ms&maxDuration=2s", wantMin: 1500000, wantMax: 2e9, wantStart: nowNs - uint64(time.Hour), wantEnd: nowNs, wantLimit: 20},
		{name: "limit capped", query: "limit=5000", wantStart: nowNs - uint64(time.Hour), wantEnd: nowNs, wantLimit: 100},
		{name: "limit zero means the cap", query: "limit=0", wantStart: nowNs - uint64(time.Hour), wantEnd: nowNs, wantLimit: 100},
		{name: "bad tags json", query: "tags={bad", wantErr: true},
		{name: "nested tag value", query: `tags={"a":{"b":1}}`, wantErr: true},
		{name: "empty tag key", query: `tags={"":"x"}`, wantErr: true},
		{name: "tag without colon", query: "tag=ab", wantErr: true},
		{name: "bad start", query: "start=yesterday", wantErr: true},
		{name: "start after end", query: "start=1699999500000000&end=1699999000000000", wantErr: true},
		{name: "bad duration", query: "minDuration=5", wantErr: true},
		{name: "negative duration", query: "minDuration=-5ms", wantErr: true},
		{name: "min above max", query: "minDuration=2s&maxDuration=1s", wantErr: true},
		{name: "negative limit", query: "limit=-1", wantErr: true},
		{name: "overflowing time", query: "start=99999999999999999", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			req, err := parseSearch(v, now, defaults)
			if tt.wantErr {
				if !errors.Is(err, errBadParam) {
					t.Fatalf("err = %v, want a bad parameter error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := condStrings(req.Conditions); !equalStrings(got, tt.wantConds) {
				t.Errorf("conditions = %v, want %v", got, tt.wantConds)
			}
			if req.StartUnixNano != tt.wantStart || req.EndUnixNano != tt.wantEnd {
				t.Errorf("range = %d..%d, want %d..%d", req.StartUnixNano, req.EndUnixNano, tt.wantStart, tt.wantEnd)
			}
			if req.MinDurationNano != tt.wantMin || req.MaxDurationNano != tt.wantMax {
				t.Errorf("durations = %d..%d, want %d..%d", req.MinDurationNano, req.MaxDurationNano, tt.wantMin, tt.wantMax)
			}
			if req.Limit != tt.wantLimit {
				t.Errorf("limit = %d, want %d", req.Limit, tt.wantLimit)
			}
		})
	}
}

func condStrings(cs []filter.Condition) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		op := "="
		if c.Op == filter.OpNotEq {
			op = "!="
		}
		out[i] = c.Key + op + c.Value.AsString()
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
