package jsonenc

import (
	"encoding/json"
	"math"
	"testing"
	"unicode/utf8"
)

func TestAppendString(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "GET /cart", `"GET /cart"`},
		{"quote and backslash", `a"b\c`, `"a\"b\\c"`},
		{"newline tab cr", "a\nb\tc\rd", `"a\nb\tc\rd"`},
		{"control", "\x01", `"\u0001"`},
		{"invalid utf8", "a\xffb", `"a\ufffdb"`},
		{"line separator", "a\u2028b", `"a\u2028b"`},
		{"unicode kept", "héllo", `"héllo"`},
		{"empty", "", `""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(AppendString(nil, tt.in)); got != tt.want {
				t.Errorf("AppendString(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestAppendStrings(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want string
	}{
		{"nil", nil, `[]`},
		{"two", []string{"a", "b\""}, `["a","b\""]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(AppendStrings(nil, tt.in)); got != tt.want {
				t.Errorf("AppendStrings(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestAppendFloat(t *testing.T) {
	tests := []struct {
		name string
		in   float64
		want string
	}{
		{"integer", 3, "3"},
		{"fraction", 0.25, "0.25"},
		{"tiny", 1e-7, "1e-7"},
		{"huge", 1e22, "1e+22"},
		{"nan", math.NaN(), `"NaN"`},
		{"inf", math.Inf(1), `"+Inf"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(AppendFloat(nil, tt.in))
			if got != tt.want {
				t.Errorf("AppendFloat(%v) = %s, want %s", tt.in, got, tt.want)
			}
			if !math.IsNaN(tt.in) && !math.IsInf(tt.in, 0) {
				std, _ := json.Marshal(tt.in)
				if got != string(std) {
					t.Errorf("AppendFloat(%v) = %s, encoding/json gives %s", tt.in, got, std)
				}
			}
		})
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "GET /cart", "a\"b\\c\n", "\xff\xfe", "\u2028", "日本"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("AppendString(%q) = %s is not JSON: %v", s, out, err)
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("round trip of %q gave %q", s, back)
		}
		if !utf8.ValidString(back) {
			t.Fatalf("round trip of %q gave invalid UTF-8 %q", s, back)
		}
	})
}
