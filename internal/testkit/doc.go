// Package testkit holds small helpers shared by Waymark's tests: checking
// that Config.Validate reports every bad field by its YAML key, and reading
// metrics from a test registry, and a Sink that records what a pipeline
// stage passes on. It is imported only by tests.
package testkit
