package wal

import (
	"bytes"
	"encoding/hex"
	"fmt"
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

func TestFramedLen(t *testing.T) {
	sizes := []int{0, 1, headerSize, PageSize - 2*headerSize, PageSize - headerSize, PageSize, 3*PageSize + 1, 1 << 20}
	offsets := []int64{0, 1, PageSize - headerSize - 1, PageSize - headerSize, PageSize - 1, 5*PageSize + 123}
	for _, n := range sizes {
		for _, off := range offsets {
			t.Run(fmt.Sprintf("n=%d/off=%d", n, off), func(t *testing.T) {
				got, end := appendRecord(nil, off, make([]byte, n))
				if fl := framedLen(off, n); fl != len(got) || end != off+int64(fl) {
					t.Fatalf("framedLen = %d, end = %d; encoded %d bytes", fl, end, len(got))
				}
				if bound := maxFramedLen(n); len(got) > bound {
					t.Fatalf("encoded %d bytes, over the bound %d", len(got), bound)
				}
			})
		}
	}
}
