package loadgen

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/protobuf/encoding/protowire"
)

// RequestIDKey is the span attribute that carries a request ID (a UUID, as
// Envoy's x-request-id) in varied shapes. Template instances rewrite it, so
// every request ID sent is unique.
const RequestIDKey = "guid:x-request-id"

// Shape describes the traces to generate.
type Shape struct {
	// Services is the number of distinct service names (resources) used;
	// ServiceNames overrides it.
	Services int
	// ServiceNames, when set, names the services of a trace's spans by
	// position: span j belongs to ServiceNames[j % len(ServiceNames)], so
	// every trace walks the same path and the root belongs to the first.
	ServiceNames []string
	// SpansPerTrace is the number of spans in each trace: a root and children.
	SpansPerTrace int
	// Depth is the maximum depth of the span tree (1 = all children under the root).
	Depth int
	// Varied gives attributes varied values (routes, status codes, request
	// IDs, datacenters) instead of the reference workload's constant ones.
	Varied bool
	// ErrorRate is the share of spans with status error.
	ErrorRate float64
	// PayloadBytes adds a string attribute of this size to each span.
	PayloadBytes int
}

// ReferenceShape is the shared benchmark workload: 5-span traces, 4 resource
// and 6 span attributes with repeated values.
func ReferenceShape() Shape {
	return Shape{Services: 1, SpansPerTrace: 5, Depth: 1}
}

// PlatformShape is a service-mesh workload: each 6-span trace is one chain
// edge → gateway → sidecar → checkout → payments → db, with varied
// (Envoy-like) attribute values and 1% of spans in error, so structural
// queries such as { resource.service.name = "edge" } >> { status = error }
// have matches.
func PlatformShape() Shape {
	return Shape{ServiceNames: []string{"edge", "gateway", "sidecar", "checkout", "payments", "db"},
		SpansPerTrace: 6, Depth: 5, Varied: true, ErrorRate: 0.01}
}

// Template is one encoded batch with the offsets of its IDs.
type Template struct {
	// Body is the encoded batch with marker IDs.
	Body []byte
	// Traces and Spans are the numbers of traces and spans in the batch.
	Traces, Spans int
	traceOffs     [][]int // per trace: offsets of every copy of its trace ID
	spanOffs      [][]int // per span: offsets of every copy of its span ID (incl. as parent)
	hex           bool    // IDs are written as lowercase hex text
	timeOffs      []int   // offsets of every span start and end time (fixed64); nil for hex
	requestIDOffs []int   // offsets of every RequestIDKey value
}

// markerTraceID returns a recognisable trace ID for trace i of a template.
func markerTraceID(i int) [16]byte {
	var id [16]byte
	copy(id[:6], "\xfe\xed\xfa\xce\x5a\x5a")
	binary.BigEndian.PutUint32(id[6:10], uint32(i))
	copy(id[10:], "\xa5\xa5\xde\xad\xbe\xef")
	return id
}

// markerSpanID returns a recognisable span ID for span i.
func markerSpanID(i int) [8]byte {
	var id [8]byte
	id[0], id[1] = 0xc0, 0xde
	binary.BigEndian.PutUint32(id[2:6], uint32(i))
	id[6], id[7] = 0x7e, 0x57
	return id
}

// BuildTraces makes a batch of the given shape with marker IDs, spans
// starting at startUnixNano.
func BuildTraces(shape Shape, traces int, startUnixNano uint64, seed uint64) ptrace.Traces {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	td := ptrace.NewTraces()
	if shape.Services < 1 {
		shape.Services = 1
	}
	if shape.SpansPerTrace < 1 {
		shape.SpansPerTrace = 1
	}
	if shape.Depth < 1 {
		shape.Depth = 1
	}
	names := shape.ServiceNames
	if len(names) == 0 {
		names = make([]string, shape.Services)
		for s := range names {
			names[s] = "bench-service"
			if shape.Services > 1 {
				names[s] = "service-" + strconv.Itoa(s)
			}
		}
	}
	// One resource per distinct name; byPos maps a name's position to it.
	var scopes []ptrace.ScopeSpans
	byPos := make([]int, len(names))
	for i, name := range names {
		if j := slices.Index(names[:i], name); j >= 0 {
			byPos[i] = byPos[j]
			continue
		}
		byPos[i] = len(scopes)
		s := len(scopes)
		rs := td.ResourceSpans().AppendEmpty()
		attrs := rs.Resource().Attributes()
		attrs.PutStr("service.name", name)
		attrs.PutStr("deployment.environment.name", "bench")
		attrs.PutStr("host.name", "bench-host-1")
		attrs.PutStr("service.version", "1.2.3")
		if shape.Varied {
			attrs.PutStr("datacenter", "dc-"+strconv.Itoa(s%3+1))
		}
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName("waymark-loadgen")
		scopes = append(scopes, ss)
	}
	routes := []string{"/api/v1/orders/{id}", "/api/v1/cart", "/api/v1/users/{id}", "/api/v2/search", "/healthz", "/api/v1/payments"}
	spanN := 0
	payload := string(bytes.Repeat([]byte("x"), shape.PayloadBytes))
	for t := 0; t < traces; t++ {
		tid := markerTraceID(t)
		base := startUnixNano + uint64(t)*1000
		ids := make([][8]byte, shape.SpansPerTrace)
		for j := 0; j < shape.SpansPerTrace; j++ {
			ids[j] = markerSpanID(spanN)
			spanN++
			pos := (t + j) % len(names)
			if len(shape.ServiceNames) > 0 {
				pos = j % len(names)
			}
			ss := scopes[byPos[pos]]
			sp := ss.Spans().AppendEmpty()
			sp.SetTraceID(tid)
			sp.SetSpanID(ids[j])
			if j == 0 {
				sp.SetKind(ptrace.SpanKindServer)
			} else {
				// Children form chains of Depth spans under the root.
				parent := j - 1
				if (j-1)%shape.Depth == 0 {
					parent = 0
				}
				sp.SetParentSpanID(ids[parent])
				sp.SetKind(ptrace.SpanKindClient)
			}
			sp.SetName("GET /api/v1/orders/{id}")
			start := base + uint64(j)*50_000
			dur := uint64(1_000_000 + rng.IntN(50_000_000))
			sp.SetStartTimestamp(pcommon.Timestamp(start))
			sp.SetEndTimestamp(pcommon.Timestamp(start + dur))
			a := sp.Attributes()
			a.PutStr("http.request.method", "GET")
			status := int64(200)
			if shape.Varied {
				route := routes[rng.IntN(len(routes))]
				sp.SetName("GET " + route)
				a.PutStr("http.route", route)
				status = []int64{200, 200, 200, 201, 204, 301, 404, 500, 503}[rng.IntN(9)]
				a.PutStr(RequestIDKey, fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xfff, rng.Uint32()&0xffff, rng.Uint64()&0xffffffffffff))
			} else {
				a.PutStr("http.route", "/api/v1/orders/{id}")
			}
			a.PutInt("http.response.status_code", status)
			a.PutStr("db.system.name", "postgresql")
			a.PutStr("user.tier", "gold")
			a.PutInt("retry.count", 0)
			if shape.PayloadBytes > 0 {
				a.PutStr("payload", payload)
			}
			if shape.ErrorRate > 0 && rng.Float64() < shape.ErrorRate {
				sp.Status().SetCode(ptrace.StatusCodeError)
				sp.Status().SetMessage("injected error")
			}
		}
	}
	return td
}

// NewTemplate encodes td with enc and finds the offsets of its marker IDs.
// hex says whether enc writes IDs as lowercase hex text instead of raw bytes.
func NewTemplate(td ptrace.Traces, traces int, enc func(ptrace.Traces) ([]byte, error), hex bool) (*Template, error) {
	body, err := enc(td)
	if err != nil {
		return nil, err
	}
	t := &Template{Body: body, Traces: traces, Spans: td.SpanCount(), hex: hex}
	t.traceOffs = make([][]int, traces)
	for i := range t.traceOffs {
		id := markerTraceID(i)
		t.traceOffs[i] = findAll(body, encodeID(id[:], hex))
		if len(t.traceOffs[i]) == 0 {
			return nil, fmt.Errorf("trace id marker %d not found in encoded batch", i)
		}
	}
	t.spanOffs = make([][]int, t.Spans)
	for i := range t.spanOffs {
		id := markerSpanID(i)
		t.spanOffs[i] = findAll(body, encodeID(id[:], hex))
		if len(t.spanOffs[i]) == 0 {
			return nil, fmt.Errorf("span id marker %d not found in encoded batch", i)
		}
	}
	if t.requestIDOffs, err = requestIDOffsets(td, body); err != nil {
		return nil, err
	}
	if !hex {
		if t.timeOffs, err = spanTimeOffsets(body); err != nil {
			return nil, err
		}
		if len(t.timeOffs) != 2*t.Spans {
			return nil, fmt.Errorf("found %d span times in the encoded batch, want %d", len(t.timeOffs), 2*t.Spans)
		}
	}
	return t, nil
}

// Shiftable reports whether InstanceAt can shift the template's span
// times: protobuf templates can, JSON (hex) ones cannot.
func (t *Template) Shiftable() bool { return t.timeOffs != nil }

// requestIDOffsets returns the offsets in body of every RequestIDKey value of td.
func requestIDOffsets(td ptrace.Traces, body []byte) ([]int, error) {
	var offs []int
	seen := map[string]bool{}
	var err error
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				v, ok := sp.Attributes().Get(RequestIDKey)
				if !ok || seen[v.Str()] {
					continue
				}
				seen[v.Str()] = true
				found := findAll(body, []byte(v.Str()))
				if len(found) == 0 && err == nil {
					err = fmt.Errorf("request id %q not found in encoded batch", v.Str())
				}
				offs = append(offs, found...)
			}
		}
	}
	return offs, err
}

// OTLP protobuf field numbers on the path to a span's times.
const (
	fieldResourceSpans = 1 // TracesData.resource_spans
	fieldScopeSpans    = 2 // ResourceSpans.scope_spans
	fieldSpans         = 2 // ScopeSpans.spans
	fieldStartTime     = 7 // Span.start_time_unix_nano (fixed64)
	fieldEndTime       = 8 // Span.end_time_unix_nano (fixed64)
)

// spanTimeOffsets returns the offsets of every span's start and end time
// in an OTLP protobuf TracesData body.
func spanTimeOffsets(body []byte) ([]int, error) {
	var offs []int
	err := eachField(body, 0, func(num protowire.Number, typ protowire.Type, rs []byte, rsOff int) error {
		if num != fieldResourceSpans || typ != protowire.BytesType {
			return nil
		}
		return eachField(rs, rsOff, func(num protowire.Number, typ protowire.Type, ss []byte, ssOff int) error {
			if num != fieldScopeSpans || typ != protowire.BytesType {
				return nil
			}
			return eachField(ss, ssOff, func(num protowire.Number, typ protowire.Type, span []byte, spanOff int) error {
				if num != fieldSpans || typ != protowire.BytesType {
					return nil
				}
				return eachField(span, spanOff, func(num protowire.Number, typ protowire.Type, _ []byte, off int) error {
					if (num == fieldStartTime || num == fieldEndTime) && typ == protowire.Fixed64Type {
						offs = append(offs, off)
					}
					return nil
				})
			})
		})
	})
	return offs, err
}

// eachField calls fn with every field of the protobuf message b, which
// starts at offset base of the whole body: its number, wire type, value
// (a length-delimited field's contents without the length) and the
// value's offset in the body.
func eachField(b []byte, base int, fn func(num protowire.Number, typ protowire.Type, v []byte, off int) error) error {
	for i := 0; i < len(b); {
		num, typ, n := protowire.ConsumeTag(b[i:])
		if n < 0 {
			return fmt.Errorf("protobuf field at offset %d: %w", base+i, protowire.ParseError(n))
		}
		i += n
		m := protowire.ConsumeFieldValue(num, typ, b[i:])
		if m < 0 {
			return fmt.Errorf("protobuf field %d at offset %d: %w", num, base+i, protowire.ParseError(m))
		}
		v, off := b[i:i+m], i
		if typ == protowire.BytesType {
			_, k := protowire.ConsumeVarint(b[i:])
			v, off = b[i+k:i+m], i+k
		}
		if err := fn(num, typ, v, base+off); err != nil {
			return err
		}
		i += m
	}
	return nil
}

func encodeID(id []byte, hex bool) []byte {
	if !hex {
		return id
	}
	const digits = "0123456789abcdef"
	out := make([]byte, 2*len(id))
	for i, b := range id {
		out[2*i], out[2*i+1] = digits[b>>4], digits[b&0xf]
	}
	return out
}

func findAll(body, pat []byte) []int {
	var offs []int
	for i := 0; ; {
		j := bytes.Index(body[i:], pat)
		if j < 0 {
			return offs
		}
		offs = append(offs, i+j)
		i += j + len(pat)
	}
}

// Instance writes a copy of the template into dst with IDs derived from seq
// (unique per seq) and returns it, with the trace IDs it used appended to ids.
func (t *Template) Instance(dst []byte, seq uint64, ids [][16]byte) ([]byte, [][16]byte) {
	return t.InstanceAt(dst, seq, ids, 0)
}

// InstanceAt is Instance with every span's start and end time moved by
// shift (negative: into the past). A template that is not Shiftable keeps
// its times.
func (t *Template) InstanceAt(dst []byte, seq uint64, ids [][16]byte, shift time.Duration) ([]byte, [][16]byte) {
	dst = append(dst[:0], t.Body...)
	if shift != 0 {
		for _, off := range t.timeOffs {
			binary.LittleEndian.PutUint64(dst[off:], binary.LittleEndian.Uint64(dst[off:])+uint64(shift))
		}
	}
	for i, off := range t.requestIDOffs {
		writeRequestID(dst[off:], mix(seq<<24|uint64(i)^0x6a09e667f3bcc909), mix(seq<<24|uint64(i)^0xbb67ae8584caa73b))
	}
	for i, offs := range t.traceOffs {
		var id [16]byte
		key := seq<<20 | uint64(i)
		binary.BigEndian.PutUint64(id[:8], mix(key^0x5bd1e9955bd1e995))
		binary.BigEndian.PutUint64(id[8:], mix(key))
		ids = append(ids, id)
		for _, off := range offs {
			writeID(dst[off:], id[:], t.hex)
		}
	}
	for i, offs := range t.spanOffs {
		var id [8]byte
		v := mix(seq<<24 | uint64(i) ^ 0x2545f4914f6cdd1d)
		if v == 0 {
			v = 1
		}
		binary.BigEndian.PutUint64(id[:], v)
		for _, off := range offs {
			writeID(dst[off:], id[:], t.hex)
		}
	}
	return dst, ids
}

func writeID(dst, id []byte, hex bool) {
	if !hex {
		copy(dst, id)
		return
	}
	const digits = "0123456789abcdef"
	for i, b := range id {
		dst[2*i], dst[2*i+1] = digits[b>>4], digits[b&0xf]
	}
}

// writeRequestID overwrites the hex digits of the UUID text at dst
// (8-4-4-4-12, version digit kept) with digits of hi and lo.
func writeRequestID(dst []byte, hi, lo uint64) {
	const digits = "0123456789abcdef"
	bits := [2]uint64{hi, lo}
	n := 0
	for i := 0; i < 36; i++ {
		if i == 8 || i == 13 || i == 14 || i == 18 || i == 23 {
			continue // dashes and the version digit
		}
		dst[i] = digits[bits[n/16]>>(4*(n%16))&0xf]
		n++
	}
}

// mix is SplitMix64's finalizer: a bijection on uint64, so distinct keys
// give distinct, well-spread IDs.
func mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
