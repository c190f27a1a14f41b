package main

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Server settings of a -compact run: compaction every 2 s over 1-minute
// windows, and a short head age, so that every window of the data closes
// (window end + max(1m, 2 × head age)) within about two minutes of the
// newest span and all its blocks are merged.
var compactFlags = []string{"--storage.compaction.window=1m", "--storage.compaction.interval=2s", "--storage.head.max_age=10s"}

const (
	compactWindow = time.Minute
	compactGrace  = time.Minute
)

// scrape reads every sample of the Prometheus text exposition at u, keyed
// by series as written (name{labels}).
func scrape(u string) (map[string]float64, error) {
	resp, err := http.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %d", u, resp.StatusCode)
	}
	return parseExposition(string(b)), nil
}

// parseExposition returns the samples of a Prometheus text exposition,
// keyed by series as written (name{labels}); comments and lines without
// a number are skipped.
func parseExposition(text string) map[string]float64 {
	out := map[string]float64{}
	for _, line := range strings.Split(text, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i <= 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// sumSeries adds the samples of every series of the metric name.
func sumSeries(m map[string]float64, name string) (float64, bool) {
	sum, found := 0.0, false
	for series, v := range m {
		if series == name || strings.HasPrefix(series, name+"{") {
			sum, found = sum+v, true
		}
	}
	return sum, found
}

// waitCompacted waits until compaction has merged every block of the
// data whose newest span is at newest: all windows have closed, no
// compaction has run for 15 s, and every merged input has been deleted
// (inputs stay readable for 2 × the query timeout after their merge). It
// returns the open block count then.
func waitCompacted(metricsURL string, newest time.Time) (float64, error) {
	closed := newest.Add(time.Second).Truncate(compactWindow).Add(compactWindow + compactGrace + 5*time.Second)
	deadline := time.Now().Add(15 * time.Minute)
	lastRuns, stableSince := -1.0, time.Now()
	for ; time.Now().Before(deadline); time.Sleep(2 * time.Second) {
		m, err := scrape(metricsURL)
		if err != nil {
			return 0, err
		}
		if failed := m["waymark_compaction_failures_total"]; failed > 0 {
			return 0, fmt.Errorf("%.0f compactions failed (see the server log)", failed)
		}
		runs := m["waymark_compaction_runs_total"]
		if runs != lastRuns {
			lastRuns, stableSince = runs, time.Now()
		}
		merged := m["waymark_compaction_input_blocks_total"]
		deleted := m[`waymark_store_blocks_deleted_total{reason="compacted"}`]
		if time.Now().After(closed) && time.Since(stableSince) >= 15*time.Second && deleted == merged {
			return m["waymark_store_blocks"], nil
		}
	}
	return 0, fmt.Errorf("compaction not finished within 15 minutes")
}
