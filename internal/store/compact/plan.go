package compact

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"waymark/internal/store/block"
)

// Defaults of Options.
const (
	DefaultWindow        = time.Hour
	DefaultMinInputs     = 4
	DefaultMaxBlockSpans = 2_000_000
	DefaultMaxInputs     = 8
	DefaultGrace         = 5 * time.Minute
)

// Options tune planning. Zero fields take the defaults.
type Options struct {
	// Window groups blocks by the window (aligned to the Unix epoch) their
	// newest span falls in; blocks of different windows are never merged,
	// so retention keeps deleting whole windows (default 1 hour).
	Window time.Duration
	// MinInputs is how many blocks of one level a window that is still
	// open must hold before they are merged into one block of the next
	// level (default 4).
	MinInputs int
	// MaxBlockSpans bounds the spans of a compacted block (default
	// 2,000,000, 35-120 MB on disk by span size). A compaction streams, so it
	// bounds block size rather than memory: fewer, larger blocks mean
	// fewer reads per trace lookup, larger ones a longer compaction.
	// Blocks this large are never inputs.
	MaxBlockSpans int64
	// MaxInputs bounds the blocks merged at once (default 8): each input
	// of a running merge holds a compressed row group and the rows being
	// decoded, some 5-15 MiB. A window with more blocks is merged in
	// several rounds.
	MaxInputs int
	// Grace is how long after its end a window stays open to new blocks
	// (default 5 minutes). Once closed, all its blocks are merged.
	Grace time.Duration
}

func (o *Options) setDefaults() {
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	if o.MinInputs < 2 {
		o.MinInputs = DefaultMinInputs
	}
	if o.MaxBlockSpans <= 0 {
		o.MaxBlockSpans = DefaultMaxBlockSpans
	}
	if o.MaxInputs < 2 {
		o.MaxInputs = DefaultMaxInputs
	}
	if o.Grace <= 0 {
		o.Grace = DefaultGrace
	}
}

// Group is one planned compaction: blocks of one tenant to merge into one.
type Group struct {
	// Tenant owns every input.
	Tenant string
	// Inputs are the blocks to merge, oldest data first.
	Inputs []block.Meta
	// Level is the level of the merged block: one more than the highest input.
	Level int
}

// String names the group's tenant, level and inputs for logs.
func (g Group) String() string {
	return fmt.Sprintf("%s: %d blocks -> level %d", g.Tenant, len(g.Inputs), g.Level)
}

// Spans returns the total span count of the inputs.
func (g Group) Spans() int64 {
	var n int64
	for _, m := range g.Inputs {
		n += m.SpanCount
	}
	return n
}

// windowKey identifies one tenant's window.
type windowKey struct {
	tenant string
	start  int64 // window index: max time / window
}

// Plan returns the compactions due at now among metas (blocks of any
// tenants), oldest windows first. In a window that is still open, blocks
// of one level are merged once there are MinInputs of them; in a closed
// window every block is merged, in as few blocks as MaxBlockSpans allows
// (over several rounds when there are more than MaxInputs). A block is in
// at most one group.
func Plan(metas []block.Meta, now time.Time, opts Options) []Group {
	opts.setDefaults()
	windows := make(map[windowKey][]block.Meta)
	for _, m := range metas {
		if m.SpanCount >= opts.MaxBlockSpans {
			continue
		}
		k := windowKey{m.Tenant, int64(m.MaxTimeUnixNano / uint64(opts.Window))}
		windows[k] = append(windows[k], m)
	}
	keys := make([]windowKey, 0, len(windows))
	for k := range windows {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b windowKey) int {
		if c := cmp.Compare(a.start, b.start); c != 0 {
			return c
		}
		return cmp.Compare(a.tenant, b.tenant)
	})
	var groups []Group
	for _, k := range keys {
		list := windows[k]
		slices.SortFunc(list, oldestFirst)
		end := time.Unix(0, (k.start+1)*int64(opts.Window))
		if !now.Before(end.Add(opts.Grace)) {
			groups = append(groups, chunk(k.tenant, list, opts)...)
			continue
		}
		byLevel := make(map[int][]block.Meta)
		for _, m := range list {
			byLevel[m.Level] = append(byLevel[m.Level], m)
		}
		levels := make([]int, 0, len(byLevel))
		for l := range byLevel {
			levels = append(levels, l)
		}
		slices.Sort(levels)
		for _, l := range levels {
			if len(byLevel[l]) >= opts.MinInputs {
				groups = append(groups, chunk(k.tenant, byLevel[l], opts)...)
			}
		}
	}
	return groups
}

// oldestFirst orders metas by their oldest span, then ID.
func oldestFirst(a, b block.Meta) int {
	if c := cmp.Compare(a.MinTimeUnixNano, b.MinTimeUnixNano); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// chunk splits list (sorted) into groups of two to opts.MaxInputs
// consecutive blocks whose span counts add up to at most opts.MaxBlockSpans.
func chunk(tenant string, list []block.Meta, opts Options) []Group {
	var out []Group
	var cur []block.Meta
	var spans int64
	flush := func() {
		if len(cur) >= 2 {
			g := Group{Tenant: tenant, Inputs: cur}
			for _, m := range cur {
				g.Level = max(g.Level, m.Level+1)
			}
			out = append(out, g)
		}
		cur, spans = nil, 0
	}
	for _, m := range list {
		if spans+m.SpanCount > opts.MaxBlockSpans || len(cur) == opts.MaxInputs {
			flush()
		}
		cur = append(cur, m)
		spans += m.SpanCount
	}
	flush()
	return out
}
