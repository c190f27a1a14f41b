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

	cases := []struct {
		name        string
		method      string
		path        string
		contentType string
		encoding    string
		header      map[string]string
		body        []byte
		consumeErr  error

		wantStatus     int
		wantSpans      int
		wantRejected   int64
		wantTenant     string
		wantRetryAfter string
		wantOTLP       bool
	}{
		{name: "protobuf", body: proto10, wantStatus: 200, wantSpans: 10, wantOTLP: true},
		{name: "protobuf gzip", body: receivetest.Compress(t, "gzip", proto10), encoding: "gzip", wantStatus: 200, wantSpans: 10, wantOTLP: true},
		{name: "protobuf zlib as deflate", body: receivetest.Compress(t, "zlib", proto10), encoding: "deflate", wantStatus: 200, wantSpans: 10, wantOTLP: true},
		{name: "protobuf raw deflate", body: receivetest.Compress(t, "raw-deflate", proto10), encoding: "deflate", wantStatus: 200, wantSpans: 10, wantOTLP: true},
		{name: "protobuf zstd", body: receivetest.Compress(t, "zstd", proto10), encoding: "zstd", wantStatus: 200, wantSpans: 10, wantOTLP: true},
		{name: "json", contentType: "application/json", body: []byte(exampleJSON), wantStatus: 200, wantSpans: 1},
		{name: "json with charset", contentType: "application/json; charset=utf-8", body: []byte(exampleJSON), wantStatus: 200, wantSpans: 1},
		{name: "json gzip", contentType: "application/json", encoding: "gzip", body: receivetest.Compress(t, "gzip", []byte(exampleJSON)), wantStatus: 200, wantSpans: 1},
		{name: "empty protobuf", body: nil, wantStatus: 200},
		{name: "empty json", contentType: "application/json", body: nil, wantStatus: 200},
		{name: "tenant header", header: map[string]string{"X-Scope-OrgID": "team-a"}, body: proto10, wantStatus: 200, wantSpans: 10, wantTenant: "team-a", wantOTLP: true},
		{name: "tenant alias", header: map[string]string{"x-tenant": "team-b"}, body: proto10, wantStatus: 200, wantSpans: 10, wantTenant: "team-b", wantOTLP: true},
		{name: "zero trace id json", contentType: "application/json", body: []byte(zeroJSON), wantStatus: 200, wantRejected: 1},
		{name: "bad tenant", header: map[string]string{"X-Scope-OrgID": "../etc"}, body: proto10, wantStatus: 400},
		{name: "wrong method", method: http.MethodGet, wantStatus: 405},
		{name: "wrong path", path: "/v1/metrics", body: proto10, wantStatus: 404},
		{name: "wrong content type", contentType: "text/plain", body: proto10, wantStatus: 415},
		{name: "no content type", contentType: "-", body: proto10, wantStatus: 415},
		{name: "unknown encoding", encoding: "br", body: proto10, wantStatus: 415},
		{name: "truncated protobuf", body: proto10[:50], wantStatus: 400},
		{name: "invalid json", contentType: "application/json", body: []byte(`{"resourceSpans":[`), wantStatus: 400},
		{name: "json trace id wrong width", contentType: "application/json", body: []byte(strings.Replace(exampleJSON, "4bf92f3577b34da6a3ce929d0e0e4736", "4bf92f", 1)), wantStatus: 400},
		{name: "corrupt gzip", encoding: "gzip", body: []byte("not gzip at all"), wantStatus: 400},
		{name: "truncated gzip", encoding: "gzip", body: receivetest.Compress(t, "gzip", proto10)[:40], wantStatus: 400},
		{name: "too large", body: big, wantStatus: 413},
		{name: "gzip bomb", encoding: "gzip", body: receivetest.Bomb(t, "gzip", 50<<20), wantStatus: 413},
		{name: "zlib bomb", encoding: "deflate", body: receivetest.Bomb(t, "zlib", 50<<20), wantStatus: 413},
		{name: "zstd bomb", encoding: "zstd", body: receivetest.Bomb(t, "zstd", 50<<20), wantStatus: 413},
		{name: "overloaded", body: proto10, consumeErr: &model.OverloadedError{Reason: "queue full", RetryAfter: 2500 * time.Millisecond}, wantStatus: 503, wantRetryAfter: "3"},
		{name: "store failure", body: proto10, consumeErr: errors.New("fsync: input/output error"), wantStatus: 503, wantRetryAfter: "1"},
		{name: "serving after garbage", body: proto10, wantStatus: 200, wantSpans: 10, wantOTLP: true},
	}
	rec := &receivetest.Recorder{}
	reg := prometheus.NewRegistry()
	srv := httptest.NewServer(NewHTTPHandler(rec, receive.Options{MaxRequestBytes: limit, Registerer: reg}))
	defer srv.Close()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec.Reset()
			rec.Fail(tc.consumeErr)
			path, ct := tc.path, tc.contentType
			if path == "" {
				path = "/v1/traces"
			}
			switch ct {
			case "":
				ct = "application/x-protobuf"
			case "-":
				ct = ""
			}
			resp, body := receivetest.Request{Method: tc.method, URL: srv.URL + path, ContentType: ct,
				Encoding: tc.encoding, Header: tc.header, Body: tc.body}.Send(t)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, tc.wantStatus)
			}
			if got := resp.Header.Get("Retry-After"); got != tc.wantRetryAfter {
				t.Errorf("Retry-After %q, want %q", got, tc.wantRetryAfter)
			}
			isJSON := strings.HasPrefix(ct, "application/json")
			switch {
			case resp.StatusCode == 200:
				checkHTTPResponse(t, resp, body, isJSON, tc.wantRejected)
			case resp.StatusCode == 400 || resp.StatusCode == 413 || resp.StatusCode == 503:
				checkHTTPStatusBody(t, resp, body, isJSON)
			}
			batch := rec.ExpectBatch(t, tc.wantSpans)
			if tc.wantSpans == 0 {
				return
			}
			wantTenant := tc.wantTenant
			if wantTenant == "" {
				wantTenant = model.DefaultTenant
			}
			if batch.Tenant != wantTenant {
				t.Errorf("tenant %q, want %q", batch.Tenant, wantTenant)
			}
			if got := batch.OTLP != nil; got != tc.wantOTLP {
				t.Errorf("batch has OTLP bytes %v, want %v", got, tc.wantOTLP)
			}
		})
	}
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
