// Package sample is the agent's consistent probabilistic head sampler. It
// decides per trace ID, so every agent running the same configuration keeps
// exactly the same traces and a kept trace is complete.
//
// Three modes are offered. "hash_seed" reproduces the OpenTelemetry
// Collector's probabilistic_sampler decision byte for byte (FNV-1a over the
// seed and trace ID) and writes the same OTEP 235 tracestate ("ot=rv:…;th:…")
// on kept spans. "equalizing" and "proportional" follow OTEP 235: the
// randomness is an incoming "rv" or the low 56 bits of the trace ID, and the
// threshold written in "th" lets every later stage compute the adjusted count
// 1/p. An incoming "th" is honoured with equalizing semantics and is never a
// reason to drop. The sampler fails open: a malformed tracestate or priority
// keeps the span and is counted, never dropped. The "sampling.priority" span
// attribute forces a keep (> 0) or a drop (0). The package does no I/O.
package sample
