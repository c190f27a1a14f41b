package loadgen

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Shape describes the traces to generate.
type Shape struct {
	// Services is the number of distinct service names (resources) used.
	Services int
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

// Template is one encoded batch with the offsets of its IDs.
type Template struct {
	// Body is the encoded batch with marker IDs.
	Body []byte
	// Traces and Spans are the numbers of traces and spans in the batch.
	Traces, Spans int
	traceOffs     [][]int // per trace: offsets of every copy of its trace ID
	spanOffs      [][]int // per span: offsets of every copy of its span ID (incl. as parent)
	hex           bool    // IDs are written as lowercase hex text
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
	scopes := make([]ptrace.ScopeSpans, shape.Services)
	for s := range scopes {
		rs := td.ResourceSpans().AppendEmpty()
		attrs := rs.Resource().Attributes()
		name := "bench-service"
		if shape.Services > 1 {
			name = "service-" + strconv.Itoa(s)
		}
		attrs.PutStr("service.name", name)
		attrs.PutStr("deployment.environment.name", "bench")
		attrs.PutStr("host.name", "bench-host-1")
		attrs.PutStr("service.version", "1.2.3")
		if shape.Varied {
			attrs.PutStr("datacenter", "dc-"+strconv.Itoa(s%3+1))
		}
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName("waymark-loadgen")
		scopes[s] = ss
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
			ss := scopes[(t+j)%len(scopes)]
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
				a.PutStr("guid:x-request-id", fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xfff, rng.Uint32()&0xffff, rng.Uint64()&0xffffffffffff))
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
	return t, nil
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
	dst = append(dst[:0], t.Body...)
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

// mix is SplitMix64's finalizer: a bijection on uint64, so distinct keys
// give distinct, well-spread IDs.
func mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
