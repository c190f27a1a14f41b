package compact

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/thanos-io/objstore"

	"waymark/internal/model"
	"waymark/internal/store/block"
	"waymark/internal/store/bucket"
)

// genSpans makes n traces starting at base: a gateway server root, its
// client call, and the called service's server half sharing the client's
// span ID, as Zipkin instrumentation reports it.
func genSpans(rng *rand.Rand, n int, base uint64) []model.Span {
	gw := &model.Resource{ServiceName: "gateway", Attributes: model.Attributes{{Key: "service.name", Value: model.StringValue("gateway")}}}
	app := &model.Resource{ServiceName: "app", Attributes: model.Attributes{{Key: "service.name", Value: model.StringValue("app")}}}
	var out []model.Span
	for i := 0; i < n; i++ {
		var tid model.TraceID
		for j := range tid {
			tid[j] = byte(rng.Uint32())
		}
		root := model.SpanID{1, byte(i), byte(i >> 8), byte(i >> 16)}
		call := model.SpanID{2, byte(i), byte(i >> 8), byte(i >> 16)}
		start := base + uint64(i)*1000
		out = append(out,
			model.Span{TraceID: tid, SpanID: root, Name: "GET /", Kind: model.KindServer, Resource: gw, StartTimeUnixNano: start, EndTimeUnixNano: start + 900,
				Attributes: model.Attributes{{Key: "http.response.status_code", Value: model.IntValue(200)}, {Key: "seq", Value: model.IntValue(int64(i))}}},
			model.Span{TraceID: tid, SpanID: call, ParentSpanID: root, Name: "call", Kind: model.KindClient, Resource: gw, StartTimeUnixNano: start + 100, EndTimeUnixNano: start + 800},
			model.Span{TraceID: tid, SpanID: call, ParentSpanID: root, Name: "serve", Kind: model.KindServer, Resource: app, StartTimeUnixNano: start + 150, EndTimeUnixNano: start + 700},
		)
	}
	return out
}

// newBucket returns a local bucket in a temporary directory.
func newBucket(t testing.TB) objstore.Bucket {
	t.Helper()
	bkt, err := bucket.OpenFilesystem(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return bkt
}

// writeBlock stores spans as a block of tenant at level and opens it.
func writeBlock(t testing.TB, bkt objstore.Bucket, tenant string, level int, spans []model.Span) *block.Block {
	t.Helper()
	ctx := context.Background()
	m, err := block.Write(ctx, bkt, tenant, spans, block.WriteOptions{Level: level})
	if err != nil {
		t.Fatal(err)
	}
	b, err := block.Open(ctx, bkt, tenant, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// spanIdentity is what makes two spans copies of one another.
type spanIdentity struct {
	trace model.TraceID
	span  model.SpanID
	kind  model.SpanKind
}

// distinct returns the set of span identities in spans.
func distinct(spans ...[]model.Span) map[spanIdentity]bool {
	set := make(map[spanIdentity]bool)
	for _, l := range spans {
		for _, s := range l {
			set[spanIdentity{s.TraceID, s.SpanID, s.Kind}] = true
		}
	}
	return set
}
