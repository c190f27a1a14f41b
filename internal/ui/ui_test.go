package ui

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

func serve(t *testing.T, h http.Handler, method, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func testHandler(t *testing.T) *handler {
	t.Helper()
	h, err := newHandler(static, Options{DefaultTenant: "team-a", Tenants: []string{"team-a", "team-b"}, Version: "v-test"})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestRouting(t *testing.T) {
	h := testHandler(t)
	js := h.prefix + "js/main.js"
	tests := []struct {
		name        string
		method      string
		path        string
		code        int
		contentType string
		cache       string
		bodyHas     string
	}{
		{"root is the app", "GET", "/", 200, "text/html; charset=utf-8", cacheRevalidate, `id="view"`},
		{"deep link is the app", "GET", "/trace/4bf92f3577b34da6a3ce929d0e0e4736?span=00f067aa0ba902b7", 200, "text/html; charset=utf-8", cacheRevalidate, `id="view"`},
		{"search link is the app", "GET", "/search?service=cart", 200, "text/html; charset=utf-8", cacheRevalidate, `id="view"`},
		{"versioned asset is immutable", "GET", js, 200, "text/javascript; charset=utf-8", cacheImmutable, "route()"},
		{"stylesheet", "GET", h.prefix + "app.css", 200, "text/css; charset=utf-8", cacheImmutable, ":root"},
		{"icon", "GET", h.prefix + "favicon.svg", 200, "image/svg+xml", cacheImmutable, "<svg"},
		{"old version revalidates", "GET", "/static/0123456789ab/js/main.js", 200, "text/javascript; charset=utf-8", cacheRevalidate, "route()"},
		{"missing asset is 404", "GET", h.prefix + "js/nope.js", 404, "", "", ""},
		{"index is not an asset", "GET", h.prefix + "index.html", 404, "", "", ""},
		{"missing file at root is 404", "GET", "/favicon.ico", 404, "", "", ""},
		{"api never falls through", "GET", "/api/nothing", 404, "", "", ""},
		{"api root never falls through", "GET", "/api", 404, "", "", ""},
		{"api waymark never falls through", "GET", "/api/waymark/zzz", 404, "", "", ""},
		{"head has no body", "HEAD", "/", 200, "text/html; charset=utf-8", cacheRevalidate, ""},
		{"post refused", "POST", "/", 405, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(t, h, tt.method, tt.path)
			if w.Code != tt.code {
				t.Fatalf("code = %d, want %d", w.Code, tt.code)
			}
			if tt.contentType != "" && w.Header().Get("Content-Type") != tt.contentType {
				t.Errorf("content type = %q, want %q", w.Header().Get("Content-Type"), tt.contentType)
			}
			if tt.cache != "" && w.Header().Get("Cache-Control") != tt.cache {
				t.Errorf("cache = %q, want %q", w.Header().Get("Cache-Control"), tt.cache)
			}
			if tt.bodyHas != "" && !strings.Contains(w.Body.String(), tt.bodyHas) {
				t.Errorf("body lacks %q", tt.bodyHas)
			}
			if tt.method == "HEAD" && w.Body.Len() != 0 {
				t.Errorf("HEAD returned %d body bytes", w.Body.Len())
			}
			if tt.code == 404 && strings.Contains(w.Body.String(), `id="view"`) {
				t.Errorf("404 served the app")
			}
		})
	}
}

func TestIndexInjection(t *testing.T) {
	h := testHandler(t)
	body := serve(t, h, "GET", "/").Body.String()
	if strings.Contains(body, staticPlaceholder) || strings.Contains(body, configPlaceholder) {
		t.Fatal("placeholders left in index.html")
	}
	if !strings.Contains(body, `src="`+h.prefix+`js/main.js"`) {
		t.Errorf("index does not load the versioned main.js (%s)", h.prefix)
	}
	m := regexp.MustCompile(`(?s)<script id="waymark-config" type="application/json">(.*?)</script>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no config script")
	}
	var cfg config
	if err := json.Unmarshal([]byte(m[1]), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.DefaultTenant != "team-a" || len(cfg.Tenants) != 2 || cfg.Version != "v-test" || cfg.StaticPrefix != h.prefix {
		t.Errorf("config = %+v", cfg)
	}
}

func TestConfigCannotBreakOutOfScript(t *testing.T) {
	h, err := newHandler(static, Options{Version: "</script><script>alert(1)</script>"})
	if err != nil {
		t.Fatal(err)
	}
	body := serve(t, h, "GET", "/").Body.String()
	if strings.Contains(body, "<script>alert(1)") {
		t.Fatal("version escaped the config script element")
	}
}

func TestAssetsReferencedExist(t *testing.T) {
	// Every relative module import and every index.html asset must resolve,
	// or the browser fails to load the app.
	h := testHandler(t)
	importRe := regexp.MustCompile(`(?m)^\s*import\s[^'"]*['"](\./[^'"]+)['"]`)
	for name, a := range h.assets {
		if !strings.HasSuffix(name, ".js") {
			continue
		}
		dir := name[:strings.LastIndex(name, "/")+1]
		for _, m := range importRe.FindAllStringSubmatch(string(a.body), -1) {
			target := dir + strings.TrimPrefix(m[1], "./")
			if h.assets[target] == nil {
				t.Errorf("%s imports %s, which is not embedded", name, target)
			}
		}
	}
	for _, m := range regexp.MustCompile(`(?:href|src)="/static/[0-9a-f]+/([^"]+)"`).FindAllStringSubmatch(string(h.index.body), -1) {
		if h.assets[m[1]] == nil {
			t.Errorf("index.html references %s, which is not embedded", m[1])
		}
	}
}

func TestNoExternalResources(t *testing.T) {
	h := testHandler(t)
	ext := regexp.MustCompile(`(?i)(?:src|href)\s*=\s*["']?(?:https?:)?//|@import\s+url\(\s*["']?https?:|fetch\(\s*["']https?:`)
	for name, a := range h.assets {
		if loc := ext.FindIndex(a.body); loc != nil {
			t.Errorf("%s loads an external resource: %q", name, a.body[loc[0]:min(loc[1]+40, len(a.body))])
		}
	}
}

func TestConditionalAndCompressed(t *testing.T) {
	h := testHandler(t)
	path := h.prefix + "js/trace.js"
	first := serve(t, h, "GET", path, "Accept-Encoding", "gzip, deflate, br")
	if first.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("no gzip for a large script; headers %v", first.Header())
	}
	zr, err := gzip.NewReader(first.Body)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := fs.ReadFile(static, "static/js/trace.js")
	if !bytes.Equal(plain, raw) {
		t.Fatal("gzip body differs from the asset")
	}
	etag := first.Header().Get("ETag")
	tests := []struct {
		name   string
		header []string
		code   int
		gz     bool
	}{
		{"matching etag", []string{"If-None-Match", etag}, 304, false},
		{"weak matching etag in a list", []string{"If-None-Match", `"x", W/` + etag}, 304, false},
		{"other etag", []string{"If-None-Match", `"other"`}, 200, false},
		{"gzip refused with q=0", []string{"Accept-Encoding", "gzip;q=0, identity"}, 200, false},
		{"no accept-encoding", nil, 200, false},
		{"wildcard encoding", []string{"Accept-Encoding", "*"}, 200, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(t, h, "GET", path, tt.header...)
			if w.Code != tt.code {
				t.Fatalf("code = %d, want %d", w.Code, tt.code)
			}
			if got := w.Header().Get("Content-Encoding") == "gzip"; got != tt.gz {
				t.Errorf("gzip = %v, want %v", got, tt.gz)
			}
			if tt.code == 200 && !tt.gz && !bytes.Equal(w.Body.Bytes(), raw) {
				t.Errorf("identity body differs from the asset")
			}
		})
	}
}

func TestVersionFollowsContent(t *testing.T) {
	fsA := fstest.MapFS{"static/index.html": {Data: []byte("<p>{{STATIC}}</p>{{CONFIG}}")}, "static/a.js": {Data: []byte("1")}}
	fsB := fstest.MapFS{"static/index.html": {Data: []byte("<p>{{STATIC}}</p>{{CONFIG}}")}, "static/a.js": {Data: []byte("2")}}
	a, err := newHandler(fsA, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := newHandler(fsB, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a.version == b.version {
		t.Fatal("changing an asset did not change the version")
	}
	if _, err := newHandler(fstest.MapFS{"static/a.js": {Data: []byte("1")}}, Options{}); err == nil {
		t.Fatal("missing index.html accepted")
	}
}

func TestAcceptsGzip(t *testing.T) {
	tests := []struct {
		header string
		want   bool
	}{
		{"", false},
		{"gzip", true},
		{"GZIP", true},
		{"br, gzip;q=0.5", true},
		{"gzip;q=0", false},
		{"gzip; q=0.000", false},
		{"deflate", false},
		{"*", true},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			if got := acceptsGzip(tt.header); got != tt.want {
				t.Fatalf("acceptsGzip(%q) = %v, want %v", tt.header, got, tt.want)
			}
		})
	}
}
