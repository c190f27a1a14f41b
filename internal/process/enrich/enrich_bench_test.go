package enrich

import (
	"context"
	"log/slog"
	"testing"

	"waymark/internal/model"
)

func BenchmarkEnrich(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Region, cfg.Node = "eu-west-1", "node-1"
	e, err := New(cfg, model.ConsumerFunc(func(context.Context, model.Batch) error { return nil }), nil, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	const n = 512
	res := &model.Resource{ServiceName: "cart", Attributes: model.Attributes{str("service.name", "cart")}}
	attrs := model.Attributes{str("http.route", "/cart"), str("http.request.method", "GET"), str("http.request.header.authorization", "x")}
	spans := make([]model.Span, n)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range spans {
			spans[j] = model.Span{Resource: res, Attributes: append(spans[j].Attributes[:0], attrs...)}
		}
		if err := e.Consume(context.Background(), model.Batch{Spans: spans}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/span")
}
