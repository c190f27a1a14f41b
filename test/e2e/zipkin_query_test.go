package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	jaegermodel "github.com/jaegertracing/jaeger-idl/model/v1"
	"github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"waymark/internal/api/jaegergrpc"
)

func (s *server) zipkinURL(path string) string {
	return "http://127.0.0.1:" + strconv.Itoa(s.ports.Zipkin) + path
}

// zipkinSpan is the Zipkin v2 span JSON.
type zipkinSpan struct {
	TraceID       string `json:"traceId"`
	ID            string `json:"id"`
	ParentID      string `json:"parentId"`
	Kind          string `json:"kind"`
	Name          string `json:"name"`
	Timestamp     int64  `json:"timestamp"`
	Duration      int64  `json:"duration"`
	LocalEndpoint *struct {
		ServiceName string `json:"serviceName"`
	} `json:"localEndpoint"`
	Annotations []struct {
		Timestamp int64  `json:"timestamp"`
		Value     string `json:"value"`
	} `json:"annotations"`
	Tags map[string]string `json:"tags"`
}

// TestZipkinQueryAPI sends a trace over OTLP and reads it back through the
// Zipkin v2 query API on the Zipkin port.
func TestZipkinQueryAPI(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(s.otlpGRPCAddr()), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	tp := newProvider(t, exp, "shop")
	sent := emitTrace(tp, "shop", time.Now().Add(-time.Minute))
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	id := sent.traceID.String()

	var services []string
	if code := getJSON(t, s.zipkinURL("/api/v2/services"), &services); code != 200 || !slices.Contains(services, "shop") {
		t.Fatalf("services: status %d, %v", code, services)
	}
	var spanNames []string
	if code := getJSON(t, s.zipkinURL("/api/v2/spans?serviceName=shop"), &spanNames); code != 200 ||
		!slices.Equal(spanNames, []string{"GET /checkout", "call payments", "charge card"}) {
		t.Errorf("span names: status %d, %v", code, spanNames)
	}

	var trace []zipkinSpan
	if code := getJSON(t, s.zipkinURL("/api/v2/trace/"+id), &trace); code != 200 || len(trace) != 3 {
		t.Fatalf("trace: status %d, %d spans", code, len(trace))
	}
	byID := map[string]zipkinSpan{}
	for _, sp := range trace {
		if sp.TraceID != id || sp.LocalEndpoint == nil || sp.LocalEndpoint.ServiceName != "shop" {
			t.Errorf("span %s: traceId %s, endpoint %+v", sp.ID, sp.TraceID, sp.LocalEndpoint)
		}
		byID[sp.ID] = sp
	}
	root, child, bad := byID[sent.rootID.String()], byID[sent.childID.String()], byID[sent.errID.String()]
	if root.Kind != "SERVER" || root.Timestamp != sent.start.UnixMicro() || root.Duration != 100_000 {
		t.Errorf("root: kind %q, timestamp %d (want %d), duration %d µs", root.Kind, root.Timestamp, sent.start.UnixMicro(), root.Duration)
	}
	if child.Kind != "CLIENT" || child.ParentID != root.ID || len(child.Annotations) != 1 ||
		!strings.HasPrefix(child.Annotations[0].Value, "retrying|") || child.Tags["retry"] != "true" {
		t.Errorf("child: %+v", child)
	}
	if bad.Kind != "" || bad.Tags["error"] != "card declined" {
		t.Errorf("error span: kind %q, tags %v", bad.Kind, bad.Tags)
	}

	searches := []struct {
		name, query string
		want        bool
	}{
		{"service and span name", "serviceName=shop&spanName=" + url.QueryEscape("charge card"), true},
		{"tag", "annotationQuery=" + url.QueryEscape("http.request.method=GET"), true},
		{"annotation", "annotationQuery=retrying", true},
		{"duration in µs", "serviceName=shop&minDuration=90000", true},
		{"duration too long", "serviceName=shop&minDuration=200000", false},
		{"window before the trace", fmt.Sprintf("endTs=%d&lookback=60000", sent.start.Add(-time.Minute).UnixMilli()), false},
	}
	for _, tt := range searches {
		t.Run(tt.name, func(t *testing.T) {
			var traces [][]zipkinSpan
			if code := getJSON(t, s.zipkinURL("/api/v2/traces?"+tt.query), &traces); code != 200 {
				t.Fatalf("status %d", code)
			}
			found := slices.ContainsFunc(traces, func(tr []zipkinSpan) bool { return len(tr) > 0 && tr[0].TraceID == id })
			if found != tt.want {
				t.Errorf("found %v, want %v (%d traces)", found, tt.want, len(traces))
			}
		})
	}

	if code := getJSON(t, s.zipkinURL("/api/v2/trace/"+id), nil, "X-Scope-OrgID", "other"); code != 404 {
		t.Errorf("another tenant reads the trace: status %d", code)
	}
	if code := getJSON(t, s.zipkinURL("/api/v2/trace/not-hex"), nil); code != 400 {
		t.Errorf("bad trace id: status %d", code)
	}
	var deps []map[string]any
	if code := getJSON(t, s.zipkinURL(fmt.Sprintf("/api/v2/dependencies?endTs=%d", time.Now().UnixMilli())), &deps); code != 200 {
		t.Errorf("dependencies: status %d", code)
	}
}

// TestJaegerGRPCQuery reads a trace sent over OTLP through the Jaeger
// api_v2 gRPC query service.
func TestJaegerGRPCQuery(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(s.otlpGRPCAddr()), otlptracegrpc.WithInsecure(),
		otlptracegrpc.WithHeaders(map[string]string{"X-Scope-OrgID": "acme"}))
	if err != nil {
		t.Fatal(err)
	}
	tp := newProvider(t, exp, "shop")
	sent := emitTrace(tp, "shop", time.Now().Add(-time.Minute))
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	conn, err := grpc.NewClient("127.0.0.1:"+strconv.Itoa(s.ports.JaegerGRPCQuery),
		grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithDefaultCallOptions(jaegergrpc.CallOption()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := api_v2.NewQueryServiceClient(conn)
	acme := metadata.AppendToOutgoingContext(ctx, "x-scope-orgid", "acme")

	svcs, err := client.GetServices(acme, &api_v2.GetServicesRequest{})
	if err != nil || !slices.Equal(svcs.Services, []string{"shop"}) {
		t.Fatalf("services: %v, %v", svcs, err)
	}
	tid := sent.traceID
	jid := jaegermodel.NewTraceID(beUint64(tid[:8]), beUint64(tid[8:]))
	stream, err := client.GetTrace(acme, &api_v2.GetTraceRequest{TraceID: jid})
	if err != nil {
		t.Fatal(err)
	}
	var spans []jaegermodel.Span
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("GetTrace: %v", err)
		}
		spans = append(spans, chunk.Spans...)
	}
	if len(spans) != 3 {
		t.Fatalf("%d spans, want 3", len(spans))
	}
	for _, sp := range spans {
		if sp.TraceID != jid || sp.Process == nil || sp.Process.ServiceName != "shop" {
			t.Errorf("span %v: trace %v, process %v", sp.SpanID, sp.TraceID, sp.Process)
		}
	}
	stream, err = client.GetTrace(ctx, &api_v2.GetTraceRequest{TraceID: jid})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err == nil || !strings.Contains(err.Error(), "NotFound") {
		t.Errorf("default tenant reads acme's trace: %v", err)
	}
}

func beUint64(b []byte) uint64 {
	var v uint64
	for _, x := range b {
		v = v<<8 | uint64(x)
	}
	return v
}
