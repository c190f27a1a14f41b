// Package configtest helps tests check Config.Validate implementations:
// every bad field must be reported by its YAML key. It is imported only by
// tests.
package configtest

import (
	"strings"
	"testing"
)

// WantErrors fails t unless err mentions every string in want; with no
// want, err must be nil.
func WantErrors(t testing.TB, err error, want ...string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("Validate() = %v, want nil", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("Validate() = nil, want errors mentioning %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Validate() error %q does not mention %q", err, w)
		}
	}
}
