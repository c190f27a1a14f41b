package otlp

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"waymark/internal/model"
	"waymark/internal/receive/receivetest"
)

// sdkStart is the start time of the spans emitSpans makes.
var sdkStart = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// emitSpans sends a server span and its client child through exp with the
// OpenTelemetry SDK and returns their span contexts.
func emitSpans(t *testing.T, exp sdktrace.SpanExporter) (root, child trace.SpanContext) {
	t.Helper()
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSyncer(exp),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "checkout"), attribute.String("host.name", "h1"))),
	)
	tr := tp.Tracer("waymark/test", trace.WithInstrumentationVersion("1.2.3"))
	ctx, rs := tr.Start(context.Background(), "GET /cart", trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(sdkStart),
		trace.WithAttributes(attribute.String("http.route", "/cart"), attribute.Int("http.response.status_code", 500), attribute.Bool("cached", false), attribute.Float64("ratio", 0.5)))
	_, cs := tr.Start(ctx, "SELECT cart", trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(sdkStart.Add(time.Millisecond)),
		trace.WithLinks(trace.Link{SpanContext: rs.SpanContext(), Attributes: []attribute.KeyValue{attribute.String("why", "test")}}))
	cs.AddEvent("retry", trace.WithTimestamp(sdkStart.Add(2*time.Millisecond)), trace.WithAttributes(attribute.Int("attempt", 2)))
	cs.SetStatus(codes.Error, "db down")
	cs.End(trace.WithTimestamp(sdkStart.Add(3 * time.Millisecond)))
	rs.End(trace.WithTimestamp(sdkStart.Add(5 * time.Millisecond)))
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatalf("sdk shutdown: %v", err)
	}
	return rs.SpanContext(), cs.SpanContext()
}

// checkSDKBatches asserts that rec got exactly the spans emitSpans sent,
// for tenant, with their OTLP bytes.
func checkSDKBatches(t *testing.T, rec *receivetest.Recorder, root, child trace.SpanContext, tenant string) {
	t.Helper()
	checkSDKSpans(t, rec.Spans(), root, child)
	for _, b := range rec.Batches() {
		if b.Tenant != tenant {
			t.Errorf("tenant %q, want %q", b.Tenant, tenant)
		}
		again, err := DecodeProto(nil, b.OTLP)
		if len(b.OTLP) == 0 || err != nil || receivetest.Diff(b.Spans, again) != "" {
			t.Errorf("batch OTLP bytes (%d) do not decode to its spans: %v", len(b.OTLP), err)
		}
	}
}

// checkSDKSpans asserts that got holds exactly the spans emitSpans sent.
func checkSDKSpans(t *testing.T, got []model.Span, root, child trace.SpanContext) {
	t.Helper()
	if len(got) != 2 {
		t.Fatalf("got %d spans, want 2", len(got))
	}
	byName := map[string]model.Span{}
	for _, s := range got {
		byName[s.Name] = s
	}
	r, c := byName["GET /cart"], byName["SELECT cart"]
	ms := func(d time.Duration) uint64 { return uint64(sdkStart.Add(d).UnixNano()) }
	checks := []struct {
		name      string
		got, want any
	}{
		{"root trace id", r.TraceID, model.TraceID(root.TraceID())},
		{"root span id", r.SpanID, model.SpanID(root.SpanID())},
		{"root is root", r.IsRoot(), true},
		{"root kind", r.Kind, model.KindServer},
		{"root start", r.StartTimeUnixNano, ms(0)},
		{"root end", r.EndTimeUnixNano, ms(5 * time.Millisecond)},
		{"root flags sampled", r.Flags & 1, uint32(1)},
		{"root service", r.ServiceName(), "checkout"},
		{"root scope", r.Scope.Name + "@" + r.Scope.Version, "waymark/test@1.2.3"},
		{"root route", attr(r, "http.route"), model.StringValue("/cart")},
		{"root status code attr", attr(r, "http.response.status_code"), model.IntValue(500)},
		{"root bool attr", attr(r, "cached"), model.BoolValue(false)},
		{"root double attr", attr(r, "ratio"), model.DoubleValue(0.5)},
		{"root status", r.StatusCode, model.StatusUnset},
		{"child trace id", c.TraceID, model.TraceID(child.TraceID())},
		{"child span id", c.SpanID, model.SpanID(child.SpanID())},
		{"child parent", c.ParentSpanID, model.SpanID(root.SpanID())},
		{"child kind", c.Kind, model.KindClient},
		{"child duration", c.DurationNano(), uint64(2 * time.Millisecond)},
		{"child status", c.StatusCode, model.StatusError},
		{"child status message", c.StatusMessage, "db down"},
		{"child event", len(c.Events), 1},
		{"child link", len(c.Links), 1},
		{"child host", attrOf(c.Resource.Attributes, "host.name"), model.StringValue("h1")},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s: got %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	if len(c.Events) == 1 {
		ev := c.Events[0]
		if ev.Name != "retry" || ev.TimeUnixNano != ms(2*time.Millisecond) || attrOf(ev.Attributes, "attempt") != model.IntValue(2) {
			t.Errorf("child event %+v", ev)
		}
	}
	if len(c.Links) == 1 {
		l := c.Links[0]
		if l.TraceID != r.TraceID || l.SpanID != r.SpanID || attrOf(l.Attributes, "why") != model.StringValue("test") {
			t.Errorf("child link %+v", l)
		}
	}
}

func attr(s model.Span, key string) model.Value { return attrOf(s.Attributes, key) }

func attrOf(a model.Attributes, key string) model.Value {
	v, _ := a.Get(key)
	return v
}
