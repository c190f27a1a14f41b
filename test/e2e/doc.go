// Package e2e holds tests that cross Waymark's packages: here, the agent's
// write path from the processing stages through the durable queue to an
// OTLP backend that is down and comes back.
package e2e
