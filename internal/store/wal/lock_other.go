//go:build !unix

package wal

// lockDir does nothing on systems without flock; callers must not open one
// WAL directory twice.
func lockDir(string) (func() error, error) { return func() error { return nil }, nil }
