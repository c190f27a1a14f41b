// Package app builds Waymark's roles (all-in-one, server, agent) from a
// Config: it opens the store, starts every listener on its configured port,
// and on cancellation shuts them down in order — receivers first, so nothing
// is acknowledged that is not durable, then the store.
//
// It is the only package that imports every other.
package app
