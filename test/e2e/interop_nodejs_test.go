package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// interopDir holds the Node.js senders and their pinned npm packages.
const interopDir = "../interop"

// jsPackages are the npm packages send-otlp-http.mjs imports.
var jsPackages = []string{
	"@opentelemetry/api",
	"@opentelemetry/exporter-trace-otlp-http",
	"@opentelemetry/resources",
	"@opentelemetry/sdk-trace-base",
}

// requireNode returns the path of node once it and the npm packages pkgs
// are installed in test/interop. When they are missing the test is skipped on a developer's
// machine and fails under CI, where scripts/test-deps.sh must have
// installed them.
func requireNode(t *testing.T, pkgs ...string) string {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format+" (run scripts/test-deps.sh)", args...)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed: %v", err)
	}
	for _, pkg := range pkgs {
		if _, err := os.Stat(filepath.Join(interopDir, "node_modules", pkg, "package.json")); err != nil {
			missing("npm package %s is not installed in test/interop: %v", pkg, err)
		}
	}
	return node
}

// jsSent is what send-otlp-http.mjs prints.
type jsSent struct {
	TraceID string            `json:"traceId"`
	StartUS string            `json:"startUs"`
	Spans   map[string]string `json:"spans"` // span name → span ID
}

// TestOTLPJavaScriptSDKOverHTTP sends a trace with the OpenTelemetry
// JavaScript SDK's OTLP/HTTP exporter (OTLP/JSON) run by node, then reads
// it back through the Jaeger query API.
func TestOTLPJavaScriptSDKOverHTTP(t *testing.T) {
	node := requireNode(t, jsPackages...)
	s := startServer(t)
	start := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	startUS := start.UnixMicro()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "send-otlp-http.mjs")
	cmd.Dir = interopDir
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"WAYMARK_OTLP_TRACES_URL=http://" + s.otlpHTTPAddr() + "/v1/traces",
		"WAYMARK_TENANT=js-shop",
		"WAYMARK_TRACE_START_US=" + strconv.FormatInt(startUS, 10),
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node send-otlp-http.mjs: %v\nstdout:\n%s\nstderr:\n%s\nserver:\n%s", err, stdout.String(), stderr.String(), s.logs.String())
	}
	var sent jsSent
	if err := json.Unmarshal(stdout.Bytes(), &sent); err != nil {
		t.Fatalf("sender output is not JSON: %v\n%s", err, stdout.String())
	}
	if sent.StartUS != strconv.FormatInt(startUS, 10) || len(sent.Spans) != 4 {
		t.Fatalf("sender printed %+v", sent)
	}
	root, query, render, publish := sent.Spans["GET /products"], sent.Spans["SELECT products"], sent.Spans["render"], sent.Spans["publish product-viewed"]
	resTags := []jaegerTag{str("service.version", "2.4.1"), str("host.name", "node-js-1")}
	scope := []jaegerTag{str("otel.scope.name", "waymark-interop"), str("otel.scope.version", "0.1.0")}
	want := []wantSpan{
		{id: root, name: "GET /products", kind: "server", service: "js-storefront", startUS: startUS, durUS: 120_000,
			processTags: resTags, tags: append([]jaegerTag{str("http.request.method", "GET"), i64("http.response.status_code", 200),
				boolean("cache.hit", false), f64("sample.ratio", 0.75)}, scope...)},
		{id: query, parent: root, name: "SELECT products", kind: "client", service: "js-storefront", startUS: startUS + 5_000, durUS: 40_500,
			processTags: resTags, tags: []jaegerTag{str("db.system.name", "postgresql"), i64("db.rows", 42)},
			logs: []wantLog{{startUS + 6_000, []jaegerTag{str("event", "cache miss"), str("cache.key", "products:all")}}}},
		{id: render, parent: root, name: "render", kind: "internal", service: "js-storefront", startUS: startUS + 50_000, durUS: 60_000,
			status: "ERROR", message: "template missing", processTags: resTags},
		{id: publish, parent: root, name: "publish product-viewed", kind: "producer", service: "js-storefront", startUS: startUS + 111_000,
			durUS: 1_250, status: "OK", follows: []string{query}, processTags: resTags},
	}
	checkSpans(t, readTrace(t, s, sent.TraceID, "X-Scope-OrgID", "js-shop"), sent.TraceID, want)

	var found jaegerResponse
	getJSON(t, s.queryURL("/api/traces?service=js-storefront&operation=render&tags=%7B%22error%22%3A%22true%22%7D"), &found, "X-Scope-OrgID", "js-shop")
	if len(found.Data) != 1 || found.Data[0].TraceID != sent.TraceID {
		t.Errorf("search for the failing span found %d traces", len(found.Data))
	}
}
