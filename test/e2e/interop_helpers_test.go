package e2e

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// wantSpan is what one span must look like in the Jaeger UI JSON that
// GET /api/traces/{id} returns.
type wantSpan struct {
	id      string // 16 hex digits
	parent  string // the CHILD_OF reference; "" for a root
	name    string
	kind    string // the span.kind tag; "" for none
	service string
	startUS int64 // µs since the epoch
	durUS   int64
	status  string // the otel.status_code tag: "", "OK" or "ERROR"
	// message is the otel.status_description tag, "" for none.
	message string
	tags    []jaegerTag // further span tags that must be present
	// processTags must be present on the span's process.
	processTags []jaegerTag
	logs        []wantLog
	// follows are span IDs that FOLLOWS_FROM references must name.
	follows []string
}

// wantLog is one expected Jaeger log (OTLP event).
type wantLog struct {
	timestampUS int64
	fields      []jaegerTag
}

// str, i64, f64 and boolean build expected tags.
func str(k, v string) jaegerTag       { return jaegerTag{Key: k, Type: "string", Value: v} }
func i64(k string, v int64) jaegerTag { return jaegerTag{Key: k, Type: "int64", Value: v} }
func f64(k string, v float64) jaegerTag {
	return jaegerTag{Key: k, Type: "float64", Value: v}
}
func boolean(k string, v bool) jaegerTag { return jaegerTag{Key: k, Type: "bool", Value: v} }

// readTrace fetches trace id from the Jaeger query API and returns it,
// failing the test unless exactly one trace comes back.
func readTrace(t *testing.T, s *server, id string, header ...string) jaegerTrace {
	t.Helper()
	var r jaegerResponse
	if code := getJSON(t, s.queryURL("/api/traces/"+id), &r, header...); code != http.StatusOK {
		t.Fatalf("GET /api/traces/%s: status %d, errors %+v", id, code, r.Errors)
	}
	if len(r.Data) != 1 {
		t.Fatalf("GET /api/traces/%s: %d traces, want 1", id, len(r.Data))
	}
	return r.Data[0]
}

// awaitTrace polls the query API until trace id has n spans, for senders
// that get no acknowledgement (UDP), and returns it.
func awaitTrace(t *testing.T, s *server, id string, n int) jaegerTrace {
	t.Helper()
	var tr jaegerTrace
	eventually(t, 30*time.Second, fmt.Sprintf("trace %s with %d spans", id, n), func() bool {
		var r jaegerResponse
		if getJSON(t, s.queryURL("/api/traces/"+id), &r) != http.StatusOK || len(r.Data) != 1 {
			return false
		}
		tr = r.Data[0]
		return len(tr.Spans) >= n
	})
	return tr
}

// checkSpans asserts that tr is trace traceID (32 hex digits) made of
// exactly the spans in want. Spans are matched by span ID and kind, since a
// Zipkin client and server span may share one span ID.
func checkSpans(t *testing.T, tr jaegerTrace, traceID string, want []wantSpan) {
	t.Helper()
	if tr.TraceID != traceID {
		t.Errorf("traceID = %q, want %q", tr.TraceID, traceID)
	}
	if len(tr.Spans) != len(want) {
		t.Errorf("got %d spans, want %d", len(tr.Spans), len(want))
	}
	type key struct{ id, kind string }
	got := make(map[key]jaegerSpan, len(tr.Spans))
	for _, sp := range tr.Spans {
		kind, _ := tagOf(sp.Tags, "span.kind")
		k := key{sp.SpanID, fmt.Sprint(kind.Value)}
		if kind.Value == nil {
			k.kind = ""
		}
		if _, dup := got[k]; dup {
			t.Errorf("span %s (kind %q) returned twice", k.id, k.kind)
		}
		got[k] = sp
	}
	for _, w := range want {
		sp, ok := got[key{w.id, w.kind}]
		if !ok {
			t.Errorf("span %s (kind %q, %q) missing; got %v", w.id, w.kind, w.name, spanKeys(tr))
			continue
		}
		checkSpan(t, tr, sp, traceID, w)
	}
}

func spanKeys(tr jaegerTrace) []string {
	var out []string
	for _, sp := range tr.Spans {
		kind, _ := tagOf(sp.Tags, "span.kind")
		out = append(out, fmt.Sprintf("%s/%v/%q", sp.SpanID, kind.Value, sp.OperationName))
	}
	return out
}

func checkSpan(t *testing.T, tr jaegerTrace, sp jaegerSpan, traceID string, w wantSpan) {
	t.Helper()
	where := fmt.Sprintf("span %s %q", w.id, w.name)
	if sp.TraceID != traceID {
		t.Errorf("%s: traceID = %q, want %q", where, sp.TraceID, traceID)
	}
	if sp.OperationName != w.name {
		t.Errorf("%s: operationName = %q", where, sp.OperationName)
	}
	parent := ""
	var follows []string
	for _, r := range sp.References {
		if r.TraceID != traceID {
			t.Errorf("%s: reference to another trace %s", where, r.TraceID)
		}
		switch r.RefType {
		case "CHILD_OF":
			if parent != "" {
				t.Errorf("%s: more than one CHILD_OF reference: %+v", where, sp.References)
			}
			parent = r.SpanID
		case "FOLLOWS_FROM":
			follows = append(follows, r.SpanID)
		}
	}
	if parent != w.parent {
		t.Errorf("%s: parent = %q, want %q", where, parent, w.parent)
	}
	if fmt.Sprint(follows) != fmt.Sprint(w.follows) && (len(follows) > 0 || len(w.follows) > 0) {
		t.Errorf("%s: FOLLOWS_FROM = %v, want %v", where, follows, w.follows)
	}
	if sp.StartTime != w.startUS {
		t.Errorf("%s: startTime = %d µs, want %d", where, sp.StartTime, w.startUS)
	}
	if sp.Duration != w.durUS {
		t.Errorf("%s: duration = %d µs, want %d", where, sp.Duration, w.durUS)
	}
	if p, ok := tr.Processes[sp.ProcessID]; !ok {
		t.Errorf("%s: process %q missing", where, sp.ProcessID)
	} else {
		if p.ServiceName != w.service {
			t.Errorf("%s: serviceName = %q, want %q", where, p.ServiceName, w.service)
		}
		checkTags(t, where+" process", p.Tags, w.processTags)
	}
	checkOptionalTag(t, where, sp.Tags, "otel.status_code", w.status)
	checkOptionalTag(t, where, sp.Tags, "otel.status_description", w.message)
	// The error flag is a bool tag; a Zipkin span may also keep its
	// original string error tag next to it, as the translators do.
	if flagged := hasTag(sp.Tags, boolean("error", true)); flagged != (w.status == "ERROR") {
		t.Errorf("%s: error flag %v with status %q; tags %+v", where, flagged, w.status, sp.Tags)
	}
	checkTags(t, where, sp.Tags, w.tags)
	if len(sp.Logs) != len(w.logs) {
		t.Errorf("%s: %d logs, want %d: %+v", where, len(sp.Logs), len(w.logs), sp.Logs)
		return
	}
	for i, l := range w.logs {
		if sp.Logs[i].Timestamp != l.timestampUS {
			t.Errorf("%s: log %d timestamp = %d µs, want %d", where, i, sp.Logs[i].Timestamp, l.timestampUS)
		}
		checkTags(t, fmt.Sprintf("%s log %d", where, i), sp.Logs[i].Fields, l.fields)
	}
}

// checkOptionalTag asserts that tag key is the string want, or absent when
// want is "".
func checkOptionalTag(t *testing.T, where string, tags []jaegerTag, key, want string) {
	t.Helper()
	tag, ok := tagOf(tags, key)
	switch {
	case want == "" && ok:
		t.Errorf("%s: unexpected tag %s=%v", where, key, tag.Value)
	case want != "" && (!ok || tag.Value != want):
		t.Errorf("%s: tag %s = %v, want %q", where, key, tag.Value, want)
	}
}

// checkTags asserts that every tag in want is in got with its type and
// value.
func checkTags(t *testing.T, where string, got, want []jaegerTag) {
	t.Helper()
	for _, w := range want {
		if !hasTag(got, w) {
			t.Errorf("%s: no tag %s = %v (%s); got %+v", where, w.Key, w.Value, w.Type, got)
		}
	}
}

// hasTag reports whether tags hold want: same key, type and value.
func hasTag(tags []jaegerTag, want jaegerTag) bool {
	for _, g := range tags {
		if g.Key == want.Key && g.Type == want.Type && fmt.Sprint(g.Value) == fmt.Sprint(want.Value) {
			return true
		}
	}
	return false
}

// metricValue returns the sum of the samples of metric name whose labels
// include every label in labels (k1, v1, k2, v2, …) on the server's
// /metrics; it is 0 when there is no such sample yet.
func metricValue(t *testing.T, s *server, name string, labels ...string) float64 {
	t.Helper()
	resp, err := http.Get(s.queryURL("/metrics"))
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: status %d", resp.StatusCode)
	}
	var total float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
lines:
	for sc.Scan() {
		line := sc.Text()
		sep := strings.LastIndexByte(line, ' ')
		if sep < 0 || strings.HasPrefix(line, "#") {
			continue
		}
		series, value := line[:sep], line[sep+1:]
		metric, labelText, _ := strings.Cut(series, "{")
		if metric != name {
			continue
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if !strings.Contains(labelText, labels[i]+`="`+labels[i+1]+`"`) {
				continue lines
			}
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Fatalf("/metrics line %q: %v", line, err)
		}
		total += v
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read /metrics: %v", err)
	}
	return total
}
