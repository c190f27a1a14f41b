package uiapi

import (
	"errors"
	"net/url"
	"testing"
	"time"
)

// FuzzParseSearch checks that any query string either parses into a
// consistent request or is refused as a bad parameter, never a panic.
func FuzzParseSearch(f *testing.F) {
	for _, seed := range []string{
		"",
		"service=cart&operation=GET+%2Fcart&limit=20",
		`tags={"error":"true","http.status_code":"500"}&minDuration=100ms&maxDuration=1.5s`,
		"tag=datacenter:dc-2&start=1700000000000000&end=1700003600000000",
		"start=1700000000&end=1700003600",
		"start=1700000000000000000&end=1700003600000000000",
		`tags={"a":{"b":1}}`,
		"minDuration=-1s&limit=-3",
	} {
		f.Add(seed)
	}
	now := time.Unix(1_700_000_000, 0)
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		req, err := parseSearch(v, now, searchDefaults{lookback: time.Hour, limit: 20, maxLimit: 100})
		if err != nil {
			if !errors.Is(err, errBadParam) {
				t.Fatalf("error %v is not a bad parameter error", err)
			}
			return
		}
		if req.StartUnixNano > req.EndUnixNano {
			t.Fatalf("start %d after end %d", req.StartUnixNano, req.EndUnixNano)
		}
		if req.Limit < 1 || req.Limit > 100 {
			t.Fatalf("limit %d outside 1..100", req.Limit)
		}
		if req.MaxDurationNano != 0 && req.MinDurationNano > req.MaxDurationNano {
			t.Fatalf("min duration %d above max %d", req.MinDurationNano, req.MaxDurationNano)
		}
		if err := req.Compile(); err != nil {
			t.Fatalf("parsed request does not compile: %v", err)
		}
	})
}
