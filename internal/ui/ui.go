package ui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

//go:embed static
var static embed.FS

// Options configures the UI handler. The zero value is usable.
type Options struct {
	// DefaultTenant is the tenant the UI reads when its URL names none;
	// empty lets the server apply its own default.
	DefaultTenant string
	// Tenants are offered in the tenant selector (any other can be typed).
	Tenants []string
	// Version is shown in the UI's footer.
	Version string
	// Logger receives request errors; nil discards them.
	Logger *slog.Logger
}

// config is what index.html hands the app, as JSON.
type config struct {
	DefaultTenant string   `json:"defaultTenant"`
	Tenants       []string `json:"tenants"`
	Version       string   `json:"version"`
	StaticPrefix  string   `json:"staticPrefix"`
}

// asset is one prepared response body.
type asset struct {
	body        []byte
	gzipped     []byte // nil when compression does not pay
	contentType string
	etag        string
}

type handler struct {
	assets  map[string]*asset // by path below static/, without a leading slash
	index   *asset
	version string
	prefix  string // "/static/<version>/"
	log     *slog.Logger
}

// Placeholders in index.html that Handler fills in.
const (
	staticPlaceholder = "{{STATIC}}"
	configPlaceholder = "{{CONFIG}}"
)

// Handler returns the handler of the UI. Mount it at "/", after the API
// routes; it refuses methods other than GET and HEAD.
func Handler(opts Options) http.Handler {
	h, err := newHandler(static, opts)
	if err != nil {
		// The assets are compiled in, so this is a build defect that every
		// test of this package catches; still, answer rather than crash.
		log := opts.Logger
		if log == nil {
			log = slog.New(slog.DiscardHandler)
		}
		log.Error("web ui unavailable", "err", err)
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "web ui unavailable: "+err.Error(), http.StatusInternalServerError)
		})
	}
	return h
}

func newHandler(fsys fs.FS, opts Options) (*handler, error) {
	h := &handler{assets: make(map[string]*asset), log: opts.Logger}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	sub, err := fs.Sub(fsys, "static")
	if err != nil {
		return nil, fmt.Errorf("open static: %w", err)
	}
	// The version is a hash over every asset's name and content, so any
	// change to the UI moves every asset URL and old caches cannot mix in.
	all := sha256.New()
	var indexSrc []byte
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		fmt.Fprintf(all, "%s\x00%d\x00", p, len(b))
		all.Write(b)
		if p == "index.html" {
			indexSrc = b
			return nil
		}
		h.assets[p] = newAsset(p, b)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk static: %w", err)
	}
	if indexSrc == nil {
		return nil, fmt.Errorf("static has no index.html")
	}
	h.version = hex.EncodeToString(all.Sum(nil))[:12]
	h.prefix = "/static/" + h.version + "/"
	cfg, err := json.Marshal(config{DefaultTenant: opts.DefaultTenant, Tenants: opts.Tenants, Version: opts.Version, StaticPrefix: h.prefix})
	if err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	// json.Marshal escapes <, > and &, so the config cannot end the script
	// element it sits in.
	index := bytes.ReplaceAll(indexSrc, []byte(staticPlaceholder), []byte(strings.TrimSuffix(h.prefix, "/")))
	index = bytes.ReplaceAll(index, []byte(configPlaceholder), cfg)
	h.index = newAsset("index.html", index)
	return h, nil
}

func newAsset(name string, body []byte) *asset {
	sum := sha256.Sum256(body)
	a := &asset{body: body, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
	a.contentType = mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) {
	case ".js", ".mjs":
		a.contentType = "text/javascript; charset=utf-8"
	case ".html":
		a.contentType = "text/html; charset=utf-8"
	case ".css":
		a.contentType = "text/css; charset=utf-8"
	case ".svg":
		a.contentType = "image/svg+xml"
	}
	if a.contentType == "" {
		a.contentType = "application/octet-stream"
	}
	if len(body) >= 1024 {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(body)
		_ = zw.Close()
		if buf.Len() < len(body)*9/10 {
			a.gzipped = buf.Bytes()
		}
	}
	return a
}

// Cache policies.
const (
	cacheImmutable  = "public, max-age=31536000, immutable"
	cacheRevalidate = "no-cache"
)

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if p == "/api" || strings.HasPrefix(p, "/api/") {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if rest, ok := strings.CutPrefix(p, "/static/"); ok {
		version, name, _ := strings.Cut(rest, "/")
		a := h.assets[name]
		if a == nil {
			http.NotFound(w, r)
			return
		}
		// An asset asked for under an older version gets today's content,
		// but must not be cached as if it were that version's.
		policy := cacheRevalidate
		if version == h.version {
			policy = cacheImmutable
		}
		h.write(w, r, a, policy)
		return
	}
	if path.Ext(p) != "" {
		// A missing file (favicon.ico, a stale bundle) must not get HTML.
		http.NotFound(w, r)
		return
	}
	h.write(w, r, h.index, cacheRevalidate)
}

func (h *handler) write(w http.ResponseWriter, r *http.Request, a *asset, policy string) {
	hd := w.Header()
	hd.Set("Content-Type", a.contentType)
	hd.Set("Cache-Control", policy)
	hd.Set("ETag", a.etag)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Vary", "Accept-Encoding")
	if a == h.index {
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'")
		hd.Set("Referrer-Policy", "same-origin")
	}
	if etagMatches(r.Header.Get("If-None-Match"), a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.body
	if a.gzipped != nil && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		body = a.gzipped
		hd.Set("Content-Encoding", "gzip")
	}
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if _, err := w.Write(body); err != nil {
		h.log.Debug("write ui asset", "path", r.URL.Path, "err", err)
	}
}

// etagMatches reports whether an If-None-Match header lists etag (weak
// comparison, as RFC 9110 prescribes for If-None-Match) or is "*".
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") && strings.TrimSpace(name) != "*" {
			continue
		}
		q := strings.ReplaceAll(params, " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}
