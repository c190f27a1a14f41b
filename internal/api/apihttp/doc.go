// Package apihttp holds the HTTP plumbing every Waymark query API shares:
// resolving a request's tenant from its headers, mapping errors to HTTP
// status codes (400 for bad parameters, 404 for a missing trace, 503 with
// Retry-After for an overloaded store, 504 for a deadline, 500 otherwise),
// per-route request metrics, and gzip compression of responses for
// clients that accept it. It carries no API's wire format.
package apihttp
