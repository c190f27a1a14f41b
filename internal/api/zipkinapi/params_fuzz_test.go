package zipkinapi

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func FuzzParseAnnotationQuery(f *testing.F) {
	for _, s := range []string{"", "http.uri=/foo and retried", "error", "a=b=c", "=x", "a and  and b", " and ", "k= and v"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		terms, err := parseAnnotationQuery(s)
		if err != nil {
			return
		}
		if len(terms) > maxAnnotationTerm {
			t.Fatalf("%d terms accepted", len(terms))
		}
		for _, term := range terms {
			if term.key == "" || strings.Contains(term.key, "=") {
				t.Fatalf("term %+v of %q has a bad key", term, s)
			}
			if term.bare && term.value != "" {
				t.Fatalf("bare term %+v of %q has a value", term, s)
			}
		}
	})
}

func FuzzParseTraceIDs(f *testing.F) {
	for _, s := range []string{traceA, traceB, traceA + "," + traceB, "abc,abc", ",", "0", "zz", strings.Repeat("f", 33)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids, err := parseTraceIDs(s)
		if err != nil {
			return
		}
		if len(ids) == 0 || len(ids) > maxTraceIDs {
			t.Fatalf("%q gave %d ids", s, len(ids))
		}
		seen := map[string]bool{}
		for _, id := range ids {
			if id.IsZero() || seen[id.String()] {
				t.Fatalf("%q gave a zero or repeated id %s", s, id)
			}
			seen[id.String()] = true
		}
	})
}

// FuzzQueryRoutes sends arbitrary query strings to every route: the answer
// is a 200 with JSON, or a 400/404 with a message, never a 5xx or a panic.
func FuzzQueryRoutes(f *testing.F) {
	seeds := []string{
		"serviceName=frontend&spanName=get+%2Fcart&annotationQuery=http.uri%3D%2Ffoo+and+retried&minDuration=10&maxDuration=100&endTs=1700000003600000&lookback=3600000&limit=5",
		"remoteServiceName=mysql&limit=1",
		"traceIds=" + traceA + "," + traceB,
		"endTs=1700000003600000&lookback=86400000",
		"key=http.method",
		"endTs=-1&limit=0&minDuration=x",
		"endTs=18446744073709551615&lookback=18446744073709551615",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	h, _ := newTestHandler(nil)
	routes := []string{"services", "spans", "remoteServices", "traces", "trace/" + traceA, "traceMany", "dependencies", "autocompleteKeys", "autocompleteValues"}
	f.Fuzz(func(t *testing.T, raw string) {
		if _, err := url.ParseQuery(raw); err != nil {
			return
		}
		for _, route := range routes {
			req := httptest.NewRequest(http.MethodGet, "/api/v2/"+route, nil)
			req.URL.RawQuery = raw
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			switch rec.Code {
			case http.StatusOK, http.StatusBadRequest, http.StatusNotFound:
			default:
				t.Fatalf("%s?%s: status %d: %s", route, raw, rec.Code, rec.Body)
			}
		}
	})
}
