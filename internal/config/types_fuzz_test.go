package config

import "testing"

func FuzzTenantDurations(f *testing.F) {
	for _, s := range []string{"acme=720h", "a=1h,b=90m", " b=2h , a=3600,", "a", "=1h", "a=1h,a=2h", "a=1h=2h", "a=-5m", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var m TenantDurations
		if err := m.Set(s); err != nil {
			return
		}
		var again TenantDurations
		if err := again.Set(m.String()); err != nil {
			t.Fatalf("Set(%q) of the formatted %q: %v", m.String(), s, err)
		}
		if again.String() != m.String() {
			t.Fatalf("round trip of %q: %q then %q", s, m.String(), again.String())
		}
	})
}
