package receivetest

import (
	"encoding/binary"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// WorkloadTraces builds n spans shaped like the reference workload: one
// resource with service.name and three more attributes, traces of a root
// and four children, and six span attributes each. With varied set, routes,
// status codes and a request ID differ from span to span. IDs derive from
// seed, so equal arguments give equal traces.
func WorkloadTraces(n int, seed uint64, varied bool) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	ra := rs.Resource().Attributes()
	ra.PutStr("service.name", "bench-service")
	ra.PutStr("deployment.environment.name", "bench")
	ra.PutStr("host.name", "bench-host-1")
	ra.PutStr("service.version", "1.2.3")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("waymark/bench")
	ss.Scope().SetVersion("0.1.0")
	spans := ss.Spans()
	spans.EnsureCapacity(n)
	const start = 1_700_000_000_000_000_000
	var tid pcommon.TraceID
	var root pcommon.SpanID
	for i := range n {
		if i%5 == 0 {
			binary.BigEndian.PutUint64(tid[:8], seed)
			binary.BigEndian.PutUint64(tid[8:], uint64(i/5)+1)
		}
		var sid pcommon.SpanID
		binary.BigEndian.PutUint64(sid[:], seed^uint64(i+1)<<8|0xff)
		s := spans.AppendEmpty()
		s.SetTraceID(tid)
		s.SetSpanID(sid)
		if i%5 == 0 {
			root = sid
			s.SetKind(ptrace.SpanKindServer)
			s.SetName("GET /api/v1/orders/{id}")
		} else {
			s.SetParentSpanID(root)
			s.SetKind(ptrace.SpanKindClient)
			s.SetName("SELECT orders")
		}
		ts := uint64(start + i*1000)
		s.SetStartTimestamp(pcommon.Timestamp(ts))
		s.SetEndTimestamp(pcommon.Timestamp(ts + 250_000))
		a := s.Attributes()
		a.EnsureCapacity(7)
		a.PutStr("http.request.method", "GET")
		status := int64(200)
		route := "/api/v1/orders/{id}"
		if varied {
			status = []int64{200, 201, 404, 500}[i%4]
			route = "/api/v1/orders/" + strconv.Itoa(i%50) + "/{id}"
			a.PutStr("request.id", strconv.FormatUint(seed, 16)+"-"+strconv.Itoa(i))
		}
		a.PutStr("http.route", route)
		a.PutInt("http.response.status_code", status)
		a.PutStr("db.system.name", "postgresql")
		a.PutStr("user.tier", "gold")
		a.PutInt("retry.count", 0)
	}
	return td
}
