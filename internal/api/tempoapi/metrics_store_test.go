package tempoapi

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/thanos-io/objstore/providers/filesystem"

	"waymark/internal/model"
	"waymark/internal/query"
	"waymark/internal/store"
)

// TestMetricsAgainstStore serves metrics from a real store: spans one per
// second of three services for five minutes, the first two minutes in a
// block. It checks the values Grafana would plot.
func TestMetricsAgainstStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bkt, err := filesystem.NewBucket(dir + "/blocks")
	if err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-time.Hour).Truncate(time.Minute)
	st, err := store.Open(ctx, store.Options{Dir: dir, Bucket: bkt, HeadMaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	services := []string{"auth", "cart", "checkout"}
	for minute := range 5 {
		var spans []model.Span
		for s := range 60 {
			i := minute*60 + s
			svc := services[i%3]
			start := uint64(base.Add(time.Duration(i)*time.Second + time.Millisecond).UnixNano())
			spans = append(spans, model.Span{TraceID: model.TraceID{1, byte(i), byte(i >> 8)}, SpanID: model.SpanID{1, byte(i), byte(i >> 8)},
				Name: "op", Kind: model.KindServer, Resource: &model.Resource{ServiceName: svc},
				StartTimeUnixNano: start, EndTimeUnixNano: start + uint64(time.Duration(1+i%3)*10*time.Millisecond)})
		}
		if err := st.Consume(ctx, model.Batch{Tenant: "acme", Spans: spans}); err != nil {
			t.Fatal(err)
		}
		if minute == 1 {
			if err := st.CutHead(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	srv := httptest.NewServer(NewHandler(query.New(st, query.Options{}), Options{}))
	defer srv.Close()
	startS, endS := base.Unix(), base.Add(5*time.Minute).Unix()
	window := "&start=" + itoa(startS) + "&end=" + itoa(endS)

	type series struct {
		Labels []struct {
			Key   string            `json:"key"`
			Value map[string]string `json:"value"`
		} `json:"labels"`
		Samples []struct {
			TimestampMs string  `json:"timestampMs"`
			Value       float64 `json:"value"`
		} `json:"samples"`
		Value float64 `json:"value"`
	}
	fetch := func(path string) []series {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("X-Scope-OrgID", "acme")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Series []series `json:"series"`
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", path, resp.StatusCode)
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return body.Series
	}

	for _, tc := range []struct {
		name string
		path string
		want map[string]float64 // service → every sample's value
		// samples is the number of samples per series, one per minute
		// from the start (0 for instant queries). The first step ends at
		// the start itself, so counts and rates open with a zero there.
		samples int
	}{
		{"count_per_minute", "/api/metrics/query_range?q=" + url.QueryEscape(`{ } | count_over_time() by (resource.service.name)`) + window + "&step=60",
			map[string]float64{"auth": 20, "cart": 20, "checkout": 20}, 6},
		{"rate_per_second", "/api/metrics/query_range?q=" + url.QueryEscape(`{ kind = server } | rate() by (resource.service.name)`) + window + "&step=1m",
			map[string]float64{"auth": 1.0 / 3, "cart": 1.0 / 3, "checkout": 1.0 / 3}, 6},
		{"max_duration_seconds", "/api/metrics/query_range?q=" + url.QueryEscape(`{ } | max_over_time(duration) by (resource.service.name)`) + window + "&step=60s",
			map[string]float64{"auth": 0.01, "cart": 0.02, "checkout": 0.03}, 5},
		{"instant_count", "/api/metrics/query?q=" + url.QueryEscape(`{ } | count_over_time() by (resource.service.name)`) + window,
			map[string]float64{"auth": 100, "cart": 100, "checkout": 100}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := fetch(tc.path)
			if len(got) != len(tc.want) {
				t.Fatalf("%d series, want %d", len(got), len(tc.want))
			}
			for _, s := range got {
				if len(s.Labels) != 1 || s.Labels[0].Key != "resource.service.name" {
					t.Fatalf("labels %+v", s.Labels)
				}
				want, ok := tc.want[s.Labels[0].Value["stringValue"]]
				if !ok {
					t.Fatalf("unexpected series %+v", s.Labels)
				}
				if tc.samples == 0 {
					if math.Abs(s.Value-want) > 1e-12 {
						t.Errorf("%v: value %v, want %v", s.Labels, s.Value, want)
					}
					continue
				}
				if len(s.Samples) != tc.samples {
					t.Fatalf("%v: %d samples, want %d", s.Labels, len(s.Samples), tc.samples)
				}
				first := 6 - tc.samples
				for i, smp := range s.Samples {
					wantTs := itoa(base.Add(time.Duration(first+i) * time.Minute).UnixMilli())
					want := want
					if first+i == 0 {
						want = 0
					}
					if smp.TimestampMs != wantTs || math.Abs(smp.Value-want) > 1e-12 {
						t.Errorf("%v sample %d = %s %v, want %s %v", s.Labels, i, smp.TimestampMs, smp.Value, wantTs, want)
					}
				}
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
