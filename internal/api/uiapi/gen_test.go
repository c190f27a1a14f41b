package uiapi

import (
	"encoding/binary"
	"fmt"
	"time"

	"waymark/internal/model"
)

// workload generates request traces edge → gateway → app → db in three
// datacenters; requests in failingDC fail with the given probability (decided
// deterministically from the request number), and their app spans are slow.
type workload struct {
	base      time.Time
	failingDC string
	failEvery int // every failEvery-th request in failingDC fails
	resources map[string]*model.Resource
}

func newWorkload(base time.Time) *workload {
	return &workload{base: base, failingDC: "dc-2", failEvery: 3, resources: make(map[string]*model.Resource)}
}

var datacenters = []string{"dc-1", "dc-2", "dc-3"}

func (w *workload) resource(service, dc string) *model.Resource {
	k := service + "/" + dc
	if r, ok := w.resources[k]; ok {
		return r
	}
	r := &model.Resource{ServiceName: service, Attributes: model.Attributes{
		{Key: "service.name", Value: model.StringValue(service)},
		{Key: "datacenter", Value: model.StringValue(dc)},
	}}
	w.resources[k] = r
	return r
}

func traceID(n int) model.TraceID {
	var id model.TraceID
	id[0] = 0xab
	binary.BigEndian.PutUint64(id[8:], uint64(n)+1)
	return id
}

func spanID(trace, n int) model.SpanID {
	var id model.SpanID
	binary.BigEndian.PutUint32(id[:4], uint32(trace)+1)
	binary.BigEndian.PutUint32(id[4:], uint32(n)+1)
	return id
}

// request returns the spans of request n, started n seconds after base.
func (w *workload) request(n int) []model.Span {
	dc := datacenters[n%len(datacenters)]
	failed := dc == w.failingDC && (n/len(datacenters))%w.failEvery == 0
	start := uint64(w.base.Add(time.Duration(n) * time.Second).UnixNano())
	tid := traceID(n)
	ms := uint64(time.Millisecond)
	appDur := 20 * ms
	if dc == w.failingDC {
		appDur = 60 * ms
	}
	type def struct {
		service, name string
		kind          model.SpanKind
		parent        int
		offset, dur   uint64
		err           bool
	}
	defs := []def{
		{"edge", "GET /checkout", model.KindServer, -1, 0, appDur + 10*ms, failed},
		{"gateway", "route", model.KindServer, 0, 1 * ms, appDur + 8*ms, failed},
		{"app", "checkout", model.KindServer, 1, 2 * ms, appDur, failed},
		{"db", "SELECT", model.KindClient, 2, 3 * ms, 5 * ms, false},
	}
	spans := make([]model.Span, len(defs))
	for i, d := range defs {
		s := model.Span{
			TraceID:           tid,
			SpanID:            spanID(n, i),
			Name:              d.name,
			Kind:              d.kind,
			StartTimeUnixNano: start + d.offset,
			EndTimeUnixNano:   start + d.offset + d.dur,
			Resource:          w.resource(d.service, dc),
			Attributes:        model.Attributes{{Key: "x-request-id", Value: model.StringValue(fmt.Sprintf("req-%d", n))}},
		}
		if d.parent >= 0 {
			s.ParentSpanID = spanID(n, d.parent)
		} else {
			// The edge proxy tags the request ID as Envoy does, and the
			// gateway as a captured header.
			s.Attributes = append(s.Attributes, model.Attribute{Key: "guid:x-request-id", Value: model.StringValue(fmt.Sprintf("envoy-%d", n))})
		}
		if i == 1 {
			s.Attributes = append(s.Attributes, model.Attribute{Key: "http.request.header.x_request_id", Value: model.StringValue(fmt.Sprintf("hdr-%d", n))})
		}
		if d.err {
			s.StatusCode = model.StatusError
		}
		spans[i] = s
	}
	return spans
}

// requests returns the spans of requests 0..n-1.
func (w *workload) requests(n int) [][]model.Span {
	out := make([][]model.Span, n)
	for i := range out {
		out[i] = w.request(i)
	}
	return out
}
