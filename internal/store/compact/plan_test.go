package compact

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"waymark/internal/store/block"
)

// planMeta returns a block meta of tenant whose newest span is at max.
func planMeta(tenant, id string, level int, spans int64, max time.Time) block.Meta {
	return block.Meta{Version: block.FormatVersion, ID: id, Tenant: tenant, Level: level, SpanCount: spans, TraceCount: 1,
		MinTimeUnixNano: uint64(max.Add(-time.Minute).UnixNano()), MaxTimeUnixNano: uint64(max.UnixNano())}
}

func groupIDs(gs []Group) []string {
	var out []string
	for _, g := range gs {
		var ids []string
		for _, m := range g.Inputs {
			ids = append(ids, m.ID)
		}
		out = append(out, fmt.Sprintf("%s L%d %v", g.Tenant, g.Level, ids))
	}
	return out
}

func TestPlan(t *testing.T) {
	hour := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	open := hour.Add(30 * time.Minute)            // the 10:00 window is still open
	closed := hour.Add(time.Hour + 6*time.Minute) // past 11:00 plus the 5 minute grace
	at := func(min int) time.Time { return hour.Add(time.Duration(min) * time.Minute) }
	opts := Options{MinInputs: 3, MaxBlockSpans: 1000}
	tests := []struct {
		name  string
		metas []block.Meta
		now   time.Time
		want  []string
	}{
		{"nothing", nil, open, nil},
		{"open window below min inputs", []block.Meta{
			planMeta("t", "a", 0, 10, at(1)), planMeta("t", "b", 0, 10, at(2)),
		}, open, nil},
		{"open window merges one level", []block.Meta{
			planMeta("t", "c", 0, 10, at(3)), planMeta("t", "a", 0, 10, at(1)), planMeta("t", "b", 0, 10, at(2)),
			planMeta("t", "x", 1, 30, at(0)),
		}, open, []string{"t L1 [a b c]"}},
		{"grace keeps a window open", []block.Meta{
			planMeta("t", "a", 0, 10, at(1)), planMeta("t", "b", 1, 10, at(2)),
		}, hour.Add(time.Hour + 4*time.Minute), nil},
		{"closed window merges every level", []block.Meta{
			planMeta("t", "a", 0, 10, at(1)), planMeta("t", "b", 2, 10, at(2)),
		}, closed, []string{"t L3 [a b]"}},
		{"windows and tenants stay apart, oldest window first", []block.Meta{
			planMeta("t", "late", 0, 10, at(70)), planMeta("t", "a", 0, 10, at(1)), planMeta("u", "b", 0, 10, at(2)),
			planMeta("t", "late2", 0, 10, at(75)), planMeta("u", "c", 0, 10, at(3)),
		}, hour.Add(2*time.Hour + 6*time.Minute), []string{"u L1 [b c]", "t L1 [late late2]"}},
		{"span limit splits and skips full blocks", []block.Meta{
			planMeta("t", "a", 0, 600, at(1)), planMeta("t", "b", 0, 300, at(2)), planMeta("t", "c", 0, 300, at(3)),
			planMeta("t", "d", 0, 300, at(4)), planMeta("t", "full", 1, 1000, at(5)), planMeta("t", "e", 0, 100, at(6)),
		}, closed, []string{"t L1 [a b]", "t L1 [c d e]"}},
		{"a lone block that fits nothing stays", []block.Meta{
			planMeta("t", "a", 1, 900, at(1)), planMeta("t", "b", 0, 200, at(2)),
		}, closed, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := groupIDs(Plan(tc.metas, tc.now, opts))
			if !slices.Equal(got, tc.want) {
				t.Errorf("Plan = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPlanInputLimit(t *testing.T) {
	hour := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	var metas []block.Meta
	for i, id := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		metas = append(metas, planMeta("t", id, 0, 10, hour.Add(time.Duration(i+1)*time.Minute)))
	}
	tests := []struct {
		name      string
		maxInputs int
		want      []string
	}{
		{"groups of three, the last block left", 3, []string{"t L1 [a b c]", "t L1 [d e f]"}},
		{"groups of four", 4, []string{"t L1 [a b c d]", "t L1 [e f g]"}},
		{"default", 0, []string{"t L1 [a b c d e f g]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := groupIDs(Plan(metas, hour.Add(2*time.Hour), Options{MaxInputs: tc.maxInputs}))
			if !slices.Equal(got, tc.want) {
				t.Errorf("Plan = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPlanNeverRepeatsABlock(t *testing.T) {
	hour := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	var metas []block.Meta
	for i := 0; i < 200; i++ {
		metas = append(metas, planMeta("t", fmt.Sprintf("b%03d", i), i%3, int64(50+i*7%400), hour.Add(time.Duration(i)*time.Minute)))
	}
	for _, now := range []time.Time{hour.Add(time.Minute), hour.Add(3 * time.Hour), hour.Add(10 * time.Hour)} {
		seen := map[string]bool{}
		for _, g := range Plan(metas, now, Options{MaxBlockSpans: 1000}) {
			if len(g.Inputs) < 2 || len(g.Inputs) > DefaultMaxInputs || g.Spans() > 1000 {
				t.Errorf("group %s has %d inputs and %d spans", g, len(g.Inputs), g.Spans())
			}
			for _, m := range g.Inputs {
				if seen[m.ID] {
					t.Errorf("block %s planned twice", m.ID)
				}
				seen[m.ID] = true
				if g.Level <= m.Level {
					t.Errorf("group %s level does not exceed input level %d", g, m.Level)
				}
			}
		}
	}
}

// TestPlanMergesHeadCuts replays an hour of head cuts of 70,000 spans a
// minute under the default options, applying every planned compaction
// either as the cuts come or only once the window has closed, and checks
// that the window ends in as few blocks as the span limit allows.
func TestPlanMergesHeadCuts(t *testing.T) {
	const cut = 70_000
	hour := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		// whileOpen compacts after every cut.
		whileOpen bool
	}{
		{"compacted as the cuts come", true},
		{"a closed window's backlog", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var metas []block.Meta
			merges := 0
			// settle applies the compactions planned at now until none is due.
			settle := func(now time.Time) {
				for {
					groups := Plan(metas, now, Options{})
					if len(groups) == 0 {
						return
					}
					for _, g := range groups {
						if g.Spans() > DefaultMaxBlockSpans || len(g.Inputs) > DefaultMaxInputs {
							t.Fatalf("group %s merges %d blocks, %d spans", g, len(g.Inputs), g.Spans())
						}
						merges++
						out := planMeta(g.Tenant, fmt.Sprintf("m%03d", merges), g.Level, g.Spans(), time.Time{})
						out.MinTimeUnixNano, out.MaxTimeUnixNano = ^uint64(0), 0
						for _, m := range g.Inputs {
							out.MinTimeUnixNano = min(out.MinTimeUnixNano, m.MinTimeUnixNano)
							out.MaxTimeUnixNano = max(out.MaxTimeUnixNano, m.MaxTimeUnixNano)
							metas = slices.DeleteFunc(metas, func(x block.Meta) bool { return x.ID == m.ID })
						}
						metas = append(metas, out)
					}
				}
			}
			for i := range 60 {
				at := hour.Add(time.Duration(i)*time.Minute + 30*time.Second)
				metas = append(metas, planMeta("t", fmt.Sprintf("h%02d", i), 0, cut, at))
				if tc.whileOpen {
					settle(at)
					if len(metas) > 12 {
						t.Fatalf("%d blocks in the open window after %d cuts", len(metas), i+1)
					}
				}
			}
			settle(hour.Add(time.Hour + 6*time.Minute))
			var total int64
			for _, m := range metas {
				total += m.SpanCount
			}
			if total != 60*cut {
				t.Fatalf("window holds %d spans, want %d", total, 60*cut)
			}
			// 4.2 million spans need three blocks of at most 2 million.
			if len(metas) != 3 {
				t.Errorf("closed window ends in %d blocks, want 3: %v", len(metas), groupIDs([]Group{{Tenant: "t", Inputs: metas}}))
			}
		})
	}
}
