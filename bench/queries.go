package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"waymark/internal/loadgen"
)

// Repetitions of each timed query; the table shows their median.
const (
	searchReps  = 5
	metricsReps = 3
)

// timeRange is the span time range a query covers.
type timeRange struct{ start, end time.Time }

// httpClient waits longer than any server query timeout a run sets.
var httpClient = &http.Client{Timeout: 5 * time.Minute}

// getJSON fetches u, which must answer 200, decodes the body into v and
// returns the request's latency.
func getJSON(u string, v any) (time.Duration, error) {
	t0 := time.Now()
	resp, err := httpClient.Get(u)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	lat := time.Since(t0)
	if err != nil {
		return lat, err
	}
	if resp.StatusCode != http.StatusOK {
		return lat, fmt.Errorf("%s: HTTP %d: %.200s", u, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return lat, fmt.Errorf("%s: %w", u, err)
	}
	return lat, nil
}

// medianOf runs query n times and returns the median latency and the
// result count of the last run.
func medianOf(n int, query func() (time.Duration, int, error)) (time.Duration, int, error) {
	var lat []time.Duration
	found := 0
	for i := 0; i < n; i++ {
		d, k, err := query()
		if err != nil {
			return 0, 0, err
		}
		lat, found = append(lat, d), k
	}
	slices.Sort(lat)
	return lat[len(lat)/2], found, nil
}

// jaegerSearch searches the Jaeger API for traces of service with the
// attribute key=value (limit 20) and returns the latency and trace count.
func jaegerSearch(queryURL, service, key, value string, r timeRange) (time.Duration, int, error) {
	tags, err := json.Marshal(map[string]string{key: value})
	if err != nil {
		return 0, 0, err
	}
	q := url.Values{"service": {service}, "tags": {string(tags)}, "limit": {"20"},
		"start": {strconv.FormatInt(r.start.UnixMicro(), 10)}, "end": {strconv.FormatInt(r.end.UnixMicro(), 10)}}
	var body struct {
		Data []json.RawMessage `json:"data"`
	}
	lat, err := getJSON(queryURL+"/api/traces?"+q.Encode(), &body)
	return lat, len(body.Data), err
}

// tempoSearch runs a TraceQL search (limit 20) through the Tempo API and
// returns the latency and trace count.
func tempoSearch(tempoURL, traceql string, r timeRange) (time.Duration, int, error) {
	q := url.Values{"q": {traceql}, "limit": {"20"},
		"start": {strconv.FormatInt(r.start.Unix(), 10)}, "end": {strconv.FormatInt(r.end.Unix(), 10)}}
	var body struct {
		Traces []json.RawMessage `json:"traces"`
	}
	lat, err := getJSON(tempoURL+"/api/search?"+q.Encode(), &body)
	return lat, len(body.Traces), err
}

// tempoMetrics runs a TraceQL metrics query over r through the Tempo API
// (query_range, the engine's default step) and returns the latency and
// series count.
func tempoMetrics(tempoURL, traceql string, r timeRange) (time.Duration, int, error) {
	q := url.Values{"q": {traceql},
		"start": {strconv.FormatInt(r.start.Unix(), 10)}, "end": {strconv.FormatInt(r.end.Unix(), 10)}}
	var body struct {
		Series []json.RawMessage `json:"series"`
	}
	lat, err := getJSON(tempoURL+"/api/metrics/query_range?"+q.Encode(), &body)
	return lat, len(body.Series), err
}

// probeKey is the attribute of the freshness probe's spans.
const probeKey = "bench.probe"

// freshness sends one trace of w's shape whose spans carry a probe value
// no other span has, then polls the Jaeger search for it over r. It
// returns the probe value and the time from the export's acknowledgement
// to the end of the first search that found it.
func freshness(ctx context.Context, endpoint, queryURL string, w workload, r timeRange) (string, time.Duration, error) {
	probe := fmt.Sprintf("probe-%d", time.Now().UnixNano())
	td := loadgen.BuildTraces(w.shape, 1, uint64(time.Now().UnixNano()), 77)
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				sp.Attributes().PutStr(probeKey, probe)
			}
		}
	}
	// A template instance gives the probe fresh IDs; the sequence number is
	// far beyond any the load run used.
	tpl, err := loadgen.NewTemplate(td, 1, (&ptrace.ProtoMarshaler{}).MarshalTraces, false)
	if err != nil {
		return "", 0, err
	}
	body, _ := tpl.Instance(nil, 1<<39, nil)
	if td, err = (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(body); err != nil {
		return "", 0, err
	}
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return "", 0, err
	}
	defer conn.Close()
	if _, err := ptraceotlp.NewGRPCClient(conn).Export(ctx, ptraceotlp.NewExportRequestFromTraces(td)); err != nil {
		return "", 0, fmt.Errorf("export probe: %w", err)
	}
	acked := time.Now()
	for deadline := acked.Add(time.Minute); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		_, n, err := jaegerSearch(queryURL, w.service, probeKey, probe, r)
		if err != nil {
			return "", 0, err
		}
		if n > 0 {
			return probe, time.Since(acked), nil
		}
	}
	return "", 0, fmt.Errorf("probe %s not found by search within a minute of its acknowledgement", probe)
}
