package e2e

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// duckDBPackage is the npm package read-parquet.mjs reads Parquet with.
const duckDBPackage = "@duckdb/node-api"

// duckAttr is one attribute struct of a block's list columns as DuckDB
// decoded it; read-parquet.mjs prints 64-bit ints as decimal strings and
// bytes as hex.
type duckAttr struct {
	Key    string   `json:"key"`
	Type   int      `json:"type"`
	Str    *string  `json:"str"`
	Int    *string  `json:"int"`
	Double *float64 `json:"double"`
	Bytes  *string  `json:"bytes"`
}

// duckRow is one span row of data.parquet as read-parquet.mjs prints it.
type duckRow struct {
	TraceID                string     `json:"trace_id"`
	SpanID                 string     `json:"span_id"`
	ParentSpanID           string     `json:"parent_span_id"`
	Name                   string     `json:"name"`
	Kind                   int        `json:"kind"`
	StatusCode             int        `json:"status_code"`
	StatusMessage          string     `json:"status_message"`
	StartTimeUnixNano      string     `json:"start_time_unix_nano"`
	DurationNano           string     `json:"duration_nano"`
	ServiceName            *string    `json:"service_name"`
	HTTPRequestMethod      *string    `json:"http_request_method"`
	HTTPMethod             *string    `json:"http_method"`
	HTTPRoute              *string    `json:"http_route"`
	HTTPResponseStatusCode *string    `json:"http_response_status_code"`
	HTTPStatusCode         *string    `json:"http_status_code"`
	Attributes             []duckAttr `json:"attributes"`
	Events                 []struct {
		TimeUnixNano string     `json:"time_unix_nano"`
		Name         string     `json:"name"`
		Attributes   []duckAttr `json:"attributes"`
	} `json:"events"`
	Links []struct {
		TraceID string `json:"trace_id"`
		SpanID  string `json:"span_id"`
	} `json:"links"`
	ResourceAttributes []duckAttr `json:"resource_attributes"`
	ScopeName          *string    `json:"scope_name"`
	ScopeVersion       string     `json:"scope_version"`
}

// duckFile is what read-parquet.mjs prints for one Parquet file.
type duckFile struct {
	RowCount int `json:"rowCount"`
	Schema   []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"schema"`
	Compression []string  `json:"compression"`
	Rows        []duckRow `json:"rows"`
}

// TestBlockReadByDuckDB sends a varied set of spans with the OpenTelemetry
// Go SDK, lets the server cut them into a block, and reads the block's
// data.parquet with DuckDB, an independent Parquet reader: every span must
// come back with its IDs, name, kind, status, times, service, attributes
// (the list columns and the dedicated columns), events and links.
func TestBlockReadByDuckDB(t *testing.T) {
	node := requireNode(t, duckDBPackage)
	s := startServer(t, "--storage.head.max_age=1s")
	sent := recordVariedSpans(t, time.Now().Add(-time.Minute).Truncate(time.Microsecond))
	exportSpans(t, s, sent)

	blocks := filepath.Join(s.dataDir, "blocks", "single-tenant")
	var metas []string
	eventually(t, 30*time.Second, "a block to be written", func() bool {
		metas, _ = filepath.Glob(filepath.Join(blocks, "*", "meta.json"))
		return len(metas) > 0
	})
	// Stopping the server keeps compaction from replacing the block
	// while it is read.
	s.stop()
	metas, _ = filepath.Glob(filepath.Join(blocks, "*", "meta.json"))
	if len(metas) != 1 {
		t.Fatalf("%d blocks written, want the one export in one block: %v", len(metas), metas)
	}
	got := readParquetWithDuckDB(t, node, filepath.Join(filepath.Dir(metas[0]), "data.parquet"))

	if got.RowCount != len(sent) || len(got.Rows) != len(sent) {
		t.Fatalf("DuckDB counts %d rows (%d printed), want %d", got.RowCount, len(got.Rows), len(sent))
	}
	if !slices.Equal(got.Compression, []string{"ZSTD"}) {
		t.Errorf("column chunk codecs %v, want [ZSTD]", got.Compression)
	}
	schema := map[string]string{}
	for _, c := range got.Schema {
		schema[c.Name] = c.Type
	}
	for col, typ := range map[string]string{
		"trace_id": "BLOB", "start_time_unix_nano": "UBIGINT", "name": "VARCHAR", "kind": "INTEGER",
		"service_name": "VARCHAR", "http_response_status_code": "BIGINT",
		"attributes": `STRUCT("key" VARCHAR, "type" INTEGER, str VARCHAR, "int" BIGINT, "double" DOUBLE, bytes BLOB)[]`,
	} {
		if schema[col] != typ {
			t.Errorf("DuckDB types column %s as %q, want %q", col, schema[col], typ)
		}
	}

	rows := map[string]duckRow{}
	for _, r := range got.Rows {
		rows[r.SpanID] = r
	}
	for _, want := range sent {
		id := want.SpanContext().SpanID().String()
		r, ok := rows[id]
		if !ok {
			t.Errorf("span %s (%s) is not in DuckDB's rows", id, want.Name())
			continue
		}
		checkDuckRow(t, r, want)
	}
}

// recordVariedSpans builds, with the OpenTelemetry Go SDK, two traces from
// three services (each its own resource and tracer) covering every span
// kind, the three statuses, attributes of each type including ones that
// have dedicated block columns, an event and a link, with fixed times from
// start. It returns the ended spans without exporting them.
func recordVariedSpans(t *testing.T, start time.Time) []sdktrace.ReadOnlySpan {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tracer := func(service, version string) trace.Tracer {
		res := resource.NewSchemaless(attribute.String("service.name", service), attribute.String("deployment.environment.name", "e2e"),
			attribute.Int("service.instance.number", 3))
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithResource(res))
		return tp.Tracer("waymark-e2e/"+service, trace.WithInstrumentationVersion(version))
	}
	front, pay, worker := tracer("shop-frontend", "1.0.0"), tracer("shop-payments", "2.1.0"), tracer("shop-worker", "0.9.3")
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	ctx := context.Background()

	rctx, root := front.Start(ctx, "POST /checkout", trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(at(0)),
		trace.WithAttributes(attribute.String("http.request.method", "POST"), attribute.String("http.route", "/checkout"),
			attribute.Int("http.response.status_code", 502), attribute.Bool("user.premium", true), attribute.Float64("cart.total", 129.95)))
	cctx, call := front.Start(rctx, "POST payments", trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(at(10)),
		trace.WithAttributes(attribute.String("peer.service", "shop-payments"), attribute.Int64("retry.count", 0)))
	_, charge := pay.Start(cctx, "charge card", trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(at(12)),
		trace.WithAttributes(attribute.String("card.brand", "visa"), attribute.Bool("card.saved", false),
			attribute.Int64("amount.cents", -12995), attribute.Float64("fx.rate", 0.5)))
	charge.AddEvent("card declined", trace.WithTimestamp(at(30)), trace.WithAttributes(attribute.String("decline.code", "insufficient_funds")))
	charge.SetStatus(codes.Error, "card declined")
	charge.End(trace.WithTimestamp(at(35)))
	call.SetStatus(codes.Error, "payment failed")
	call.End(trace.WithTimestamp(at(40)))
	_, publish := front.Start(rctx, "publish checkout-failed", trace.WithSpanKind(trace.SpanKindProducer), trace.WithTimestamp(at(41)),
		trace.WithAttributes(attribute.String("messaging.system", "kafka")))
	publish.End(trace.WithTimestamp(at(42)))
	root.SetStatus(codes.Ok, "")
	root.End(trace.WithTimestamp(at(45)))

	// A second trace, started by the consumer of the message, linked to it.
	wctx, consume := worker.Start(ctx, "consume checkout-failed", trace.WithSpanKind(trace.SpanKindConsumer), trace.WithTimestamp(at(50)),
		trace.WithLinks(trace.Link{SpanContext: publish.SpanContext()}), trace.WithAttributes(attribute.String("messaging.system", "kafka")))
	_, notify := worker.Start(wctx, "send email", trace.WithTimestamp(at(51)), trace.WithAttributes(attribute.String("email.template", "")))
	notify.End(trace.WithTimestamp(at(51).Add(1500 * time.Microsecond)))
	consume.End(trace.WithTimestamp(at(60)))

	spans := rec.Ended()
	if len(spans) != 6 {
		t.Fatalf("recorded %d spans, want 6", len(spans))
	}
	return spans
}

// exportSpans sends spans to s in one OTLP/gRPC export request.
func exportSpans(t *testing.T, s *server, spans []sdktrace.ReadOnlySpan) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(s.otlpGRPCAddr()), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Shutdown(ctx)
	if err := exp.ExportSpans(ctx, spans); err != nil {
		t.Fatalf("export: %v\n%s", err, s.logs.String())
	}
}

// readParquetWithDuckDB runs read-parquet.mjs on file and decodes its output.
func readParquetWithDuckDB(t *testing.T, node, file string) duckFile {
	t.Helper()
	abs, err := filepath.Abs(file)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "read-parquet.mjs", abs)
	cmd.Dir = interopDir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node read-parquet.mjs: %v\nstderr:\n%s", err, stderr.String())
	}
	var out duckFile
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("read-parquet.mjs output is not JSON: %v\n%s", err, stdout.String())
	}
	return out
}

// checkDuckRow compares one row DuckDB decoded with the span the SDK sent.
func checkDuckRow(t *testing.T, r duckRow, want sdktrace.ReadOnlySpan) {
	t.Helper()
	name := want.Name()
	parent := "0000000000000000"
	if want.Parent().IsValid() {
		parent = want.Parent().SpanID().String()
	}
	status := map[codes.Code]int{codes.Unset: 0, codes.Ok: 1, codes.Error: 2}[want.Status().Code]
	service := ""
	if r.ServiceName != nil {
		service = *r.ServiceName
	}
	wantService, _ := want.Resource().Set().Value("service.name")
	scope := ""
	if r.ScopeName != nil {
		scope = *r.ScopeName
	}
	for _, c := range []struct{ what, got, want string }{
		{"trace_id", r.TraceID, want.SpanContext().TraceID().String()},
		{"parent_span_id", r.ParentSpanID, parent},
		{"name", r.Name, name},
		{"kind", strconv.Itoa(r.Kind), strconv.Itoa(int(want.SpanKind()))},
		{"status_code", strconv.Itoa(r.StatusCode), strconv.Itoa(status)},
		{"status_message", r.StatusMessage, want.Status().Description},
		{"start_time_unix_nano", r.StartTimeUnixNano, strconv.FormatInt(want.StartTime().UnixNano(), 10)},
		{"duration_nano", r.DurationNano, strconv.FormatInt(int64(want.EndTime().Sub(want.StartTime())), 10)},
		{"service_name", service, wantService.AsString()},
		{"scope_name", scope, want.InstrumentationScope().Name},
		{"scope_version", r.ScopeVersion, want.InstrumentationScope().Version},
	} {
		if c.got != c.want {
			t.Errorf("span %q: %s is %q, want %q", name, c.what, c.got, c.want)
		}
	}
	dedicated := map[string]*string{
		"http.request.method": r.HTTPRequestMethod, "http.method": r.HTTPMethod, "http.route": r.HTTPRoute,
		"http.response.status_code": r.HTTPResponseStatusCode, "http.status_code": r.HTTPStatusCode,
	}
	checkDuckAttrs(t, name+" attributes", r.Attributes, want.Attributes(), dedicated)
	checkDuckAttrs(t, name+" resource attributes", r.ResourceAttributes, want.Resource().Attributes(),
		map[string]*string{"service.name": r.ServiceName})

	if len(r.Events) != len(want.Events()) {
		t.Errorf("span %q: %d events, want %d", name, len(r.Events), len(want.Events()))
	} else {
		for i, e := range want.Events() {
			if got := r.Events[i]; got.Name != e.Name || got.TimeUnixNano != strconv.FormatInt(e.Time.UnixNano(), 10) {
				t.Errorf("span %q: event %d is %q at %s, want %q at %d", name, i, got.Name, got.TimeUnixNano, e.Name, e.Time.UnixNano())
			}
			checkDuckAttrs(t, name+" event attributes", r.Events[i].Attributes, e.Attributes, nil)
		}
	}
	var links, wantLinks []string
	for _, l := range r.Links {
		links = append(links, l.TraceID+"/"+l.SpanID)
	}
	for _, l := range want.Links() {
		wantLinks = append(wantLinks, l.SpanContext.TraceID().String()+"/"+l.SpanContext.SpanID().String())
	}
	if !slices.Equal(links, wantLinks) {
		t.Errorf("span %q: links %v, want %v", name, links, wantLinks)
	}
}

// checkDuckAttrs compares the attribute list DuckDB decoded with the
// attributes sent, in order. A type-8 (dedicated) entry's value is read
// from its dedicated column in dedicated; the block format stores empty
// strings and zeros as nulls.
func checkDuckAttrs(t *testing.T, what string, got []duckAttr, want []attribute.KeyValue, dedicated map[string]*string) {
	t.Helper()
	var gotText, wantText []string
	for _, a := range got {
		gotText = append(gotText, a.Key+"="+duckValue(a, dedicated))
	}
	for _, kv := range want {
		_, hasColumn := dedicated[string(kv.Key)]
		wantText = append(wantText, string(kv.Key)+"="+sentValue(kv, hasColumn))
	}
	if !slices.Equal(gotText, wantText) {
		t.Errorf("%s:\n got %q\nwant %q", what, gotText, wantText)
	}
}

// duckValue renders a decoded attribute as "<type>:<value>".
func duckValue(a duckAttr, dedicated map[string]*string) string {
	deref := func(p *string, empty string) string {
		if p == nil {
			return empty
		}
		return *p
	}
	switch a.Type {
	case 1:
		return "string:" + deref(a.Str, "")
	case 2:
		if v := deref(a.Int, "0"); v != "0" {
			return "bool:true"
		}
		return "bool:false"
	case 3:
		return "int:" + deref(a.Int, "0")
	case 4:
		if a.Double == nil {
			return "double:0"
		}
		return "double:" + strconv.FormatFloat(*a.Double, 'g', -1, 64)
	case 5:
		b, _ := hex.DecodeString(deref(a.Bytes, ""))
		return "bytes:" + string(b)
	case 8:
		col, ok := dedicated[a.Key]
		if !ok || col == nil {
			return "dedicated:<missing column value>"
		}
		return "dedicated:" + *col
	}
	return fmt.Sprintf("type%d:%v", a.Type, deref(a.Str, ""))
}

// sentValue renders a sent attribute the way duckValue renders its block
// entry: a string or int value of a key with a dedicated column
// (hasColumn) moves there unless empty or zero.
func sentValue(kv attribute.KeyValue, hasColumn bool) string {
	switch kv.Value.Type() {
	case attribute.STRING:
		if v := kv.Value.AsString(); v != "" && hasColumn {
			return "dedicated:" + v
		}
		return "string:" + kv.Value.AsString()
	case attribute.BOOL:
		return "bool:" + strconv.FormatBool(kv.Value.AsBool())
	case attribute.INT64:
		if v := kv.Value.AsInt64(); v != 0 && hasColumn {
			return "dedicated:" + strconv.FormatInt(v, 10)
		}
		return "int:" + strconv.FormatInt(kv.Value.AsInt64(), 10)
	case attribute.FLOAT64:
		return "double:" + strconv.FormatFloat(kv.Value.AsFloat64(), 'g', -1, 64)
	}
	return "unsupported:" + kv.Value.Emit()
}
