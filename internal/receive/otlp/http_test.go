package otlp

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"waymark/internal/model"
	"waymark/internal/receive"
	"waymark/internal/receive/receivetest"
)

func TestHTTPFromSDK(t *testing.T) {
	for _, enc := range []struct {
		name        string
		compression otlptracehttp.Compression
	}{{"gzip", otlptracehttp.GzipCompression}, {"uncompressed", otlptracehttp.NoCompression}} {
		t.Run(enc.name, func(t *testing.T) {
			rec := &receivetest.Recorder{}
			srv := httptest.NewServer(NewHTTPHandler(rec, receive.Options{}))
			defer srv.Close()
			exp, err := otlptracehttp.New(context.Background(),
				otlptracehttp.WithEndpointURL(srv.URL+"/v1/traces"), otlptracehttp.WithCompression(enc.compression),
				otlptracehttp.WithHeaders(map[string]string{"X-Scope-OrgID": "acme"}))
			if err != nil {
				t.Fatal(err)
			}
			root, child := emitSpans(t, exp)
			checkSDKBatches(t, rec, root, child, "acme")
		})
	}
}

const exampleJSON = `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},
  "scopeSpans":[{"scope":{"name":"net/http"},"spans":[{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736",
  "spanId":"00f067aa0ba902b7","name":"GET /cart","kind":2,"startTimeUnixNano":"1700000000000000000",
  "endTimeUnixNano":"1700000000120000000","status":{"code":2,"message":"boom"},
  "attributes":[{"key":"http.response.status_code","value":{"intValue":"500"}}]}]}]}]}`

func TestHTTP(t *testing.T) {
	proto10 := marshal(t, receivetest.WorkloadTraces(10, 1, false))
	zeroJSON := strings.Replace(exampleJSON, "4bf92f3577b34da6a3ce929d0e0e4736", "00000000000000000000000000000000", 1)
	const limit = 64 << 10
	big := marshal(t, receivetest.WorkloadTraces(1000, 1, false))

	const pb = contentTypeProto
	cases := []receivetest.HTTPCase{
		{Name: "protobuf", Request: receivetest.Request{ContentType: pb, Body: proto10}, WantStatus: 200, WantSpans: 10},
		{Name: "protobuf gzip", Request: receivetest.Request{ContentType: pb, Body: receivetest.Compress(t, "gzip", proto10), Encoding: "gzip"}, WantStatus: 200, WantSpans: 10},
		{Name: "protobuf zlib as deflate", Request: receivetest.Request{ContentType: pb, Body: receivetest.Compress(t, "zlib", proto10), Encoding: "deflate"}, WantStatus: 200, WantSpans: 10},
		{Name: "protobuf raw deflate", Request: receivetest.Request{ContentType: pb, Body: receivetest.Compress(t, "raw-deflate", proto10), Encoding: "deflate"}, WantStatus: 200, WantSpans: 10},
		{Name: "protobuf zstd", Request: receivetest.Request{ContentType: pb, Body: receivetest.Compress(t, "zstd", proto10), Encoding: "zstd"}, WantStatus: 200, WantSpans: 10},
		{Name: "json", Request: receivetest.Request{ContentType: "application/json", Body: []byte(exampleJSON)}, WantStatus: 200, WantSpans: 1},
		{Name: "json with charset", Request: receivetest.Request{ContentType: "application/json; charset=utf-8", Body: []byte(exampleJSON)}, WantStatus: 200, WantSpans: 1},
		{Name: "json gzip", Request: receivetest.Request{ContentType: "application/json", Encoding: "gzip", Body: receivetest.Compress(t, "gzip", []byte(exampleJSON))}, WantStatus: 200, WantSpans: 1},
		{Name: "empty protobuf", Request: receivetest.Request{ContentType: pb, Body: nil}, WantStatus: 200},
		{Name: "empty json", Request: receivetest.Request{ContentType: "application/json", Body: nil}, WantStatus: 200},
		{Name: "tenant header", Request: receivetest.Request{ContentType: pb, Header: map[string]string{"X-Scope-OrgID": "team-a"}, Body: proto10}, WantStatus: 200, WantSpans: 10, WantTenant: "team-a"},
		{Name: "tenant alias", Request: receivetest.Request{ContentType: pb, Header: map[string]string{"x-tenant": "team-b"}, Body: proto10}, WantStatus: 200, WantSpans: 10, WantTenant: "team-b"},
		{Name: "zero trace id json", Request: receivetest.Request{ContentType: "application/json", Body: []byte(zeroJSON)}, WantStatus: 200},
		{Name: "bad tenant", Request: receivetest.Request{ContentType: pb, Header: map[string]string{"X-Scope-OrgID": "../etc"}, Body: proto10}, WantStatus: 400},
		{Name: "wrong method", Request: receivetest.Request{ContentType: pb, Method: http.MethodGet}, WantStatus: 405},
		{Name: "wrong path", Request: receivetest.Request{ContentType: pb, URL: "/v1/metrics", Body: proto10}, WantStatus: 404},
		{Name: "wrong content type", Request: receivetest.Request{ContentType: "text/plain", Body: proto10}, WantStatus: 415},
		{Name: "no content type", Request: receivetest.Request{Body: proto10}, WantStatus: 415},
		{Name: "unknown encoding", Request: receivetest.Request{ContentType: pb, Encoding: "br", Body: proto10}, WantStatus: 415},
		{Name: "truncated protobuf", Request: receivetest.Request{ContentType: pb, Body: proto10[:50]}, WantStatus: 400},
		{Name: "invalid json", Request: receivetest.Request{ContentType: "application/json", Body: []byte(`{"resourceSpans":[`)}, WantStatus: 400},
		{Name: "json trace id wrong width", Request: receivetest.Request{ContentType: "application/json", Body: []byte(strings.Replace(exampleJSON, "4bf92f3577b34da6a3ce929d0e0e4736", "4bf92f", 1))}, WantStatus: 400},
		{Name: "corrupt gzip", Request: receivetest.Request{ContentType: pb, Encoding: "gzip", Body: []byte("not gzip at all")}, WantStatus: 400},
		{Name: "truncated gzip", Request: receivetest.Request{ContentType: pb, Encoding: "gzip", Body: receivetest.Compress(t, "gzip", proto10)[:40]}, WantStatus: 400},
		{Name: "too large", Request: receivetest.Request{ContentType: pb, Body: big}, WantStatus: 413},
		{Name: "gzip bomb", Request: receivetest.Request{ContentType: pb, Encoding: "gzip", Body: receivetest.Bomb(t, "gzip", 50<<20)}, WantStatus: 413},
		{Name: "zlib bomb", Request: receivetest.Request{ContentType: pb, Encoding: "deflate", Body: receivetest.Bomb(t, "zlib", 50<<20)}, WantStatus: 413},
		{Name: "zstd bomb", Request: receivetest.Request{ContentType: pb, Encoding: "zstd", Body: receivetest.Bomb(t, "zstd", 50<<20)}, WantStatus: 413},
		{Name: "overloaded", Request: receivetest.Request{ContentType: pb, Body: proto10}, ConsumeErr: &model.OverloadedError{Reason: "queue full", RetryAfter: 2500 * time.Millisecond}, WantStatus: 503, WantRetryAfter: "3"},
		{Name: "store failure", Request: receivetest.Request{ContentType: pb, Body: proto10}, ConsumeErr: errors.New("fsync: input/output error"), WantStatus: 503, WantRetryAfter: "1"},
		{Name: "serving after garbage", Request: receivetest.Request{ContentType: pb, Body: proto10}, WantStatus: 200, WantSpans: 10},
	}
	rec := &receivetest.Recorder{}
	reg := prometheus.NewRegistry()
	srv := httptest.NewServer(NewHTTPHandler(rec, receive.Options{MaxRequestBytes: limit, Registerer: reg}))
	defer srv.Close()
	rejected := map[string]int64{ // spans refused in partial_success, by case
		"zero trace id json": 1,
	}
	receivetest.RunHTTP(t, srv.URL, TracesPath, rec, cases, func(t *testing.T, tc receivetest.HTTPCase, resp *http.Response, body []byte, batch model.Batch) {
		isJSON := strings.HasPrefix(tc.Request.ContentType, contentTypeJSON)
		switch resp.StatusCode {
		case http.StatusOK:
			checkHTTPResponse(t, resp, body, isJSON, rejected[tc.Name])
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusServiceUnavailable:
			checkHTTPStatusBody(t, resp, body, isJSON)
		}
		if tc.WantSpans > 0 && (batch.OTLP != nil) == isJSON {
			t.Errorf("batch has OTLP bytes %v, want them for protobuf only", batch.OTLP != nil)
		}
	})
	if got := receivetest.CounterValue(t, reg, "waymark_receiver_failed_requests_total", map[string]string{"receiver": "otlp_http", "reason": "too_large"}); got != 4 {
		t.Errorf("too_large failures %v, want 4", got)
	}
	if got := receivetest.CounterValue(t, reg, "waymark_receiver_refused_spans_total", map[string]string{"receiver": "otlp_http", "reason": "overloaded"}); got != 10 {
		t.Errorf("overloaded refusals %v, want 10", got)
	}
	if got := receivetest.CounterValue(t, reg, "waymark_receiver_refused_spans_total", map[string]string{"receiver": "otlp_http", "reason": "invalid"}); got != 1 {
		t.Errorf("invalid refusals %v, want 1", got)
	}
}

// checkHTTPResponse decodes a success body in the request's encoding.
func checkHTTPResponse(t *testing.T, resp *http.Response, body []byte, isJSON bool, wantRejected int64) {
	t.Helper()
	var out coltracepb.ExportTraceServiceResponse
	var err error
	if isJSON {
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("content type %q", ct)
		}
		err = protojson.Unmarshal(body, &out)
	} else {
		if ct := resp.Header.Get("Content-Type"); ct != "application/x-protobuf" {
			t.Errorf("content type %q", ct)
		}
		err = proto.Unmarshal(body, &out)
	}
	if err != nil {
		t.Fatalf("response %q: %v", body, err)
	}
	if got := out.GetPartialSuccess().GetRejectedSpans(); got != wantRejected {
		t.Errorf("rejected %d, want %d", got, wantRejected)
	}
	if wantRejected == 0 && isJSON && string(body) != "{}" {
		t.Errorf("JSON success body %q, want {}", body)
	}
}

// checkHTTPStatusBody decodes an error body as a google.rpc.Status.
func checkHTTPStatusBody(t *testing.T, resp *http.Response, body []byte, isJSON bool) {
	t.Helper()
	var st spb.Status
	var err error
	if isJSON {
		err = protojson.Unmarshal(body, &st)
	} else {
		err = proto.Unmarshal(body, &st)
	}
	if err != nil {
		t.Fatalf("error body %q is not a google.rpc.Status: %v", body, err)
	}
	if st.GetMessage() == "" {
		t.Error("status has no message")
	}
	want := map[int]codes.Code{400: codes.InvalidArgument, 413: codes.ResourceExhausted, 503: codes.Unavailable}[resp.StatusCode]
	if codes.Code(st.GetCode()) != want {
		t.Errorf("status code %v, want %v", codes.Code(st.GetCode()), want)
	}
}
