package loadgen

import (
	"regexp"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"waymark/internal/model"
)

func TestPlatformShapeWalksTheNamedServices(t *testing.T) {
	shape := PlatformShape()
	td := BuildTraces(shape, 40, 1_700_000_000_000_000_000, 3)
	if got := td.ResourceSpans().Len(); got != len(shape.ServiceNames) {
		t.Fatalf("%d resources, want one per service (%d)", got, len(shape.ServiceNames))
	}
	spans := model.SpansFromTraces(nil, td)
	byID := map[model.SpanID]model.Span{}
	for _, s := range spans {
		byID[s.SpanID] = s
	}
	errorsUnderEdge := 0
	for _, s := range spans {
		svc := s.ServiceName()
		if s.IsRoot() {
			if svc != "edge" {
				t.Fatalf("root span of service %q, want edge", svc)
			}
			continue
		}
		p, ok := byID[s.ParentSpanID]
		if !ok {
			t.Fatalf("span %s: parent missing", s.SpanID)
		}
		// The chain visits the services in order.
		want := map[string]string{"gateway": "edge", "sidecar": "gateway", "checkout": "sidecar", "payments": "checkout", "db": "payments"}[svc]
		if p.ServiceName() != want {
			t.Fatalf("span of %s has a parent of %s, want %s", svc, p.ServiceName(), want)
		}
		if s.StatusCode == model.StatusError {
			errorsUnderEdge++
		}
	}
	if len(spans) != 40*6 {
		t.Fatalf("%d spans, want %d", len(spans), 40*6)
	}
	// 240 spans at 1%: the seed is fixed, so this checks errors are generated at all.
	if errorsUnderEdge == 0 {
		t.Fatal("no error spans below edge")
	}
}

func TestServicesByCountAreUnchanged(t *testing.T) {
	tests := []struct {
		name  string
		shape Shape
		want  []string
	}{
		{name: "reference", shape: ReferenceShape(), want: []string{"bench-service"}},
		{name: "three services", shape: Shape{Services: 3, SpansPerTrace: 4}, want: []string{"service-0", "service-1", "service-2"}},
		{name: "repeated names share a resource", shape: Shape{ServiceNames: []string{"a", "sidecar", "b", "sidecar"}, SpansPerTrace: 4}, want: []string{"a", "sidecar", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			td := BuildTraces(tt.shape, 3, 1, 1)
			var got []string
			for _, rs := range td.ResourceSpans().All() {
				v, _ := rs.Resource().Attributes().Get("service.name")
				got = append(got, v.Str())
			}
			if len(got) != len(tt.want) {
				t.Fatalf("services %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("services %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func decodeSpans(t *testing.T, body []byte) []model.Span {
	t.Helper()
	td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(body)
	if err != nil {
		t.Fatalf("instance does not decode: %v", err)
	}
	return model.SpansFromTraces(nil, td)
}

func TestInstanceAtShiftsEverySpanTime(t *testing.T) {
	tests := []struct {
		name  string
		shape Shape
		shift time.Duration
	}{
		{name: "reference, an hour back", shape: ReferenceShape(), shift: -time.Hour},
		{name: "platform, a second back", shape: PlatformShape(), shift: -time.Second},
		{name: "platform, forward", shape: PlatformShape(), shift: 90 * time.Minute},
		{name: "no shift", shape: PlatformShape(), shift: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			td := BuildTraces(tt.shape, 30, 1_700_000_000_000_000_000, 5)
			tpl, err := NewTemplate(td, 30, (&ptrace.ProtoMarshaler{}).MarshalTraces, false)
			if err != nil {
				t.Fatal(err)
			}
			if !tpl.Shiftable() {
				t.Fatal("protobuf template not shiftable")
			}
			want := decodeSpans(t, tpl.Body)
			body, _ := tpl.InstanceAt(nil, 9, nil, tt.shift)
			got := decodeSpans(t, body)
			if len(got) != len(want) {
				t.Fatalf("%d spans, want %d", len(got), len(want))
			}
			for i := range got {
				if got[i].StartTimeUnixNano != want[i].StartTimeUnixNano+uint64(tt.shift) || got[i].EndTimeUnixNano != want[i].EndTimeUnixNano+uint64(tt.shift) {
					t.Fatalf("span %d: start %d end %d, want %d %d", i, got[i].StartTimeUnixNano, got[i].EndTimeUnixNano,
						want[i].StartTimeUnixNano+uint64(tt.shift), want[i].EndTimeUnixNano+uint64(tt.shift))
				}
				if got[i].Name != want[i].Name || got[i].StatusCode != want[i].StatusCode {
					t.Fatalf("span %d changed beyond its times and IDs", i)
				}
			}
		})
	}
}

func TestJSONTemplatesAreNotShiftable(t *testing.T) {
	td := BuildTraces(ReferenceShape(), 2, 1_700_000_000_000_000_000, 1)
	tpl, err := NewTemplate(td, 2, (&ptrace.JSONMarshaler{}).MarshalTraces, true)
	if err != nil {
		t.Fatal(err)
	}
	if tpl.Shiftable() {
		t.Fatal("JSON template claims to shift times")
	}
}

var uuidText = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func TestInstancesHaveUniqueRequestIDs(t *testing.T) {
	td := BuildTraces(PlatformShape(), 50, 1_700_000_000_000_000_000, 2)
	tpl, err := NewTemplate(td, 50, (&ptrace.ProtoMarshaler{}).MarshalTraces, false)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var buf []byte
	for seq := uint64(1); seq <= 20; seq++ {
		buf, _ = tpl.Instance(buf, seq, nil)
		for _, s := range decodeSpans(t, buf) {
			v, ok := s.Attributes.Get(RequestIDKey)
			if !ok {
				t.Fatalf("span without %s", RequestIDKey)
			}
			id := v.Str
			if !uuidText.MatchString(id) {
				t.Fatalf("request id %q is not a UUID", id)
			}
			if seen[id] {
				t.Fatalf("request id %s repeats", id)
			}
			seen[id] = true
		}
	}
}

func TestReservoirStaysBounded(t *testing.T) {
	tests := []struct {
		name     string
		size, in int
	}{
		{name: "fewer than its size", size: 10, in: 4},
		{name: "exactly its size", size: 10, in: 10},
		{name: "many more", size: 10, in: 10_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newReservoir(tt.size, 1)
			for i := 1; i <= tt.in; i++ {
				r.add(time.Duration(i))
			}
			if want := min(tt.size, tt.in); len(r.samples) != want {
				t.Fatalf("%d samples, want %d", len(r.samples), want)
			}
			late := 0
			for _, d := range r.samples {
				if d < 1 || d > time.Duration(tt.in) {
					t.Fatalf("sample %d was never added", d)
				}
				if d > time.Duration(tt.in/2) {
					late++
				}
			}
			// A uniform sample of 10 out of 10,000 keeps none of the second
			// half with probability 2^-10; with the fixed seed it keeps some.
			if tt.in > 2*tt.size && late == 0 {
				t.Fatal("only early samples kept: not a uniform sample")
			}
		})
	}
}
