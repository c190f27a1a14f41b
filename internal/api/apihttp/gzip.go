package apihttp

import (
	"net/http"

	"github.com/klauspost/compress/gzhttp"
	"github.com/klauspost/compress/gzip"
)

// gzipMinSize is the smallest response Gzip compresses: below it the
// header costs more than compression saves.
const gzipMinSize = 1024

// Gzip wraps h so that responses of at least 1 KiB are gzip-compressed
// when the request accepts gzip, at the fastest level: a trace's JSON
// shrinks about sixfold for the price of a few milliseconds per megabyte.
// Responses that already carry a Content-Encoding pass through untouched.
func Gzip(h http.Handler) http.Handler {
	wrap, err := gzhttp.NewWrapper(gzhttp.MinSize(gzipMinSize), gzhttp.CompressionLevel(gzip.BestSpeed))
	if err != nil {
		// Only invalid options fail, and these are constants that the
		// package's tests exercise.
		return h
	}
	return wrap(h)
}
