package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"waymark/internal/model"
	"waymark/internal/store/filter"
)

// TestSearchSkipsBlocksByTheirSummary writes four blocks whose spans carry
// a per-block batch value, one rare value in one block only, and a long
// value the summary cannot keep. Every search gives exactly what matching
// every stored span gives, and a search for a value only one block holds
// reads only that block.
func TestSearchSkipsBlocksByTheirSummary(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	rng := rand.New(rand.NewPCG(21, 22))
	base := uint64(time.Now().Add(-time.Hour).UnixNano())
	long := strings.Repeat("x", 300)
	var all []model.Span
	for b := range 4 {
		spans := genTraces(rng, 50, base+uint64(b)*1e9, 0)
		for i := range spans {
			sp := &spans[i]
			sp.Attributes = append(sp.Attributes, model.Attribute{Key: "batch", Value: model.StringValue("b" + strconv.Itoa(b))})
			if b == 2 && i == 7 {
				sp.Attributes = append(sp.Attributes, model.Attribute{Key: "tier", Value: model.StringValue("platinum")})
			}
			if b == 3 && i == 9 {
				sp.Attributes = append(sp.Attributes, model.Attribute{Key: "payload", Value: model.StringValue(long)})
			}
		}
		all = append(all, spans...)
		writeBlock(t, s, spans)
	}
	str := model.StringValue
	tests := []pruneCase{
		{"rare value in one block", cond1(filter.ScopeAny, "tier", filter.OpEq, str("platinum")), 1},
		{"rare value, span scope", cond1(filter.ScopeSpan, "tier", filter.OpEq, str("platinum")), 1},
		{"value no span has", cond1(filter.ScopeAny, "tier", filter.OpEq, str("gold")), 0},
		{"key no span has", cond1(filter.ScopeAny, "absent", filter.OpEq, str("x")), 0},
		{"key on the resource, not the span", cond1(filter.ScopeSpan, "datacenter", filter.OpEq, str("dc-1")), 0},
		{"resource value", cond1(filter.ScopeResource, "datacenter", filter.OpEq, str("dc-1")), 4},
		{"one block's value", cond1(filter.ScopeAny, "batch", filter.OpEq, str("b1")), 1},
		{"regex over two blocks", cond1(filter.ScopeAny, "batch", filter.OpRegex, str("b[02]")), 2},
		{"int attribute as text", cond1(filter.ScopeAny, "http.response.status_code", filter.OpEq, str("200")), 4},
		{"int attribute, no such value", cond1(filter.ScopeAny, "http.response.status_code", filter.OpEq, model.IntValue(500)), 0},
		{"exists in one block", cond1(filter.ScopeSpan, "tier", filter.OpExists, model.Value{}), 1},
		{"not-equal never skips", cond1(filter.ScopeAny, "tier", filter.OpNotEq, str("platinum")), 4},
		{"span name", cond1(filter.ScopeIntrinsic, "name", filter.OpEq, str("work")), 4},
		{"span name no span has", cond1(filter.ScopeIntrinsic, "name", filter.OpEq, str("POST /")), 0},
		// The long value is not in the summary: its block must be read;
		// the block's value filter rules out other values of the key.
		{"value the summary does not keep", cond1(filter.ScopeAny, "payload", filter.OpEq, str(long)), 1},
		{"other value of that key", cond1(filter.ScopeAny, "payload", filter.OpEq, str("short")), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req
			if err := req.Compile(); err != nil {
				t.Fatal(err)
			}
			want := matchingTraces(all, &req)
			before := testutil.ToFloat64(s.metrics.searchBlocksRead)
			got := search(t, s, "acme", req)
			if read := int(testutil.ToFloat64(s.metrics.searchBlocksRead) - before); read != tc.wantBlocks {
				t.Errorf("read %d blocks, want %d", read, tc.wantBlocks)
			}
			checkTraces(t, "Search", got, want)
		})
	}
}

// TestSearchSkipsBlocksByValueFilter writes six blocks whose spans carry a
// request ID per trace and a sequence number repeated in every block, both
// with more values per block than a summary lists. An equality search for
// one request ID reads only the block holding it, through Search and
// through a projected SearchSpans, and every search gives exactly what
// matching every stored span gives.
func TestSearchSkipsBlocksByValueFilter(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	defer s.Close()
	rng := rand.New(rand.NewPCG(31, 32))
	base := uint64(time.Now().Add(-time.Hour).UnixNano())
	const blocks = 6
	var all []model.Span
	for b := range blocks {
		spans := genTraces(rng, 250, base+uint64(b)*1e9, 0)
		for i := range spans {
			id := fmt.Sprintf("req-%d-%d", b, i/2) // genTraces gives 2 spans per trace
			spans[i].Attributes = append(spans[i].Attributes, model.Attribute{Key: "request.id", Value: model.StringValue(id)})
		}
		all = append(all, spans...)
		writeBlock(t, s, spans)
	}
	str := model.StringValue
	// The filter lets about 0.8 % of absent values through per block; the
	// data is fixed, so these values are known not to be among them.
	tests := []pruneCase{
		{"one request ID", cond1(filter.ScopeSpan, "request.id", filter.OpEq, str("req-3-42")), 1},
		{"one request ID, any scope", cond1(filter.ScopeAny, "request.id", filter.OpEq, str("req-4-7")), 1},
		{"request ID no span has", cond1(filter.ScopeAny, "request.id", filter.OpEq, str("req-9-1")), 0},
		{"request ID not equal", cond1(filter.ScopeAny, "request.id", filter.OpNotEq, str("req-3-42")), blocks},
		{"request ID regex", cond1(filter.ScopeAny, "request.id", filter.OpRegex, str("req-3-42$")), blocks},
		{"int in every block", cond1(filter.ScopeAny, "seq", filter.OpEq, model.IntValue(42)), blocks},
		{"int in every block, as text", cond1(filter.ScopeAny, "seq", filter.OpEq, str("42")), blocks},
		{"int no block has", cond1(filter.ScopeAny, "seq", filter.OpEq, model.IntValue(4001)), 0},
		{"int no block has, as text", cond1(filter.ScopeSpan, "seq", filter.OpEq, str("4001")), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req
			if err := req.Compile(); err != nil {
				t.Fatal(err)
			}
			want := matchingTraces(all, &req)
			projected := req
			projected.Projection = &filter.Projection{Fields: filter.FieldName}
			searches := map[string]func() []filter.Match{
				"Search": func() []filter.Match { return search(t, s, "acme", req) },
				"SearchSpans projected": func() []filter.Match {
					var got []filter.Match
					err := s.SearchSpans(ctx, "acme", projected, func(m filter.Match) bool { got = append(got, m); return true })
					if err != nil {
						t.Fatal(err)
					}
					return got
				},
			}
			for name, run := range searches {
				read0, skip0 := testutil.ToFloat64(s.metrics.searchBlocksRead), testutil.ToFloat64(s.metrics.searchBlocksSkip)
				got := run()
				read := int(testutil.ToFloat64(s.metrics.searchBlocksRead) - read0)
				skipped := int(testutil.ToFloat64(s.metrics.searchBlocksSkip) - skip0)
				if read != tc.wantBlocks || skipped != blocks-tc.wantBlocks {
					t.Errorf("%s: read %d blocks and skipped %d, want %d read", name, read, skipped, tc.wantBlocks)
				}
				checkTraces(t, name, got, want)
			}
		})
	}
}

// writeBlock stores spans of tenant "acme" in s and cuts them into a block.
func writeBlock(t *testing.T, s *Store, spans []model.Span) {
	t.Helper()
	ctx := context.Background()
	if err := s.Consume(ctx, model.Batch{Tenant: "acme", Spans: append([]model.Span(nil), spans...)}); err != nil {
		t.Fatal(err)
	}
	if err := s.CutHead(ctx); err != nil {
		t.Fatal(err)
	}
}

// matchingTraces returns the traces of all with a span matching req.
func matchingTraces(all []model.Span, req *filter.Request) map[model.TraceID]bool {
	want := map[model.TraceID]bool{}
	for i := range all {
		if req.MatchSpan(&all[i]) {
			want[all[i].TraceID] = true
		}
	}
	return want
}

// checkTraces fails unless got holds exactly the traces of want.
func checkTraces(t *testing.T, what string, got []filter.Match, want map[model.TraceID]bool) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: found %d traces, want %d", what, len(got), len(want))
	}
	for _, m := range got {
		if !want[m.TraceID] {
			t.Fatalf("%s: trace %s does not match", what, m.TraceID)
		}
	}
}

// cond1 returns a request of one condition.
func cond1(scope filter.Scope, key string, op filter.Op, v model.Value) filter.Request {
	return filter.Request{Conditions: []filter.Condition{{Scope: scope, Key: key, Op: op, Value: v}}}
}

// pruneCase is a search and the number of blocks it must read.
type pruneCase struct {
	name       string
	req        filter.Request
	wantBlocks int
}
