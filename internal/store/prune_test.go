package store

import (
	"context"
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
	ctx := context.Background()
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
		if err := s.Consume(ctx, model.Batch{Tenant: "acme", Spans: append([]model.Span(nil), spans...)}); err != nil {
			t.Fatal(err)
		}
		if err := s.CutHead(ctx); err != nil {
			t.Fatal(err)
		}
	}
	cond := func(scope filter.Scope, key string, op filter.Op, v model.Value) filter.Request {
		return filter.Request{Conditions: []filter.Condition{{Scope: scope, Key: key, Op: op, Value: v}}}
	}
	str := model.StringValue
	tests := []struct {
		name       string
		req        filter.Request
		wantBlocks int // blocks read
	}{
		{"rare value in one block", cond(filter.ScopeAny, "tier", filter.OpEq, str("platinum")), 1},
		{"rare value, span scope", cond(filter.ScopeSpan, "tier", filter.OpEq, str("platinum")), 1},
		{"value no span has", cond(filter.ScopeAny, "tier", filter.OpEq, str("gold")), 0},
		{"key no span has", cond(filter.ScopeAny, "absent", filter.OpEq, str("x")), 0},
		{"key on the resource, not the span", cond(filter.ScopeSpan, "datacenter", filter.OpEq, str("dc-1")), 0},
		{"resource value", cond(filter.ScopeResource, "datacenter", filter.OpEq, str("dc-1")), 4},
		{"one block's value", cond(filter.ScopeAny, "batch", filter.OpEq, str("b1")), 1},
		{"regex over two blocks", cond(filter.ScopeAny, "batch", filter.OpRegex, str("b[02]")), 2},
		{"int attribute as text", cond(filter.ScopeAny, "http.response.status_code", filter.OpEq, str("200")), 4},
		{"int attribute, no such value", cond(filter.ScopeAny, "http.response.status_code", filter.OpEq, model.IntValue(500)), 0},
		{"exists in one block", cond(filter.ScopeSpan, "tier", filter.OpExists, model.Value{}), 1},
		{"not-equal never skips", cond(filter.ScopeAny, "tier", filter.OpNotEq, str("platinum")), 4},
		{"span name", cond(filter.ScopeIntrinsic, "name", filter.OpEq, str("work")), 4},
		{"span name no span has", cond(filter.ScopeIntrinsic, "name", filter.OpEq, str("POST /")), 0},
		// The long value is not in the summary: its block must be read.
		{"value the summary does not keep", cond(filter.ScopeAny, "payload", filter.OpEq, str(long)), 1},
		{"other value of that key", cond(filter.ScopeAny, "payload", filter.OpEq, str("short")), 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req
			if err := req.Compile(); err != nil {
				t.Fatal(err)
			}
			want := map[model.TraceID]bool{}
			for i := range all {
				if req.MatchSpan(&all[i]) {
					want[all[i].TraceID] = true
				}
			}
			before := testutil.ToFloat64(s.metrics.searchBlocksRead)
			got := search(t, s, "acme", req)
			if read := int(testutil.ToFloat64(s.metrics.searchBlocksRead) - before); read != tc.wantBlocks {
				t.Errorf("read %d blocks, want %d", read, tc.wantBlocks)
			}
			if len(got) != len(want) {
				t.Fatalf("found %d traces, want %d", len(got), len(want))
			}
			for _, m := range got {
				if !want[m.TraceID] {
					t.Fatalf("trace %s does not match", m.TraceID)
				}
			}
		})
	}
}
