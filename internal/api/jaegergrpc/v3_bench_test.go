package jaegergrpc

import (
	"context"
	"errors"
	"io"
	"slices"
	"testing"

	"waymark/internal/api/apitest"
	"waymark/internal/api/jaegergrpc/apiv3pb"
	"waymark/internal/api/jaegerquery"
	"waymark/internal/model"
	"waymark/internal/query"
)

// oneTrace serves one trace from memory: a copy of its spans, so that the
// benchmark measures the service rather than a lookup.
type oneTrace struct {
	*apitest.MemQuerier
	spans []model.Span
}

func (o oneTrace) FindTrace(_ context.Context, _ string, id model.TraceID, _, _ uint64) (query.Trace, error) {
	return query.Trace{ID: id, Spans: slices.Clone(o.spans), StoredSpans: len(o.spans)}, nil
}

// BenchmarkV3GetTrace reads a 50,000-span trace through api_v3 GetTrace
// over loopback gRPC, decoding every chunk with the generated client.
func BenchmarkV3GetTrace(b *testing.B) {
	const n = 50_000
	spans := bigTrace(n)
	client := serveV3(b, oneTrace{apitest.NewMemQuerier(), spans})
	req := &apiv3pb.GetTraceRequest{TraceId: spans[0].TraceID.String()}
	b.SetBytes(int64(encodedSize(spans)))
	b.ReportAllocs()
	for b.Loop() {
		stream, err := client.GetTrace(context.Background(), req)
		if err != nil {
			b.Fatal(err)
		}
		got := 0
		for {
			td, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			got += len(flattenOTLP(td))
		}
		if got != n {
			b.Fatalf("%d spans, want %d", got, n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/span")
}

// BenchmarkOTLPChunks encodes a 50,000-span trace into TracesData chunks,
// the server's share of GetTrace.
func BenchmarkOTLPChunks(b *testing.B) {
	const n = 50_000
	spans := jaegerquery.GroupByScope(bigTrace(n))
	b.SetBytes(int64(encodedSize(spans)))
	b.ReportAllocs()
	for b.Loop() {
		if err := otlpChunks(spans, maxChunkBytes, func([]byte) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/span")
}
