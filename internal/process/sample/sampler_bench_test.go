package sample

import (
	"context"
	"math/rand/v2"
	"testing"

	"waymark/internal/model"
)

func BenchmarkSamplerDecide(b *testing.B) {
	cases := []struct {
		name       string
		cfg        Config
		traceState string
	}{
		{"hash_seed", Config{Mode: ModeHashSeed, SamplingPercentage: 10}, ""},
		{"equalizing", Config{SamplingPercentage: 10}, ""},
		{"equalizing_incoming_th", Config{SamplingPercentage: 10}, "ot=th:8;rv:ce929d0e0e4736,rojo=00f067aa0ba902b7"},
		{"proportional", Config{Mode: ModeProportional, SamplingPercentage: 10}, "ot=th:8"},
		{"rate_tables", Config{SamplingPercentage: 10, Services: map[string]float64{"cart": 50},
			Attributes: []AttributeRate{{Key: "http.route", Value: "/health"}}}, ""},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			s := newTestSampler(b, c.cfg, nil, nil)
			rng := rand.New(rand.NewPCG(1, 1))
			res := &model.Resource{ServiceName: "cart"}
			spans := make([]model.Span, 1024)
			for i := range spans {
				spans[i] = model.Span{TraceID: randomTraceID(rng), TraceState: c.traceState, Resource: res,
					Attributes: model.Attributes{{Key: "http.route", Value: model.StringValue("/cart")}}}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				sp := &spans[i%len(spans)]
				_ = s.Decide(sp)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/span")
		})
	}
}

// BenchmarkSamplerConsume measures a whole batch through Consume, counters
// included.
func BenchmarkSamplerConsume(b *testing.B) {
	s := newTestSampler(b, Config{SamplingPercentage: 10}, model.ConsumerFunc(func(context.Context, model.Batch) error { return nil }), nil)
	rng := rand.New(rand.NewPCG(1, 1))
	res := &model.Resource{ServiceName: "cart"}
	src := make([]model.Span, 512)
	for i := range src {
		src[i] = model.Span{TraceID: randomTraceID(rng), Resource: res}
	}
	batch := make([]model.Span, len(src))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		copy(batch, src)
		if err := s.Consume(context.Background(), model.Batch{Spans: batch}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(src)), "ns/span")
}
