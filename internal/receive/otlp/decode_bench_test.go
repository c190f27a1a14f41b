package otlp

import (
	"testing"

	"waymark/internal/receive/receivetest"
)

// BenchmarkOTLPDecode measures protobuf bytes → []model.Span for batches of
// the reference workload (1,000 spans, six attributes each), with repeated
// and with varied attribute values, against the pdata route.
func BenchmarkOTLPDecode(b *testing.B) {
	const n = 1000
	for _, shape := range []struct {
		name   string
		varied bool
	}{{"repeated", false}, {"varied", true}} {
		body := marshal(b, receivetest.WorkloadTraces(n, 1, shape.varied))
		b.Run(shape.name+"/DecodeProto", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			cpu := receivetest.ProcessCPU()
			for b.Loop() {
				spans, err := DecodeProto(nil, body)
				if err != nil || len(spans) != n {
					b.Fatal(len(spans), err)
				}
			}
			receivetest.ReportPerSpan(b, n, cpu)
		})
		b.Run(shape.name+"/pdata", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			cpu := receivetest.ProcessCPU()
			for b.Loop() {
				spans, err := viaPdata(body)
				if err != nil || len(spans) != n {
					b.Fatal(len(spans), err)
				}
			}
			receivetest.ReportPerSpan(b, n, cpu)
		})
	}
}
