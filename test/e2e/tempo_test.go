package e2e

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
)

func (s *server) tempoURL(path string) string {
	return "http://127.0.0.1:" + strconv.Itoa(s.ports.Tempo) + path
}

func getRaw(t *testing.T, url string, header ...string) (int, []byte, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

type tempoSearch struct {
	Traces []struct {
		TraceID           string `json:"traceID"`
		RootServiceName   string `json:"rootServiceName"`
		RootTraceName     string `json:"rootTraceName"`
		StartTimeUnixNano string `json:"startTimeUnixNano"`
		DurationMs        *int   `json:"durationMs"`
		SpanSets          []struct {
			Spans []struct {
				SpanID            string `json:"spanID"`
				Name              string `json:"name"`
				StartTimeUnixNano string `json:"startTimeUnixNano"`
				DurationNanos     string `json:"durationNanos"`
				Attributes        []struct {
					Key   string         `json:"key"`
					Value map[string]any `json:"value"`
				} `json:"attributes"`
			} `json:"spans"`
			Matched int `json:"matched"`
		} `json:"spanSets"`
		SpanSet *struct {
			Matched int `json:"matched"`
		} `json:"spanSet"`
		ServiceStats map[string]struct {
			SpanCount  int `json:"spanCount"`
			ErrorCount int `json:"errorCount"`
		} `json:"serviceStats"`
	} `json:"traces"`
	Metrics map[string]any `json:"metrics"`
}

// TestTempoAPI drives the Tempo HTTP API the way Grafana's Tempo data source
// does, over traces sent with the OpenTelemetry SDK.
func TestTempoAPI(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(s.otlpGRPCAddr()), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	tp := newProvider(t, exp, "shop")
	start := time.Now().Add(-2 * time.Minute).Truncate(time.Microsecond)
	sent := emitTrace(tp, "shop", start)
	other := emitTrace(tp, "shop", start.Add(time.Second))
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	id := sent.traceID.String()
	window := fmt.Sprintf("&start=%d&end=%d", start.Add(-time.Hour).Unix(), time.Now().Unix()+60)

	if code, body, _ := getRaw(t, s.tempoURL("/api/echo")); code != 200 || string(body) != "echo" {
		t.Errorf("/api/echo: %d %q", code, body)
	}
	if code, _, _ := getRaw(t, s.tempoURL("/ready")); code != 200 {
		t.Errorf("/ready: %d", code)
	}

	t.Run("trace by id, JSON dialect", func(t *testing.T) {
		var body struct {
			Batches []struct {
				ScopeSpans []struct {
					Spans []struct {
						TraceID string `json:"traceId"`
						SpanID  string `json:"spanId"`
						Kind    string `json:"kind"`
						Status  struct {
							Code string `json:"code"`
						} `json:"status"`
						StartTimeUnixNano string `json:"startTimeUnixNano"`
					} `json:"spans"`
				} `json:"scopeSpans"`
			} `json:"batches"`
		}
		if code := getJSON(t, s.tempoURL("/api/traces/"+id), &body); code != 200 {
			t.Fatalf("status %d", code)
		}
		n, kinds, errs := 0, map[string]bool{}, 0
		for _, b := range body.Batches {
			for _, ss := range b.ScopeSpans {
				for _, sp := range ss.Spans {
					n++
					raw, err := base64.StdEncoding.DecodeString(sp.TraceID)
					if err != nil || hex.EncodeToString(raw) != id {
						t.Errorf("traceId %q is not the base64 of %s", sp.TraceID, id)
					}
					kinds[sp.Kind] = true
					if sp.Status.Code == "STATUS_CODE_ERROR" {
						errs++
					}
					if _, err := strconv.ParseUint(sp.StartTimeUnixNano, 10, 64); err != nil {
						t.Errorf("startTimeUnixNano %q is not a decimal string", sp.StartTimeUnixNano)
					}
				}
			}
		}
		if n != 3 || !kinds["SPAN_KIND_SERVER"] || !kinds["SPAN_KIND_CLIENT"] || errs != 1 {
			t.Errorf("spans %d, kinds %v, errors %d", n, kinds, errs)
		}
	})

	t.Run("trace by id, protobuf", func(t *testing.T) {
		code, body, hdr := getRaw(t, s.tempoURL("/api/traces/"+strings.TrimLeft(id, "0")), "Accept", "application/protobuf")
		if code != 200 || !strings.Contains(hdr.Get("Content-Type"), "protobuf") {
			t.Fatalf("status %d, content type %q", code, hdr.Get("Content-Type"))
		}
		td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(body)
		if err != nil || td.SpanCount() != 3 {
			t.Fatalf("protobuf trace: %v, %d spans", err, td.SpanCount())
		}
		code, body, _ = getRaw(t, s.tempoURL("/api/v2/traces/"+id), "Accept", "application/protobuf")
		if code != 200 || len(body) < 10 || body[0] != 0x0a {
			t.Fatalf("v2 protobuf: status %d", code)
		}
	})

	t.Run("unknown trace", func(t *testing.T) {
		for _, p := range []string{"/api/traces/", "/api/v2/traces/"} {
			if code, _, _ := getRaw(t, s.tempoURL(p+"0123456789abcdef0123456789abcdef")); code != 404 {
				t.Errorf("%s unknown id: %d", p, code)
			}
		}
		if code, _, _ := getRaw(t, s.tempoURL("/api/traces/xyz")); code != 400 {
			t.Errorf("bad id: %d", code)
		}
	})

	search := func(t *testing.T, params string) tempoSearch {
		t.Helper()
		var r tempoSearch
		if code := getJSON(t, s.tempoURL("/api/search?"+params+window), &r); code != 200 {
			t.Fatalf("search %s: status %d", params, code)
		}
		return r
	}
	q := func(traceql string) string { return "q=" + url.QueryEscape(traceql) }

	t.Run("TraceQL search as Grafana's builder sends it", func(t *testing.T) {
		r := search(t, q(`{resource.service.name="shop" && status=error}`)+"&limit=20&spss=3")
		if len(r.Traces) != 2 {
			t.Fatalf("found %d traces, want 2", len(r.Traces))
		}
		tr := r.Traces[0]
		if tr.TraceID != other.traceID.String() {
			t.Errorf("newest first: got %s first, want %s", tr.TraceID, other.traceID)
		}
		if tr.RootServiceName != "shop" || tr.RootTraceName != "GET /checkout" || tr.DurationMs == nil || *tr.DurationMs != 100 {
			t.Errorf("summary: %+v", tr)
		}
		if ns, _ := strconv.ParseInt(tr.StartTimeUnixNano, 10, 64); ns != start.Add(time.Second).UnixNano() {
			t.Errorf("startTimeUnixNano = %s", tr.StartTimeUnixNano)
		}
		if len(tr.SpanSets) != 1 || len(tr.SpanSets[0].Spans) != 1 || tr.SpanSets[0].Spans[0].Name != "charge card" || tr.SpanSets[0].Matched != 1 {
			t.Errorf("spanSets = %+v", tr.SpanSets)
		}
		if tr.SpanSet == nil || tr.SpanSet.Matched != 1 {
			t.Errorf("deprecated spanSet missing")
		}
		if st := tr.ServiceStats["shop"]; st.SpanCount != 3 || st.ErrorCount != 1 {
			t.Errorf("serviceStats = %+v", tr.ServiceStats)
		}
	})

	t.Run("structural, regex, pipeline and limits", func(t *testing.T) {
		cases := []struct {
			query string
			want  int
		}{
			{`{ kind=server } >> { status=error }`, 2},
			{`{ kind=server } > { status=error }`, 0},
			{`{ name=~"GET .*" && span.http.response.status_code=200 }`, 2},
			{`{ span.retry=true } | count() > 0`, 2},
			{`{ } | count() > 3`, 0},
			{`{ duration > 60ms }`, 2},
			{`{ duration > 1s }`, 0},
			{`{ resource.service.name="nope" }`, 0},
		}
		for _, tc := range cases {
			if got := len(search(t, q(tc.query)).Traces); got != tc.want {
				t.Errorf("%s: %d traces, want %d", tc.query, got, tc.want)
			}
		}
		if got := len(search(t, q(`{}`)+"&limit=1").Traces); got != 1 {
			t.Errorf("limit=1 gave %d", got)
		}
	})

	t.Run("logfmt tags search", func(t *testing.T) {
		r := search(t, "tags="+url.QueryEscape(`service.name=shop name="charge card"`)+"&minDuration=40ms&maxDuration=60ms")
		if len(r.Traces) != 2 {
			t.Errorf("tags search found %d traces", len(r.Traces))
		}
	})

	t.Run("errors", func(t *testing.T) {
		cases := map[string]string{
			"bad TraceQL":     q(`{ status = }`),
			"both q and tags": q(`{}`) + "&tags=a=b",
			"zero limit":      "limit=0",
			"max below min":   "minDuration=2s&maxDuration=1s",
			"bad start":       "start=yesterday",
		}
		for name, params := range cases {
			code, body, _ := getRaw(t, s.tempoURL("/api/search?"+params))
			if code != 400 || len(strings.TrimSpace(string(body))) == 0 {
				t.Errorf("%s: status %d body %q", name, code, body)
			}
		}
		_, body, _ := getRaw(t, s.tempoURL("/api/search?"+q(`{ status = }`)))
		if !strings.Contains(string(body), "1:") {
			t.Errorf("TraceQL error lacks a position: %q", body)
		}
	})

	t.Run("tags and values", func(t *testing.T) {
		var v2 struct {
			Scopes []struct {
				Name string   `json:"name"`
				Tags []string `json:"tags"`
			} `json:"scopes"`
		}
		getJSON(t, s.tempoURL("/api/v2/search/tags?"+window[1:]), &v2)
		scopes := map[string][]string{}
		for _, sc := range v2.Scopes {
			scopes[sc.Name] = sc.Tags
		}
		if !contains(scopes["resource"], "service.name") || !contains(scopes["span"], "http.request.method") || !contains(scopes["intrinsic"], "status") {
			t.Errorf("v2 tags = %+v", scopes)
		}
		var v1 struct {
			TagNames []string `json:"tagNames"`
		}
		getJSON(t, s.tempoURL("/api/search/tags"), &v1)
		if !contains(v1.TagNames, "datacenter") {
			t.Errorf("v1 tags = %v", v1.TagNames)
		}
		var vals struct {
			TagValues []struct {
				Type  string `json:"type"`
				Value string `json:"value"`
			} `json:"tagValues"`
		}
		// Grafana encodes the tag path segment twice.
		getJSON(t, s.tempoURL("/api/v2/search/tag/"+url.PathEscape(url.PathEscape("span.http.response.status_code"))+"/values"), &vals)
		if len(vals.TagValues) != 1 || vals.TagValues[0].Type != "int" || vals.TagValues[0].Value != "200" {
			t.Errorf("typed values = %+v", vals.TagValues)
		}
		getJSON(t, s.tempoURL("/api/v2/search/tag/resource.service.name/values?q="+url.QueryEscape(`{status=error}`)), &vals)
		if len(vals.TagValues) != 1 || vals.TagValues[0].Value != "shop" {
			t.Errorf("filtered values = %+v", vals.TagValues)
		}
		var v1vals struct {
			TagValues []string `json:"tagValues"`
		}
		getJSON(t, s.tempoURL("/api/search/tag/datacenter/values"), &v1vals)
		if len(v1vals.TagValues) != 1 || v1vals.TagValues[0] != "dc-1" {
			t.Errorf("v1 values = %v", v1vals.TagValues)
		}
	})

	t.Run("tenants", func(t *testing.T) {
		if code, _, _ := getRaw(t, s.tempoURL("/api/traces/"+id), "X-Scope-OrgID", "other"); code != 404 {
			t.Errorf("tenant other reads the trace: %d", code)
		}
		var r tempoSearch
		getJSON(t, s.tempoURL("/api/search?q=%7B%7D"+window), &r, "X-Scope-OrgID", "other")
		if len(r.Traces) != 0 {
			t.Errorf("tenant other finds %d traces", len(r.Traces))
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
