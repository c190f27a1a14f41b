package wal

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// segmentNameDigits is the width of the zero-padded decimal segment names.
const segmentNameDigits = 8

// segmentPath returns the path of segment index in dir.
func segmentPath(dir string, index int) string {
	return filepath.Join(dir, fmt.Sprintf("%0*d", segmentNameDigits, index))
}

// listSegments returns the indexes of the segment files in dir, ascending.
// Files whose names are not all decimal digits are not segments.
func listSegments(dir string) ([]int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list segments: %w", err)
	}
	var indexes []int
	for _, e := range entries {
		index, ok := parseSegmentName(e.Name())
		if ok && e.Type().IsRegular() {
			indexes = append(indexes, index)
		}
	}
	slices.Sort(indexes)
	return indexes, nil
}

// parseSegmentName returns the index a segment file name encodes.
func parseSegmentName(name string) (int, bool) {
	if len(name) < segmentNameDigits {
		return 0, false
	}
	for i := 0; i < len(name); i++ {
		if name[i] < '0' || name[i] > '9' {
			return 0, false
		}
	}
	index, err := strconv.Atoi(name)
	return index, err == nil
}

// createSegment creates the empty segment index in dir and makes its
// directory entry durable.
func createSegment(dir string, index int) (*os.File, error) {
	f, err := os.OpenFile(segmentPath(dir, index), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create segment %d: %w", index, err)
	}
	if err := syncDir(dir); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// syncDir fsyncs a directory so that file creations and removals in it
// survive a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory for sync: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	return nil
}
