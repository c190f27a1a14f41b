package sample

import (
	"errors"
	"testing"
)

func TestParseTraceState(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		rv, th string // "" when absent
		out    string // re-encoding
	}{
		{"empty", "", "", "", ""},
		{"threshold only", "ot=th:8", "", "8", "ot=th:8"},
		{"both, reference order", "ot=rv:fdc80d0b42008d;th:fd74", "fdc80d0b42008d", "fd74", "ot=rv:fdc80d0b42008d;th:fd74"},
		{"any order", "ot=th:8;rv:ce929d0e0e4736", "ce929d0e0e4736", "8", "ot=rv:ce929d0e0e4736;th:8"},
		{"uppercase hex is read", "ot=th:C", "", "c", "ot=th:c"},
		{"extras kept", "ot=p:8;th:c;x:1", "", "c", "ot=th:c;p:8;x:1"},
		{"contiguous extras", "ot=a:1;b:2;th:c", "", "c", "ot=th:c;a:1;b:2"},
		{"other vendors kept", "congo=t61rcWkgMzE,ot=th:8,rojo=00f067aa0ba902b7", "", "8", "ot=th:8,congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"},
		{"no ot", "congo=t61rcWkgMzE", "", "", "congo=t61rcWkgMzE"},
		{"whitespace around members", "ot=th:8 , rojo=1", "", "8", "ot=th:8, rojo=1"},
		{"multi-tenant key", "t@sys=v,ot=th:0", "", "0", "ot=th:0,t@sys=v"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, err := ParseTraceState(tt.in)
			if err != nil {
				t.Fatalf("ParseTraceState(%q): %v", tt.in, err)
			}
			if got := optional(ts.HasRV, ts.RV.String()); got != tt.rv {
				t.Errorf("rv = %q, want %q", got, tt.rv)
			}
			if got := optional(ts.HasTH, ts.TH.String()); got != tt.th {
				t.Errorf("th = %q, want %q", got, tt.th)
			}
			if got := ts.String(); got != tt.out {
				t.Errorf("String() = %q, want %q", got, tt.out)
			}
		})
	}
}

func optional(ok bool, s string) string {
	if ok {
		return s
	}
	return ""
}

func TestParseTraceStateErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"no equals", "ot"},
		{"empty key", "=x"},
		{"uppercase key", "OT=th:8"},
		{"empty ot", "ot="},
		{"ot without colon", "ot=th8"},
		{"bad sub-key", "ot=Th:8"},
		{"bad sub-value", "ot=x:a b"},
		{"short rv", "ot=rv:abc"},
		{"long th", "ot=th:fffffffffffffff"},
		{"non-hex th", "ot=th:zz"},
		{"duplicate th", "ot=th:8;th:c"},
		{"duplicate rv", "ot=rv:00000000000001;rv:00000000000002"},
		{"duplicate ot", "ot=th:8,ot=th:c"},
		{"trailing semicolon", "ot=th:8;"},
		{"comma in value", "a=b=c"},
		{"control character", "a=b\x01"},
		{"too many members", "a0=1,a1=1,a2=1,a3=1,a4=1,a5=1,a6=1,a7=1,a8=1,a9=1,b0=1,b1=1,b2=1,b3=1,b4=1,b5=1,b6=1,b7=1,b8=1,b9=1,c0=1,c1=1,c2=1,c3=1,c4=1,c5=1,c6=1,c7=1,c8=1,c9=1,d0=1,d1=1,d2=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseTraceState(tt.in); !errors.Is(err, ErrTraceState) {
				t.Errorf("ParseTraceState(%q) error = %v, want ErrTraceState", tt.in, err)
			}
		})
	}
}
