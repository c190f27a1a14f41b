// Package ui serves Waymark's web UI: hand-written HTML, CSS and JavaScript
// modules embedded in the binary, so a plain go build yields the whole UI.
//
// Handler serves the assets under a content-versioned prefix (/static/<v>/)
// that browsers may cache forever, and answers every other path that is not
// an asset with index.html, so the single-page app's deep links (/trace/…,
// /search?…) load directly. Paths under /api/ never fall through to the app:
// they get a plain 404, since the API is mounted separately. Responses are
// precompressed with gzip when the client accepts it and carry strong ETags.
package ui
