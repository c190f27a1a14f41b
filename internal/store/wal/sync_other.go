//go:build !linux

package wal

import "os"

// fdatasync flushes f to stable storage; systems without fdatasync use fsync.
func fdatasync(f *os.File) error { return f.Sync() }
