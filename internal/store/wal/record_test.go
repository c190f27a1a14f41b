package wal

import (
	"bytes"
	"encoding/hex"
	"testing"
)

func TestAppendRecordLayout(t *testing.T) {
	// CRC32C values checked with an independent bitwise implementation.
	hello := "01000547d25eba68656c6c6f" // the example in the format document
	tests := []struct {
		name    string
		off     int64
		rec     string
		want    string // hex
		wantOff int64
	}{
		{"hello_at_start", 0, "hello", hello, 12},
		{"empty_record", 0, "", "010000" + "c5253104", 7},
		{"padding_before_page_end", PageSize - 7, "hello", "00000000000000" + hello, PageSize + 12},
		{"split_across_pages", PageSize - 10, "hello",
			"02000301c59067" + "68656c" + // first: "hel" fills the page
				"040002" + "868fb2ac" + "6c6f", // last: "lo"
			PageSize + 9},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, off := appendRecord([]byte("prefix"), tc.off, []byte(tc.rec))
			if !bytes.HasPrefix(got, []byte("prefix")) {
				t.Fatal("appendRecord overwrote dst")
			}
			if h := hex.EncodeToString(got[len("prefix"):]); h != tc.want {
				t.Errorf("bytes = %s, want %s", h, tc.want)
			}
			if off != tc.wantOff {
				t.Errorf("offset = %d, want %d", off, tc.wantOff)
			}
		})
	}
}
