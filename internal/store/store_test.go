package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/thanos-io/objstore/providers/filesystem"

	"waymark/internal/model"
	"waymark/internal/store/filter"
	"waymark/internal/store/head"
)

func openStore(t *testing.T, dir string) *Store {
	t.Helper()
	bkt, err := filesystem.NewBucket(dir + "/blocks")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), Options{Dir: dir, Bucket: bkt, HeadMaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// genTraces makes n traces of a gateway → app call with random IDs at base.
func genTraces(rng *rand.Rand, n int, base uint64, failEvery int) []model.Span {
	gw := &model.Resource{ServiceName: "gateway", Attributes: model.Attributes{{Key: "service.name", Value: model.StringValue("gateway")}, {Key: "datacenter", Value: model.StringValue("dc-1")}}}
	app := &model.Resource{ServiceName: "app", Attributes: model.Attributes{{Key: "service.name", Value: model.StringValue("app")}}}
	var out []model.Span
	for i := 0; i < n; i++ {
		var tid model.TraceID
		for j := range tid {
			tid[j] = byte(rng.Uint32())
		}
		root := model.SpanID{1, byte(i), byte(i >> 8), 7}
		start := base + uint64(i)*1000
		out = append(out, model.Span{TraceID: tid, SpanID: root, Name: "GET /", Kind: model.KindServer, Resource: gw,
			StartTimeUnixNano: start, EndTimeUnixNano: start + 900,
			Attributes: model.Attributes{{Key: "http.response.status_code", Value: model.IntValue(200)}, {Key: "seq", Value: model.IntValue(int64(i))}}})
		child := model.Span{TraceID: tid, SpanID: model.SpanID{2, byte(i), byte(i >> 8), 7}, ParentSpanID: root, Name: "work", Kind: model.KindInternal, Resource: app,
			StartTimeUnixNano: start + 100, EndTimeUnixNano: start + 500}
		if failEvery > 0 && i%failEvery == 0 {
			child.StatusCode = model.StatusError
		}
		out = append(out, child)
	}
	return out
}

func search(t *testing.T, s *Store, tenant string, req filter.Request) []filter.Match {
	t.Helper()
	var got []filter.Match
	if err := s.Search(context.Background(), tenant, req, func(m filter.Match) bool { got = append(got, m); return true }); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestStoreHeadBlocksAndRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir)
	rng := rand.New(rand.NewPCG(1, 2))
	base := uint64(time.Now().Add(-time.Hour).UnixNano())
	first := genTraces(rng, 300, base, 10)
	second := genTraces(rng, 200, base+1e12, 0)
	if err := s.Consume(ctx, model.Batch{Tenant: "acme", Spans: append([]model.Span(nil), first...)}); err != nil {
		t.Fatal(err)
	}
	// Cut the first batch into a block, then add the second to the head.
	if err := s.CutHead(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Consume(ctx, model.Batch{Tenant: "acme", Spans: append([]model.Span(nil), second...)}); err != nil {
		t.Fatal(err)
	}
	// A retrying sender sends part of the first batch again: no duplicates come back.
	if err := s.Consume(ctx, model.Batch{Tenant: "acme", Spans: append([]model.Span(nil), first[:20]...)}); err != nil {
		t.Fatal(err)
	}
	check := func(label string, s *Store) {
		t.Helper()
		for _, tr := range [][]model.Span{first, second} {
			for i := 0; i < len(tr); i += 37 {
				got, err := s.FindTrace(ctx, "acme", tr[i].TraceID)
				if err != nil || len(got) != 2 {
					t.Fatalf("%s: trace %s: %d spans, err %v", label, tr[i].TraceID, len(got), err)
				}
			}
			if got, _ := s.FindTrace(ctx, "other", tr[0].TraceID); len(got) != 0 {
				t.Fatalf("%s: tenant other reads acme's trace", label)
			}
		}
		errs := search(t, s, "acme", filter.Request{Conditions: []filter.Condition{{Scope: filter.ScopeIntrinsic, Key: "status", Value: model.StringValue("error")}}})
		if len(errs) != 30 {
			t.Errorf("%s: %d traces with errors, want 30", label, len(errs))
		}
		all := search(t, s, "acme", filter.Request{Limit: 25})
		if len(all) != 25 {
			t.Fatalf("%s: limited search gave %d", label, len(all))
		}
		for i := 1; i < len(all); i++ {
			if all[i].StartUnixNano > all[i-1].StartUnixNano {
				t.Fatalf("%s: results not newest first at %d", label, i)
			}
		}
		if all[0].TraceID != second[len(second)-2].TraceID {
			t.Errorf("%s: newest result is %s, want the last trace sent", label, all[0].TraceID)
		}
		rare := search(t, s, "acme", filter.Request{Conditions: []filter.Condition{{Key: "seq", Op: filter.OpEq, Value: model.IntValue(250)}, {Scope: filter.ScopeResource, Key: "service.name", Value: model.StringValue("gateway")}}})
		if len(rare) != 1 || rare[0].TraceID != first[500].TraceID {
			t.Errorf("%s: rare value search gave %d traces", label, len(rare))
		}
		svcs, _ := s.Services(ctx, "acme")
		if fmt.Sprint(svcs) != "[app gateway]" {
			t.Errorf("%s: services %v", label, svcs)
		}
		ops, _ := s.Operations(ctx, "acme", "app")
		if len(ops) != 1 || ops[0].Name != "work" {
			t.Errorf("%s: operations %v", label, ops)
		}
		deps, _ := s.Dependencies(ctx, "acme", 0, 0)
		if len(deps) != 1 || deps[0].Parent != "gateway" || deps[0].Child != "app" || deps[0].CallCount < 500 || deps[0].ErrorCount < 30 {
			t.Errorf("%s: dependencies %+v", label, deps)
		}
		tags, _ := s.Tags(ctx, "acme", 0, 0)
		if tv := tags["resource"]["datacenter"]; tv == nil || len(tv.Values) != 1 {
			t.Errorf("%s: resource tag datacenter missing", label)
		}
	}
	check("live", s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir)
	check("after restart", s)
	if err := s.CutHead(ctx); err != nil {
		t.Fatal(err)
	}
	check("after second cut", s)
	s.Close()
	s = openStore(t, dir)
	defer s.Close()
	check("blocks only", s)
}

func TestRetentionDeletesExactlyExpiredBlocks(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	defer s.Close()
	rng := rand.New(rand.NewPCG(3, 4))
	now := time.Now()
	old := genTraces(rng, 10, uint64(now.Add(-20*24*time.Hour).UnixNano()), 0)
	recent := genTraces(rng, 10, uint64(now.Add(-13*24*time.Hour).UnixNano()), 0)
	for _, batch := range [][]model.Span{old, recent} {
		if err := s.Consume(ctx, model.Batch{Tenant: "t", Spans: append([]model.Span(nil), batch...)}); err != nil {
			t.Fatal(err)
		}
		if err := s.CutHead(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.blocks.count(); n != 2 {
		t.Fatalf("%d blocks, want 2", n)
	}
	if err := s.ApplyRetention(ctx, now); err != nil {
		t.Fatal(err)
	}
	if n := s.blocks.count(); n != 1 {
		t.Fatalf("%d blocks after retention, want 1", n)
	}
	if got, _ := s.FindTrace(ctx, "t", old[0].TraceID); len(got) != 0 {
		t.Errorf("expired trace still found")
	}
	if got, _ := s.FindTrace(ctx, "t", recent[0].TraceID); len(got) != 2 {
		t.Errorf("recent trace lost: %d spans", len(got))
	}
}

func TestOverloadedWhenTooMuchPending(t *testing.T) {
	bkt, _ := filesystem.NewBucket(t.TempDir())
	s, err := Open(context.Background(), Options{Dir: t.TempDir(), Bucket: bkt, MaxPendingBytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// A single batch larger than the limit is still accepted (it is alone).
	rng := rand.New(rand.NewPCG(5, 6))
	if err := s.Consume(context.Background(), model.Batch{Tenant: "t", Spans: genTraces(rng, 5, 1, 0)}); err != nil {
		t.Fatalf("lone batch refused: %v", err)
	}
}

// TestSearchSpansMergesSources splits traces between a block and the head
// and resends some spans: Search gives one source's spans per trace,
// SearchSpans every matching span exactly once.
func TestSearchSpansMergesSources(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	defer s.Close()
	rng := rand.New(rand.NewPCG(3, 4))
	base := uint64(time.Now().Add(-time.Hour).UnixNano())
	spans := genTraces(rng, 100, base, 0)
	var roots, children []model.Span
	for i := range spans {
		if spans[i].ParentSpanID.IsZero() {
			roots = append(roots, spans[i])
		} else {
			children = append(children, spans[i])
		}
	}
	// Two blocks and the head; some roots are in a block twice, in both
	// blocks, or in a block and the head.
	half := len(children) / 2
	for _, batch := range [][]model.Span{roots, nil, children[:half], roots[:10], nil, children[half:], roots[5:15]} {
		if batch == nil {
			if err := s.CutHead(ctx); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := s.Consume(ctx, model.Batch{Tenant: "acme", Spans: append([]model.Span(nil), batch...)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name      string
		req       filter.Request
		wantSpans int
	}{
		{"all", filter.Request{Limit: 5}, 200},
		{"time_range", filter.Request{StartUnixNano: base + 50*1000, EndUnixNano: base + 60*1000 - 1}, 20},
		{"condition", filter.Request{Conditions: []filter.Condition{{Scope: filter.ScopeIntrinsic, Key: "name", Value: model.StringValue("work")}}}, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, proj := range []*filter.Projection{nil, {Fields: filter.FieldServiceName}} {
				n, traces := 0, 0
				keys := map[spanKey]bool{}
				req := tc.req
				req.Projection = proj
				err := s.SearchSpans(ctx, "acme", req, func(m filter.Match) bool {
					traces++
					for _, sp := range m.Spans {
						if sp.TraceID != m.TraceID || keys[spanKey{sp.SpanID, sp.Kind}] {
							t.Fatalf("projection %v: span %s of trace %s repeated or misplaced", proj, sp.SpanID, sp.TraceID)
						}
						if sp.Resource == nil || sp.Resource.ServiceName == "" {
							t.Fatalf("projection %v: span %s without its service", proj, sp.SpanID)
						}
						keys[spanKey{sp.SpanID, sp.Kind}] = true
						n++
					}
					return true
				})
				if err != nil {
					t.Fatal(err)
				}
				if n != tc.wantSpans {
					t.Errorf("projection %v: SearchSpans gave %d spans in %d traces, want %d spans", proj, n, traces, tc.wantSpans)
				}
			}
			first, unlimited := 0, tc.req
			unlimited.Limit = 0
			for _, m := range search(t, s, "acme", unlimited) {
				first += len(m.Spans)
			}
			if tc.name == "all" && first >= tc.wantSpans {
				t.Errorf("Search gave %d spans; the test expects it to give one source's only", first)
			}
		})
	}
}

func TestSearchLimitAcrossBlocks(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	defer s.Close()
	rng := rand.New(rand.NewPCG(7, 8))
	base := uint64(time.Now().Add(-time.Hour).UnixNano())
	// Three blocks whose time ranges interleave, so that every block holds
	// some of the newest traces.
	var all []model.Span
	for b := range 3 {
		spans := genTraces(rng, 200, base+uint64(b)*333, 7)
		all = append(all, spans...)
		if err := s.Consume(ctx, model.Batch{Tenant: "acme", Spans: append([]model.Span(nil), spans...)}); err != nil {
			t.Fatal(err)
		}
		if err := s.CutHead(ctx); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		req  filter.Request
	}{
		{"everything", filter.Request{Limit: 20}},
		{"errors", filter.Request{Limit: 15, Conditions: []filter.Condition{{Scope: filter.ScopeIntrinsic, Key: "status", Value: model.StringValue("error")}}}},
		{"one service", filter.Request{Limit: 1, Conditions: []filter.Condition{{Scope: filter.ScopeResource, Key: "service.name", Value: model.StringValue("app")}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req
			if err := req.Compile(); err != nil {
				t.Fatal(err)
			}
			// The newest matching traces by earliest matching span start.
			starts := map[model.TraceID]uint64{}
			for i := range all {
				if req.MatchSpan(&all[i]) {
					if st, ok := starts[all[i].TraceID]; !ok || all[i].StartTimeUnixNano < st {
						starts[all[i].TraceID] = all[i].StartTimeUnixNano
					}
				}
			}
			var want []filter.Match
			for id, st := range starts {
				want = append(want, filter.Match{TraceID: id, StartUnixNano: st})
			}
			head.SortNewestFirst(want)
			want = want[:min(len(want), req.Limit)]
			got := search(t, s, "acme", req)
			if len(got) != len(want) {
				t.Fatalf("got %d traces, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i].TraceID != want[i].TraceID || got[i].StartUnixNano != want[i].StartUnixNano {
					t.Fatalf("result %d: %s at %d, want %s at %d", i, got[i].TraceID, got[i].StartUnixNano, want[i].TraceID, want[i].StartUnixNano)
				}
			}
		})
	}
}
