package zipkinapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"waymark/internal/api/apitest"
	"waymark/internal/model"
	"waymark/internal/query"
	"waymark/internal/receive"
	"waymark/internal/receive/zipkin"
)

// zipkinTrace is a 64-bit trace as a Brave-instrumented pair of services
// sends it: a shared client/server span, endpoints with addresses and
// ports, an annotation, an error tag and a local span.
const zipkinTrace = `[
{"traceId":"463ac35c9f6413ad","id":"6b221d5bc9e6496c","kind":"SERVER","name":"get /","timestamp":1700000000000000,"duration":25000,
 "localEndpoint":{"serviceName":"frontend"}},
{"traceId":"463ac35c9f6413ad","parentId":"6b221d5bc9e6496c","id":"a2fb4a1d1a96d312","kind":"CLIENT","name":"get /api","timestamp":1700000000001000,"duration":20000,
 "localEndpoint":{"serviceName":"frontend","ipv4":"192.168.99.1","port":8080},
 "remoteEndpoint":{"serviceName":"backend","ipv4":"192.168.99.101","port":9000},
 "annotations":[{"timestamp":1700000000001500,"value":"ws"}],
 "tags":{"http.method":"GET","http.path":"/api"}},
{"traceId":"463ac35c9f6413ad","parentId":"6b221d5bc9e6496c","id":"a2fb4a1d1a96d312","kind":"SERVER","name":"get /api","timestamp":1700000000002000,"duration":18000,
 "localEndpoint":{"serviceName":"backend","ipv6":"2001:db8::c001","port":9000},
 "remoteEndpoint":{"ipv4":"192.168.99.1"},
 "tags":{"error":"boom","http.path":"/api"},"shared":true},
{"traceId":"463ac35c9f6413ad","parentId":"a2fb4a1d1a96d312","id":"0000000000000007","name":"local work","timestamp":1700000000003000,"duration":1000,
 "localEndpoint":{"serviceName":"backend"}}
]`

// TestZipkinRoundTrip posts Zipkin spans to the real Zipkin receiver,
// mounted beside the query API as the app mounts them, and reads them back:
// every field comes back as it was sent.
func TestZipkinRoundTrip(t *testing.T) {
	st, bkt := apitest.OpenStore(t)
	mux := http.NewServeMux()
	mux.Handle("/api/", zipkin.NewHTTPHandler(st, receive.Options{DefaultTenant: model.DefaultTenant}))
	h := newHandler(query.New(st, query.Options{}), Options{})
	h.now = func() time.Time { return time.UnixMicro(1700000000000000).Add(time.Minute) }
	mux.Handle("GET /api/v2/", h)

	req := httptest.NewRequest(http.MethodPost, "/api/v2/spans", strings.NewReader(zipkinTrace))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("POST spans: status %d: %s", rec.Code, rec.Body)
	}
	var sent []zSpan
	decodeStrict(t, []byte(zipkinTrace), &sent)

	check := func(t *testing.T) {
		for _, path := range []string{
			"/api/v2/trace/463ac35c9f6413ad",
			"/api/v2/trace/0000000000000000463ac35c9f6413ad",
			"/api/v2/traces?serviceName=backend&annotationQuery=error%3Dboom",
			"/api/v2/traceMany?traceIds=463ac35c9f6413ad",
		} {
			r := get(t, mux, path, "")
			if r.code != 200 {
				t.Fatalf("%s: status %d: %s", path, r.code, r.body)
			}
			var got []zSpan
			if strings.HasPrefix(r.body, "[[") {
				var traces [][]zSpan
				decodeStrict(t, []byte(r.body), &traces)
				if len(traces) != 1 {
					t.Fatalf("%s: %d traces", path, len(traces))
				}
				got = traces[0]
			} else {
				decodeStrict(t, []byte(r.body), &got)
			}
			compareSpans(t, path, got, sent)
		}
		r := get(t, mux, "/api/v2/remoteServices?serviceName=frontend", "")
		if r.body != `["backend"]` {
			t.Errorf("remote services %s", r.body)
		}
	}
	t.Run("head", check)
	apitest.CutToBlocks(t, st, bkt)
	t.Run("blocks", check)
}

// compareSpans checks that got holds exactly the spans of want, in any order.
func compareSpans(t *testing.T, what string, got, want []zSpan) {
	t.Helper()
	key := func(s zSpan) string { return s.ID + s.Kind }
	sortSpans := func(ss []zSpan) {
		slices.SortFunc(ss, func(a, b zSpan) int { return strings.Compare(key(a), key(b)) })
	}
	sortSpans(got)
	sortSpans(want)
	g, _ := json.MarshalIndent(got, "", " ")
	w, _ := json.MarshalIndent(want, "", " ")
	if !bytes.Equal(g, w) {
		t.Errorf("%s: spans differ\n got %s\nwant %s", what, g, w)
	}
}
