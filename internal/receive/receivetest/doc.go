// Package receivetest provides what receiver tests share: a Recorder
// consumer that keeps every batch it is given (or refuses them with a set
// error), and generators of span batches shaped like Waymark's reference
// workload. It is imported by tests only.
package receivetest
