package receive

import (
	"errors"
	"testing"

	"waymark/internal/receive/receivetest"
)

// FuzzReadBody feeds arbitrary bodies to every decompressor: ReadBody must
// return data within the limit or a classified error, never panic.
func FuzzReadBody(f *testing.F) {
	plain := []byte(`{"resourceSpans":[]}`)
	for _, enc := range []string{"gzip", "zlib", "raw-deflate", "zstd"} {
		f.Add(receivetest.Compress(f, enc, plain))
	}
	f.Add(plain)
	f.Fuzz(func(t *testing.T, body []byte) {
		const limit = 4096
		for _, enc := range []string{"", "gzip", "deflate", "zstd"} {
			got, err := ReadBody(newRequest(body, enc), limit)
			if err != nil {
				var (
					inv *InvalidError
					big *TooLargeError
				)
				if !errors.As(err, &inv) && !errors.As(err, &big) {
					t.Fatalf("%s: unclassified error %v", enc, err)
				}
				continue
			}
			if len(got) > limit {
				t.Fatalf("%s: %d bytes beyond the limit", enc, len(got))
			}
		}
	})
}
