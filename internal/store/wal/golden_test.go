package wal

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// goldenRecords are the records of the segments in testdata, written by
// the first version of the format: a small record, a record spanning two
// pages, an empty record and a last small one.
func goldenRecords() [][]byte {
	return [][]byte{
		[]byte("span-1"),
		bytes.Repeat([]byte("0123456789abcdef"), 2560), // 40 KiB
		{},
		[]byte("span-4"),
	}
}

// TestGoldenSegments replays segment files kept in testdata, so that a
// change of the format that would strand existing WALs fails here.
func TestGoldenSegments(t *testing.T) {
	want := goldenRecords()
	tests := []struct {
		file string
		want [][]byte
	}{
		{"intact.seg", want},
		{"torn.seg", want[:3]}, // the last record lost its final bytes
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := os.WriteFile(segmentPath(dir, 0), data, 0o644); err != nil {
				t.Fatal(err)
			}
			checkRecords(t, reopenAndReplay(t, dir, Options{}), tc.want)
		})
	}
	t.Run("encoder_matches", func(t *testing.T) {
		golden, err := os.ReadFile(filepath.Join("testdata", "intact.seg"))
		if err != nil {
			t.Fatal(err)
		}
		var data []byte
		var off int64
		for _, rec := range want {
			data, off = appendRecord(data, off, rec)
		}
		if !bytes.Equal(data, golden) {
			t.Fatal("the encoder no longer writes the golden segment byte for byte")
		}
	})
}
