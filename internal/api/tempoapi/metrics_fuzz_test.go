package tempoapi

import (
	"net/url"
	"testing"
	"time"
)

// FuzzParseMetricsParams feeds arbitrary start, end, since and step
// values to the metrics parameter decoder: it must never panic, and what
// it accepts must be a non-empty range that starts after the epoch.
func FuzzParseMetricsParams(f *testing.F) {
	for _, seed := range [][4]string{
		{"1700000000", "1700003600", "", "30s"},
		{"1700000000123456789", "1700003600000000000", "", "15"},
		{"1700000000.5", "1700003600.25", "", "0.5"},
		{"2023-11-14T22:13:20Z", "2023-11-14T23:13:20.5+00:00", "", "1m"},
		{"1700000000000", "1700003600000", "", ""},
		{"", "", "15m", ""},
		{"", "1700000600", "10m", "1h"},
		{"-5", "9999999999.9999999999", "-1h", "0"},
		{"2262-04-11T23:47:16Z", "18446744073709551615", "1e3h", "1e308"},
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3])
	}
	now := time.Unix(1_700_003_600, 0)
	f.Fuzz(func(t *testing.T, start, end, since, step string) {
		v := url.Values{"q": {"{ } | rate()"}}
		for k, s := range map[string]string{"start": start, "end": end, "since": since, "step": step} {
			if s != "" {
				v.Set(k, s)
			}
		}
		p, err := parseMetricsParams(v, now, false)
		if err != nil {
			return
		}
		if p.start == 0 || p.end <= p.start {
			t.Fatalf("accepted start %d end %d from %q", p.start, p.end, v.Encode())
		}
	})
}
