package main

import "testing"

const exposition = `# HELP waymark_store_blocks Open blocks of every tenant.
# TYPE waymark_store_blocks gauge
waymark_store_blocks 12
waymark_store_blocks_deleted_total{reason="compacted"} 8
waymark_store_blocks_deleted_total{reason="retention"} 2
waymark_compaction_runs_total 3
waymark_store_head_bytes 1.5e+07
bad_line_without_value
`

func TestParseExpositionAndSumSeries(t *testing.T) {
	m := parseExposition(exposition)
	tests := []struct {
		name   string
		metric string
		want   float64
		found  bool
	}{
		{name: "plain gauge", metric: "waymark_store_blocks", want: 12, found: true},
		{name: "every label value summed", metric: "waymark_store_blocks_deleted_total", want: 10, found: true},
		{name: "exponent", metric: "waymark_store_head_bytes", want: 1.5e7, found: true},
		{name: "a name that is only a prefix of others", metric: "waymark_store_blocks_deleted", found: false},
		{name: "absent", metric: "waymark_nothing", found: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, found := sumSeries(m, tt.metric)
			if got != tt.want || found != tt.found {
				t.Fatalf("sumSeries(%s) = %v, %v; want %v, %v", tt.metric, got, found, tt.want, tt.found)
			}
		})
	}
	if got := m[`waymark_store_blocks_deleted_total{reason="compacted"}`]; got != 8 {
		t.Fatalf("labelled series = %v, want 8", got)
	}
	if len(m) != 5 {
		t.Fatalf("%d series parsed, want 5: %v", len(m), m)
	}
}

func FuzzParseExposition(f *testing.F) {
	f.Add(exposition)
	f.Add("x 1\n y\n#z 3\n")
	f.Add(" 1")
	f.Fuzz(func(t *testing.T, text string) {
		for series := range parseExposition(text) {
			if series == "" {
				t.Fatal("empty series name")
			}
		}
	})
}
