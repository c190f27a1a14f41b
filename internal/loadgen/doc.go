// Package loadgen generates tracing traffic for benchmarks and tests. Batches
// are encoded once from a template; every send copies the template and writes
// fresh trace and span IDs (and unique request IDs, for varied shapes) at the
// byte offsets where the template's values sit, and can move every span's
// start and end time, so each batch is unique, a short run can fill a long
// time range, and the generator itself costs little CPU and memory that does
// not grow with the number of spans sent.
package loadgen
