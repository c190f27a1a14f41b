package e2e

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
)

// fetch GETs url and returns the status, content type and body.
func fetch(t *testing.T, url string) (int, string, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
}

// TestWebUIOnQueryPort checks that the binary serves the web UI and its
// API beside the Jaeger API: the app on any page path, its versioned
// assets, Waymark's UI endpoints over real data, and no fall-through of
// unknown API paths to the app.
func TestWebUIOnQueryPort(t *testing.T) {
	s := startServer(t)
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpoint(s.otlpHTTPAddr()), otlptracehttp.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	tp := newProvider(t, exp, "ui-e2e")
	sent := emitTrace(tp, "ui-e2e", time.Now().Add(-time.Minute))
	if err := tp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}

	code, ctype, index := fetch(t, s.queryURL("/trace/"+sent.traceID.String()+"?view=flame"))
	if code != 200 || !strings.HasPrefix(ctype, "text/html") || !strings.Contains(index, `id="view"`) {
		t.Fatalf("deep link: %d %q", code, ctype)
	}
	m := regexp.MustCompile(`src="(/static/[0-9a-f]+/js/main\.js)"`).FindStringSubmatch(index)
	if m == nil {
		t.Fatal("index.html does not load main.js")
	}
	if code, ctype, _ := fetch(t, s.queryURL(m[1])); code != 200 || !strings.HasPrefix(ctype, "text/javascript") {
		t.Fatalf("main.js: %d %q", code, ctype)
	}
	for _, path := range []string{"/api/no-such-route", "/api/waymark/no-such-route"} {
		if code, _, body := fetch(t, s.queryURL(path)); code != 404 || strings.Contains(body, `id="view"`) {
			t.Errorf("%s: %d, app served: %v", path, code, strings.Contains(body, `id="view"`))
		}
	}

	var sums struct {
		Data []struct {
			TraceID     string `json:"traceID"`
			RootService string `json:"rootService"`
			SpanCount   int    `json:"spanCount"`
			ErrorCount  int    `json:"errorCount"`
		} `json:"data"`
	}
	eventually(t, 10*time.Second, "trace summary", func() bool {
		getJSON(t, s.queryURL("/api/waymark/trace-summaries?service=ui-e2e"), &sums)
		return len(sums.Data) == 1
	})
	if got := sums.Data[0]; got.TraceID != sent.traceID.String() || got.RootService != "ui-e2e" || got.SpanCount != 3 || got.ErrorCount != 1 {
		t.Fatalf("summary = %+v, want trace %s of 3 spans", got, sent.traceID)
	}
	var tr struct {
		Data struct {
			TraceID string `json:"traceID"`
			Spans   struct {
				IDs string `json:"ids"` // 11 base64url digits per span
			} `json:"spans"`
		} `json:"data"`
	}
	if code := getJSON(t, s.queryURL("/api/waymark/trace/"+sent.traceID.String()), &tr); code != 200 || len(tr.Data.Spans.IDs) != 3*11 {
		t.Fatalf("compact trace: %d, %d span ID digits, want 3 spans", code, len(tr.Data.Spans.IDs))
	}
}
