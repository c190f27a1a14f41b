// Package apihttp holds the HTTP plumbing every Waymark query API shares:
// resolving a request's tenant from its headers, mapping errors to HTTP
// status codes (400 for bad parameters, 404 for a missing trace, 503 with
// Retry-After for an overloaded store, 504 for a deadline, 500 otherwise),
// and per-route request metrics. It carries no API's wire format.
package apihttp
