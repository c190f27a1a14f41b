package demo

import (
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Span attributes of the Envoy-like proxies (edge, gateway, sidecars), named
// as Envoy's tracers name them.
const (
	AttrRequestID       = "guid:x-request-id"
	AttrUpstreamCluster = "upstream_cluster"
	AttrResponseFlags   = "response_flags"
	AttrComponent       = "component"
)

// headerRequestID is the request ID header the edge assigns and every hop passes on.
const headerRequestID = "X-Request-Id"

// maxBodyBytes bounds a request body a proxy buffers (it keeps it to resend).
const maxBodyBytes = 1 << 20

// upstreamConnectError is the body of Envoy's local reply when the upstream
// connection fails.
const upstreamConnectError = "upstream connect error or disconnect/reset before headers. reset reason: connection failure"

// route sends requests matching a ServeMux pattern to an upstream cluster.
type route struct {
	// pattern is the ServeMux pattern, e.g. "GET /api/products/{sku}"; its
	// path part becomes http.route.
	pattern string
	// cluster is the upstream cluster name recorded as upstream_cluster.
	cluster string
	// upstream is the base URL of the cluster's one endpoint.
	upstream string
	// path is the upstream path; {name} segments are replaced by the
	// request's path values. Empty keeps the request path.
	path string
}

// proxy is an Envoy-like L7 proxy: one server span per downstream request
// (with upstream_cluster, http.route, guid:x-request-id), one client span per
// upstream attempt ("router <cluster> egress"), retries on 5xx, and an
// optional injected share of local 503 replies (response flag UF).
type proxy struct {
	in *instance
	// edge makes the proxy assign every request a fresh x-request-id and
	// the W3C traceresponse header; its spans start new traces.
	edge bool
	// failRate is the share of requests answered with an injected 503.
	failRate float64
}

// mux builds the proxy's handler for routes.
func (px *proxy) mux(routes []route) *http.ServeMux {
	mux := http.NewServeMux()
	for _, rt := range routes {
		mux.HandleFunc(rt.pattern, px.forward(rt))
	}
	return mux
}

func (px *proxy) forward(rt route) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		span := trace.SpanFromContext(ctx)
		reqID := r.Header.Get(headerRequestID)
		if px.edge || reqID == "" {
			reqID = uuid.NewString()
		}
		span.SetAttributes(
			attribute.String("http.route", routeOf(r)),
			attribute.String(AttrComponent, "proxy"),
			attribute.String(AttrUpstreamCluster, rt.cluster),
			attribute.String(AttrRequestID, reqID),
		)
		w.Header().Set(headerRequestID, reqID)
		if px.edge {
			w.Header().Set(headerTraceResponse, formatTraceResponse(span.SpanContext()))
		}
		if px.in.dice.chance(px.failRate) {
			span.SetAttributes(attribute.String(AttrResponseFlags, "UF"))
			http.Error(w, upstreamConnectError, http.StatusServiceUnavailable)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
		if err != nil || len(body) > maxBodyBytes {
			http.Error(w, "request body unreadable or over 1 MiB", http.StatusBadRequest)
			return
		}
		target := rt.upstream + expandPath(rt.path, r)
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		hdr := http.Header{headerRequestID: {reqID}}
		if ct := r.Header.Get("Content-Type"); ct != "" {
			hdr.Set("Content-Type", ct)
		}
		resp, err := px.in.caller.do(ctx, &call{
			method:   r.Method,
			url:      target,
			header:   hdr,
			body:     body,
			spanName: "router " + rt.cluster + " egress",
			attrs:    []attribute.KeyValue{attribute.String(AttrUpstreamCluster, rt.cluster), attribute.String(AttrRequestID, reqID)},
		})
		if err != nil {
			span.SetAttributes(attribute.String(AttrResponseFlags, "UF"))
			http.Error(w, upstreamConnectError, http.StatusServiceUnavailable)
			return
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}
}

// expandPath fills the {name} segments of tmpl with r's path values; an
// empty tmpl keeps r's path.
func expandPath(tmpl string, r *http.Request) string {
	if tmpl == "" {
		return r.URL.EscapedPath()
	}
	segs := strings.Split(tmpl, "/")
	for i, s := range segs {
		if len(s) > 2 && s[0] == '{' && s[len(s)-1] == '}' {
			segs[i] = url.PathEscape(r.PathValue(s[1 : len(s)-1]))
		}
	}
	return strings.Join(segs, "/")
}

// routeOf returns the path part of the ServeMux pattern that matched r, the
// http.route of the request.
func routeOf(r *http.Request) string {
	_, path, found := strings.Cut(r.Pattern, " ")
	if !found {
		return r.Pattern
	}
	return path
}
