package jaeger

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jaegertracing/jaeger-idl/thrift-gen/jaeger"
	"github.com/prometheus/client_golang/prometheus"

	"waymark/internal/model"
	"waymark/internal/receive"
	"waymark/internal/receive/receivetest"
)

func TestThriftHTTP(t *testing.T) {
	const limit = 16 << 10
	body := thriftBody(t, thriftBatch())
	zeroIDs := thriftBatch()
	zeroIDs.Spans[0].TraceIdLow = 0
	bigBatch := &jaeger.Batch{Process: &jaeger.Process{ServiceName: "x"}}
	for range 500 {
		bigBatch.Spans = append(bigBatch.Spans, &jaeger.Span{TraceIdLow: 1, SpanId: 1, OperationName: "some operation name"})
	}
	thrift := func(b []byte) receivetest.Request {
		return receivetest.Request{ContentType: "application/x-thrift", Body: b}
	}
	gzipped := thrift(receivetest.Compress(t, "gzip", body))
	gzipped.Encoding = "gzip"
	bomb := thrift(receivetest.Bomb(t, "gzip", 10<<20))
	bomb.Encoding = "gzip"
	withTenant := thrift(body)
	withTenant.Header = map[string]string{"x-tenant": "team-j"}

	cases := []receivetest.HTTPCase{
		{Name: "x-thrift", Request: thrift(body), WantStatus: 202, WantSpans: 2},
		{Name: "vnd.apache.thrift.binary", Request: receivetest.Request{ContentType: "application/vnd.apache.thrift.binary", Body: body}, WantStatus: 202, WantSpans: 2},
		{Name: "gzip", Request: gzipped, WantStatus: 202, WantSpans: 2},
		{Name: "tenant", Request: withTenant, WantStatus: 202, WantSpans: 2, WantTenant: "team-j"},
		{Name: "zero trace id counted", Request: thrift(thriftBody(t, zeroIDs)), WantStatus: 202, WantSpans: 1},
		{Name: "wrong method", Request: receivetest.Request{Method: http.MethodGet}, WantStatus: 405},
		{Name: "json", Request: receivetest.Request{ContentType: "application/json", Body: body}, WantStatus: 415},
		{Name: "no content type", Request: receivetest.Request{Body: body}, WantStatus: 415},
		{Name: "compact body", Request: thrift(agentDatagram(t, thriftBatch(), true)), WantStatus: 400},
		{Name: "truncated", Request: thrift(body[:len(body)-20]), WantStatus: 400},
		{Name: "too large", Request: thrift(thriftBody(t, bigBatch)), WantStatus: 413},
		{Name: "gzip bomb", Request: bomb, WantStatus: 413},
		{Name: "overloaded", Request: thrift(body), ConsumeErr: &model.OverloadedError{Reason: "full", RetryAfter: time.Second}, WantStatus: 503, WantRetryAfter: "1"},
		{Name: "store failure", Request: thrift(body), ConsumeErr: errors.New("disk"), WantStatus: 503, WantRetryAfter: "1"},
		{Name: "still serving", Request: thrift(body), WantStatus: 202, WantSpans: 2},
	}
	rec := &receivetest.Recorder{}
	reg := prometheus.NewRegistry()
	srv := httptest.NewServer(NewThriftHTTPHandler(rec, receive.Options{MaxRequestBytes: limit, Registerer: reg}))
	defer srv.Close()
	receivetest.RunHTTP(t, srv.URL, TracesPath, rec, cases, func(t *testing.T, tc receivetest.HTTPCase, _ *http.Response, _ []byte, batch model.Batch) {
		if tc.WantSpans == 2 {
			checkTrace(t, batch.Spans)
		}
	})
	if got := receivetest.CounterValue(t, reg, "waymark_receiver_refused_spans_total", map[string]string{"receiver": "jaeger_thrift_http", "reason": "invalid"}); got != 1 {
		t.Errorf("invalid spans %v, want 1", got)
	}
	if got := receivetest.CounterValue(t, reg, "waymark_receiver_failed_requests_total", map[string]string{"receiver": "jaeger_thrift_http", "reason": "too_large"}); got != 2 {
		t.Errorf("too large requests %v, want 2", got)
	}
}
