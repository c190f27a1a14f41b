package sample

import "testing"

func FuzzParseTraceState(f *testing.F) {
	for _, s := range []string{
		"",
		"ot=th:8",
		"ot=rv:fdc80d0b42008d;th:fd74",
		"ot=th:8;rv:ce929d0e0e4736",
		"congo=t61rcWkgMzE,ot=th:8;p:1,rojo=00f067aa0ba902b7",
		"ot=a:1;rv:00000000000001;b:2",
		" , ot=th:c ,",
		"t@sys=v",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		ts, err := ParseTraceState(in)
		if err != nil {
			return
		}
		out := ts.String()
		again, err := ParseTraceState(out)
		if err != nil {
			t.Fatalf("re-encoding %q of %q does not parse: %v", out, in, err)
		}
		if again.HasRV != ts.HasRV || again.RV != ts.RV || again.HasTH != ts.HasTH || again.TH != ts.TH {
			t.Fatalf("round trip of %q changed sampling values: %+v, then %+v", in, ts, again)
		}
		if again.String() != out {
			t.Fatalf("encoding is not stable: %q, then %q", out, again.String())
		}
	})
}
