package sample

import (
	"context"
	"encoding/binary"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"waymark/internal/model"
	"waymark/internal/testkit"
)

func newTestSampler(t testing.TB, cfg Config, next model.Consumer, reg prometheus.Registerer) *Sampler {
	t.Helper()
	if next == nil {
		next = &testkit.Sink{}
	}
	s, err := New(cfg, next, reg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func span(t testing.TB, traceID, traceState string, attrs ...model.Attribute) model.Span {
	return model.Span{
		TraceID:    mustTraceID(t, traceID),
		SpanID:     model.SpanID{1},
		TraceState: traceState,
		Attributes: attrs,
		Resource:   &model.Resource{ServiceName: "checkout"},
	}
}

// The Collector's hash_seed mode writes rv and th on kept spans; the
// reference gives the exact tracestate for seed 0 at 1 %.
func TestHashSeedTraceState(t *testing.T) {
	s := newTestSampler(t, Config{Mode: ModeHashSeed, SamplingPercentage: 1}, nil, nil)
	sp := span(t, "4bf92f3577b34da6a3ce929d0e0e4736", "")
	d := s.Decide(&sp)
	if !d.Keep || d.TraceState != "ot=rv:fdc80d0b42008d;th:fd74" {
		t.Fatalf("Decide = %+v, want keep with ot=rv:fdc80d0b42008d;th:fd74", d)
	}
	sp = span(t, "4bf92f3577b34da6a3ce929d0e0e4736", "rojo=00f067aa0ba902b7")
	if d := s.Decide(&sp); d.TraceState != "ot=rv:fdc80d0b42008d;th:fd74,rojo=00f067aa0ba902b7" {
		t.Fatalf("other vendors: tracestate %q", d.TraceState)
	}
	for _, id := range []string{"0af7651916cd43dd8448eb211c80319c", "00000000000000000000000000000001", "ffffffffffffffffffffffffffffffff"} {
		sp := span(t, id, "")
		if d := s.Decide(&sp); d.Keep {
			t.Errorf("%s kept at 1%%, want dropped", id)
		}
	}
	s42 := newTestSampler(t, Config{Mode: ModeHashSeed, HashSeed: 42, SamplingPercentage: 50}, nil, nil)
	for _, id := range []string{"4bf92f3577b34da6a3ce929d0e0e4736", "0af7651916cd43dd8448eb211c80319c", "00000000000000000000000000000001", "ffffffffffffffffffffffffffffffff"} {
		sp := span(t, id, "")
		if d := s42.Decide(&sp); !d.Keep {
			t.Errorf("seed 42: %s dropped at 50%%, want kept", id)
		}
	}
}

func TestDecide(t *testing.T) {
	const (
		idHigh = "4bf92f3577b34da6a3ce929d0e0e4736" // R = ce929d0e0e4736
		idLow  = "0af7651916cd43dd8448eb211c80319c" // R = 48eb211c80319c
		idMax  = "ffffffffffffffffffffffffffffffff" // R = ffffffffffffff
	)
	prio := func(v model.Value) model.Attribute { return model.Attribute{Key: PriorityAttribute, Value: v} }
	tests := []struct {
		name   string
		cfg    Config
		span   model.Span
		keep   bool
		ts     string
		reason Reason
	}{
		{"equalizing keeps high R", Config{SamplingPercentage: 50}, span(t, idHigh, ""), true, "ot=th:8", ReasonSampled},
		{"equalizing drops low R", Config{SamplingPercentage: 50}, span(t, idLow, ""), false, "", ReasonNotSampled},
		{"100% writes th:0", DefaultConfig(), span(t, idLow, ""), true, "ot=th:0", ReasonSampled},
		{"0% drops", Config{SamplingPercentage: 0}, span(t, idMax, ""), false, "", ReasonNotSampled},
		{"rv overrides trace id", Config{SamplingPercentage: 50}, span(t, idLow, "ot=rv:f0000000000000"), true, "ot=rv:f0000000000000;th:8", ReasonSampled},
		{"lower incoming probability passes unchanged", Config{SamplingPercentage: 50}, span(t, idMax, "ot=th:fd70a,x=1"), true, "ot=th:fd70a,x=1", ReasonPassedThrough},
		{"higher incoming probability is raised", Config{SamplingPercentage: 25}, span(t, idHigh, "ot=th:8"), true, "ot=th:c", ReasonSampled},
		{"higher incoming probability can drop", Config{SamplingPercentage: 1}, span(t, idHigh, "ot=th:8"), false, "", ReasonNotSampled},
		{"inconsistent th is erased", Config{SamplingPercentage: 50}, span(t, idHigh, "ot=th:f"), true, "ot=th:8", ReasonSampled},
		{"proportional multiplies", Config{Mode: ModeProportional, SamplingPercentage: 50}, span(t, idMax, "ot=th:8"), true, "ot=th:c", ReasonSampled},
		{"proportional at 100% passes", Config{Mode: ModeProportional, SamplingPercentage: 100}, span(t, idMax, "ot=th:fd70a"), true, "ot=th:fd70a", ReasonPassedThrough},
		{"proportional drops", Config{Mode: ModeProportional, SamplingPercentage: 50}, span(t, "00000000000000000090000000000000", "ot=th:8"), false, "", ReasonNotSampled},
		{"hash_seed equalizes incoming th", Config{Mode: ModeHashSeed, SamplingPercentage: 1}, span(t, idMax, "ot=th:8"), true, "ot=th:fd70a", ReasonSampled},
		{"hash_seed passes lower incoming probability", Config{Mode: ModeHashSeed, SamplingPercentage: 50}, span(t, idMax, "ot=th:fd70a"), true, "ot=th:fd70a", ReasonPassedThrough},
		{"priority int keeps", Config{SamplingPercentage: 0}, span(t, idLow, "x=1", prio(model.IntValue(1))), true, "x=1", ReasonPriorityKeep},
		{"priority double keeps", Config{SamplingPercentage: 1}, span(t, idLow, "", prio(model.DoubleValue(0.5))), true, "", ReasonPriorityKeep},
		{"priority string keeps", Config{SamplingPercentage: 1}, span(t, idLow, "", prio(model.StringValue(" 10 "))), true, "", ReasonPriorityKeep},
		{"priority zero drops", DefaultConfig(), span(t, idMax, "", prio(model.IntValue(0))), false, "", ReasonPriorityDrop},
		{"negative priority is ignored", Config{SamplingPercentage: 50}, span(t, idLow, "", prio(model.IntValue(-1))), false, "", ReasonNotSampled},
		{"bad priority is ignored", Config{SamplingPercentage: 50}, span(t, idHigh, "", prio(model.StringValue("high"))), true, "ot=th:8", ReasonSampled},
		{"bad tracestate fails open", Config{SamplingPercentage: 1}, span(t, idLow, "ot=th:zz"), true, "ot=th:zz", ReasonFailOpen},
		{"zero trace id fails open", Config{SamplingPercentage: 1}, model.Span{TraceState: "a=b"}, true, "a=b", ReasonFailOpen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestSampler(t, tt.cfg, nil, nil)
			sp := tt.span
			d := s.Decide(&sp)
			if d.Keep != tt.keep || d.Reason != tt.reason || (tt.keep && d.TraceState != tt.ts) {
				t.Errorf("Decide = {keep %v, tracestate %q, reason %s}, want {keep %v, tracestate %q, reason %s}",
					d.Keep, d.TraceState, d.Reason, tt.keep, tt.ts, tt.reason)
			}
		})
	}
}

func TestRateTables(t *testing.T) {
	cfg := Config{
		SamplingPercentage: 0,
		Services:           map[string]float64{"checkout": 100, "cart": 0},
		Attributes: []AttributeRate{
			{Key: "http.route", Value: "/health", SamplingPercentage: 0},
			{Key: "http.response.status_code", Value: "500", SamplingPercentage: 100},
			{Key: "deployment.environment", Value: "dev", SamplingPercentage: 100},
		},
	}
	s := newTestSampler(t, cfg, nil, nil)
	const id = "0af7651916cd43dd8448eb211c80319c"
	res := func(svc string, attrs ...model.Attribute) *model.Resource {
		return &model.Resource{ServiceName: svc, Attributes: attrs}
	}
	tests := []struct {
		name string
		span model.Span
		keep bool
	}{
		{"service rate", model.Span{TraceID: mustTraceID(t, id), Resource: res("checkout")}, true},
		{"service rate zero", model.Span{TraceID: mustTraceID(t, id), Resource: res("cart")}, false},
		{"default rate", model.Span{TraceID: mustTraceID(t, id), Resource: res("search")}, false},
		{"no resource", model.Span{TraceID: mustTraceID(t, id)}, false},
		{"span attribute overrides service", model.Span{TraceID: mustTraceID(t, id), Resource: res("checkout"),
			Attributes: model.Attributes{{Key: "http.route", Value: model.StringValue("/health")}}}, false},
		{"int attribute by text", model.Span{TraceID: mustTraceID(t, id), Resource: res("cart"),
			Attributes: model.Attributes{{Key: "http.response.status_code", Value: model.IntValue(500)}}}, true},
		{"other attribute value", model.Span{TraceID: mustTraceID(t, id), Resource: res("cart"),
			Attributes: model.Attributes{{Key: "http.response.status_code", Value: model.IntValue(200)}}}, false},
		{"resource attribute", model.Span{TraceID: mustTraceID(t, id),
			Resource: res("cart", model.Attribute{Key: "deployment.environment", Value: model.StringValue("dev")})}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := tt.span
			if d := s.Decide(&sp); d.Keep != tt.keep {
				t.Errorf("keep = %v, want %v (reason %s)", d.Keep, tt.keep, d.Reason)
			}
		})
	}
}

func TestConsume(t *testing.T) {
	reg := prometheus.NewRegistry()
	next := &testkit.Sink{}
	s := newTestSampler(t, Config{SamplingPercentage: 50}, next, reg)
	checkout := &model.Resource{ServiceName: "checkout"}
	cart := &model.Resource{ServiceName: "cart"}
	spans := []model.Span{
		{TraceID: mustTraceID(t, "4bf92f3577b34da6a3ce929d0e0e4736"), Name: "a", Resource: checkout},
		{TraceID: mustTraceID(t, "0af7651916cd43dd8448eb211c80319c"), Name: "b", Resource: checkout},
		{TraceID: mustTraceID(t, "ffffffffffffffffffffffffffffffff"), Name: "c", Resource: cart},
		{TraceID: mustTraceID(t, "0af7651916cd43dd8448eb211c80319c"), Name: "d", Resource: cart, TraceState: "ot=th:zz"},
	}
	err := s.Consume(context.Background(), model.Batch{Tenant: "acme", Spans: spans, OTLP: []byte{1}})
	if err != nil {
		t.Fatal(err)
	}
	if len(next.Batches()) != 1 {
		t.Fatalf("got %d batches, want 1", len(next.Batches()))
	}
	b := next.Batches()[0]
	var names []string
	for _, sp := range b.Spans {
		names = append(names, sp.Name+"|"+sp.TraceState)
	}
	if got, want := strings.Join(names, " "), "a|ot=th:8 c|ot=th:8 d|ot=th:zz"; got != want {
		t.Errorf("kept %q, want %q", got, want)
	}
	if b.Tenant != "acme" || b.OTLP != nil {
		t.Errorf("batch tenant %q OTLP %v, want acme and nil", b.Tenant, b.OTLP)
	}
	checks := []struct {
		metric, labels string
		want           float64
	}{
		{"waymark_sampler_spans_seen_total", "checkout", 2},
		{"waymark_sampler_spans_kept_total", "checkout", 1},
		{"waymark_sampler_spans_seen_total", "cart", 2},
		{"waymark_sampler_spans_kept_total", "cart", 2},
		{"waymark_sampler_decisions_total", "sampled", 2},
		{"waymark_sampler_decisions_total", "not_sampled", 1},
		{"waymark_sampler_decisions_total", "fail_open", 1},
		{"waymark_sampler_errors_total", "bad_tracestate", 1},
	}
	for _, c := range checks {
		if got := testkit.MetricValue(t, reg, c.metric, c.labels); got != c.want {
			t.Errorf("%s{%s} = %v, want %v", c.metric, c.labels, got, c.want)
		}
	}

	// A batch whose spans are all dropped is not passed on.
	drop := []model.Span{{TraceID: mustTraceID(t, "0af7651916cd43dd8448eb211c80319c"), Resource: checkout}}
	if err := s.Consume(context.Background(), model.Batch{Spans: drop}); err != nil {
		t.Fatal(err)
	}
	if len(next.Batches()) != 1 {
		t.Errorf("empty batch was passed on")
	}
}

func TestConsumeKeepsOTLPWhenUnchanged(t *testing.T) {
	next := &testkit.Sink{}
	s := newTestSampler(t, Config{SamplingPercentage: 50}, next, nil)
	spans := []model.Span{{TraceID: mustTraceID(t, "ffffffffffffffffffffffffffffffff"), TraceState: "ot=th:c"}}
	if err := s.Consume(context.Background(), model.Batch{Spans: spans, OTLP: []byte{1}}); err != nil {
		t.Fatal(err)
	}
	if next.Batches()[0].OTLP == nil {
		t.Error("OTLP cleared although no span changed")
	}
}

func TestMetricsRegistration(t *testing.T) {
	reg := prometheus.NewRegistry()
	newTestSampler(t, DefaultConfig(), nil, reg)
	if _, err := New(DefaultConfig(), &testkit.Sink{}, reg, slog.New(slog.DiscardHandler)); err == nil {
		t.Error("registering twice on one registry succeeded")
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "waymark_sampler_decisions_total" && len(mf.GetMetric()) != int(numReasons) {
			t.Errorf("decision series = %d, want %d", len(mf.GetMetric()), numReasons)
		}
	}
}

func randomTraceID(rng *rand.Rand) model.TraceID {
	var id model.TraceID
	binary.BigEndian.PutUint64(id[:8], rng.Uint64())
	binary.BigEndian.PutUint64(id[8:], rng.Uint64())
	return id
}

// Three samplers with the same configuration, each seeing a disjoint share
// of the spans of the same traces, keep the same set of traces.
func TestConsistentAcrossSamplers(t *testing.T) {
	modes := []Config{
		{Mode: ModeHashSeed, HashSeed: 7, SamplingPercentage: 10},
		{Mode: ModeEqualizing, SamplingPercentage: 10},
		{Mode: ModeProportional, SamplingPercentage: 10},
	}
	for _, cfg := range modes {
		t.Run(string(cfg.Mode), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			var caps [3]*testkit.Sink
			var samplers [3]*Sampler
			for i := range samplers {
				caps[i] = &testkit.Sink{}
				samplers[i] = newTestSampler(t, cfg, caps[i], nil)
			}
			const traces = 10000
			var batches [3][]model.Span
			for i := 0; i < traces; i++ {
				id := randomTraceID(rng)
				for j := 0; j < 3; j++ {
					batches[j] = append(batches[j], model.Span{TraceID: id, SpanID: model.SpanID{byte(j + 1)}})
				}
			}
			var sets [3]map[model.TraceID]bool
			for i, s := range samplers {
				if err := s.Consume(context.Background(), model.Batch{Spans: batches[i]}); err != nil {
					t.Fatal(err)
				}
				sets[i] = map[model.TraceID]bool{}
				for _, sp := range caps[i].Spans() {
					sets[i][sp.TraceID] = true
				}
			}
			if len(sets[0]) < traces/20 || len(sets[0]) > traces/5 {
				t.Fatalf("kept %d of %d traces at 10%%", len(sets[0]), traces)
			}
			for i := 1; i < 3; i++ {
				if len(sets[i]) != len(sets[0]) {
					t.Fatalf("sampler %d kept %d traces, sampler 0 kept %d", i, len(sets[i]), len(sets[0]))
				}
				for id := range sets[0] {
					if !sets[i][id] {
						t.Fatalf("trace %s kept by sampler 0 but not by sampler %d", id, i)
					}
				}
			}
		})
	}
}

// Over a million random trace IDs the kept fraction is within 0.1
// percentage points of the target.
func TestKeptFraction(t *testing.T) {
	if testing.Short() {
		t.Skip("a million decisions")
	}
	tests := []struct {
		cfg Config
	}{
		{Config{Mode: ModeHashSeed, SamplingPercentage: 1}},
		{Config{Mode: ModeHashSeed, HashSeed: 99, SamplingPercentage: 25}},
		{Config{Mode: ModeEqualizing, SamplingPercentage: 10}},
		{Config{Mode: ModeEqualizing, SamplingPercentage: 1}},
		{Config{Mode: ModeProportional, SamplingPercentage: 33}},
	}
	for _, tt := range tests {
		t.Run(string(tt.cfg.Mode)+"/"+strconv.FormatFloat(tt.cfg.SamplingPercentage, 'g', -1, 64), func(t *testing.T) {
			s := newTestSampler(t, tt.cfg, nil, nil)
			rng := rand.New(rand.NewPCG(3, 4))
			const n = 1_000_000
			kept := 0
			sp := model.Span{}
			for i := 0; i < n; i++ {
				sp.TraceID = randomTraceID(rng)
				if s.Decide(&sp).Keep {
					kept++
				}
			}
			got := 100 * float64(kept) / n
			if diff := got - tt.cfg.SamplingPercentage; diff > 0.1 || diff < -0.1 {
				t.Errorf("kept %.4f%%, target %v%%", got, tt.cfg.SamplingPercentage)
			}
		})
	}
}
