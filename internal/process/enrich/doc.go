// Package enrich adds the agent's own resource attributes (region,
// datacenter, node, cluster and any configured extras) to spans whose
// resource lacks them, and applies attribute rules: rename, delete, or
// replace by a SHA-256 hash (for example to drop
// http.request.header.authorization before it leaves the node). Attributes
// a sender already set are never overwritten by the added ones. Shared
// resources are copied, never changed in place. The package does no I/O.
package enrich
