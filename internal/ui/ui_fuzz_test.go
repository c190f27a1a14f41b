package ui

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzServe feeds arbitrary paths and request headers to the handler: it
// must never panic, never serve the app under /api/, and answer 304 only
// to a matching validator.
func FuzzServe(f *testing.F) {
	h, err := newHandler(static, Options{})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][3]string{
		{"/", "", ""},
		{"/trace/abc", "gzip", ""},
		{h.prefix + "js/main.js", "gzip;q=0", h.assets["js/main.js"].etag},
		{"/api/traces", "*", "*"},
		{"/static//js/main.js", "br, gzip; q=0.5", `W/"x", "y"`},
		{"/static/", ",,;", ","},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, path, encoding, inm string) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		r, err := http.NewRequest("GET", "http://waymark.test", nil)
		if err != nil {
			t.Skip()
		}
		r.URL.Path = path
		r.Header.Set("Accept-Encoding", encoding)
		r.Header.Set("If-None-Match", inm)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if (path == "/api" || strings.HasPrefix(path, "/api/")) && w.Code != http.StatusNotFound {
			t.Fatalf("%q under /api/ answered %d", path, w.Code)
		}
		if w.Code == http.StatusNotModified && inm == "" {
			t.Fatalf("304 without If-None-Match for %q", path)
		}
	})
}
