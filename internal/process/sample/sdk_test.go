package sample

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"waymark/internal/model"
	"waymark/internal/testkit"
)

// seededIDs is a deterministic sdktrace.IDGenerator.
type seededIDs struct {
	mu  sync.Mutex
	rng *rand.Rand
}

func (g *seededIDs) NewIDs(context.Context) (trace.TraceID, trace.SpanID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return trace.TraceID(randomTraceID(g.rng)), g.spanIDLocked()
}

func (g *seededIDs) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.spanIDLocked()
}

func (g *seededIDs) spanIDLocked() trace.SpanID {
	var id trace.SpanID
	for i := range id {
		id[i] = byte(g.rng.Uint32())
	}
	return id
}

// sdkSpans runs the real OpenTelemetry Go SDK with a TraceIDRatioBased root
// sampler over n traces of two spans each and returns the exported spans.
func sdkSpans(t *testing.T, ratio float64, n int) []model.Span {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))),
		sdktrace.WithSyncer(exp),
		sdktrace.WithIDGenerator(&seededIDs{rng: rand.New(rand.NewPCG(5, 6))}),
	)
	defer func() {
		if err := tp.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	tracer := tp.Tracer("waymark-test")
	for i := 0; i < n; i++ {
		ctx, root := tracer.Start(context.Background(), "GET /cart")
		_, child := tracer.Start(ctx, "SELECT cart")
		child.End()
		root.End()
	}
	res := &model.Resource{ServiceName: "cart"}
	var out []model.Span
	for _, s := range exp.GetSpans() {
		out = append(out, model.Span{
			TraceID:      model.TraceID(s.SpanContext.TraceID()),
			SpanID:       model.SpanID(s.SpanContext.SpanID()),
			ParentSpanID: model.SpanID(s.Parent.SpanID()),
			TraceState:   s.SpanContext.TraceState().String(),
			Flags:        uint32(s.SpanContext.TraceFlags()),
			Name:         s.Name,
			Resource:     res,
		})
	}
	return out
}

// An SDK ratio sampler upstream and an equalizing agent downstream must not
// multiply their probabilities when the agent is told about the SDK.
func TestSDKUpstreamNoDoubleSampling(t *testing.T) {
	const traces = 20000
	const sdkRatio = 0.25
	spans := sdkSpans(t, sdkRatio, traces)
	sdkTraces := traceSet(spans)
	if f := float64(len(sdkTraces)) / traces; f < 0.23 || f > 0.27 {
		t.Fatalf("SDK kept %.3f of traces, want ~%v", f, sdkRatio)
	}
	tests := []struct {
		name     string
		cfg      Config
		wantFrac float64 // of all traces the SDK started
		wantTH   string
	}{
		{"agent above SDK keeps all", Config{SamplingPercentage: 50, UpstreamSDKRatio: sdkRatio}, sdkRatio, "c"},
		{"agent at SDK keeps all", Config{SamplingPercentage: 25, UpstreamSDKRatio: sdkRatio}, sdkRatio, "c"},
		{"agent below SDK gets its own rate", Config{SamplingPercentage: 10, UpstreamSDKRatio: sdkRatio}, 0.10, "e666"},
		{"proportional composes", Config{Mode: ModeProportional, SamplingPercentage: 40, UpstreamSDKRatio: sdkRatio}, 0.10, "e666"},
		// Without the declaration the two stages read independent bits
		// and multiply: this is the double sampling the option removes.
		{"undeclared SDK multiplies", Config{SamplingPercentage: 10}, sdkRatio * 0.10, "e666"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := &testkit.Sink{}
			s := newTestSampler(t, tt.cfg, next, nil)
			in := append([]model.Span(nil), spans...)
			if err := s.Consume(context.Background(), model.Batch{Spans: in}); err != nil {
				t.Fatal(err)
			}
			kept := traceSet(next.Spans())
			frac := float64(len(kept)) / traces
			if d := frac - tt.wantFrac; d > 0.01 || d < -0.01 {
				t.Errorf("kept %.4f of traces, want %.4f", frac, tt.wantFrac)
			}
			for id, n := range kept {
				if sdkTraces[id] == 0 {
					t.Fatalf("kept trace %s the SDK never sent", id)
				}
				if n != 2 {
					t.Fatalf("trace %s kept incomplete: %d of 2 spans", id, n)
				}
			}
			for _, sp := range next.Spans() {
				ts, err := ParseTraceState(sp.TraceState)
				if err != nil || !ts.HasTH || ts.TH.String() != tt.wantTH {
					t.Fatalf("kept span tracestate %q, want th:%s", sp.TraceState, tt.wantTH)
				}
			}
		})
	}
}

func traceSet(spans []model.Span) map[model.TraceID]int {
	set := map[model.TraceID]int{}
	for _, sp := range spans {
		set[sp.TraceID]++
	}
	return set
}
