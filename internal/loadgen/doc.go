// Package loadgen generates tracing traffic for benchmarks and tests. Batches
// are encoded once from a template; every send copies the template and writes
// fresh trace and span IDs at the byte offsets where the template's marker IDs
// sit, so each batch is unique while the generator itself costs little CPU.
package loadgen
