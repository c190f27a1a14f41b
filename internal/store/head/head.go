package head

import (
	"context"
	"slices"
	"sort"
	"sync"

	"waymark/internal/model"
	"waymark/internal/store/filter"
	"waymark/internal/store/summary"
)

// Operation is a span name with the kind it was seen with.
type Operation struct {
	Name string
	Kind model.SpanKind
}

// Head holds recent spans per tenant.
type Head struct {
	mu      sync.RWMutex
	tenants map[string]*tenantHead
	spans   int64
	bytes   int64
	minTime uint64
	maxTime uint64
}

type tenantHead struct {
	mu     sync.RWMutex
	traces map[model.TraceID]*trace
	spans  int64
	// services maps a service name to the operations seen in it.
	services map[string]map[Operation]struct{}
	// tags holds the attribute keys and values seen, per scope.
	tags      summary.Tags
	resources map[*model.Resource]struct{}
}

type trace struct {
	spans []model.Span
	start uint64 // earliest span start
	end   uint64 // latest span end
}

// New returns an empty head.
func New() *Head {
	return &Head{tenants: make(map[string]*tenantHead)}
}

func (h *Head) tenant(name string, create bool) *tenantHead {
	h.mu.RLock()
	t := h.tenants[name]
	h.mu.RUnlock()
	if t != nil || !create {
		return t
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if t = h.tenants[name]; t == nil {
		t = &tenantHead{traces: make(map[model.TraceID]*trace), services: make(map[string]map[Operation]struct{}),
			tags: summary.NewTags(), resources: make(map[*model.Resource]struct{})}
		h.tenants[name] = t
	}
	return t
}

// Append adds spans of one tenant. The head keeps the spans (and the
// Resources and Scopes they point to); the caller must not change them.
func (h *Head) Append(tenant string, spans []model.Span) {
	if len(spans) == 0 {
		return
	}
	t := h.tenant(tenant, true)
	var (
		size             int64
		minTime, maxTime uint64
	)
	t.mu.Lock()
	var lastRes *model.Resource
	var lastOps map[Operation]struct{}
	for i := range spans {
		s := &spans[i]
		tr := t.traces[s.TraceID]
		if tr == nil {
			// Batches usually hold a trace's spans together: size the
			// trace's slice for the run that starts here.
			run := 1
			for run < len(spans)-i && spans[i+run].TraceID == s.TraceID {
				run++
			}
			tr = &trace{spans: make([]model.Span, 0, run), start: s.StartTimeUnixNano, end: s.EndTimeUnixNano}
			t.traces[s.TraceID] = tr
		}
		tr.spans = append(tr.spans, *s)
		tr.start = min(tr.start, s.StartTimeUnixNano)
		tr.end = max(tr.end, s.EndTimeUnixNano)
		if s.Resource != lastRes || lastOps == nil {
			svc := s.ServiceName()
			lastOps = t.services[svc]
			if lastOps == nil {
				lastOps = make(map[Operation]struct{})
				t.services[svc] = lastOps
			}
			lastRes = s.Resource
		}
		op := Operation{Name: s.Name, Kind: s.Kind}
		if _, ok := lastOps[op]; !ok {
			lastOps[op] = struct{}{}
		}
		t.tags.Add(s, t.resources)
		size += SpanSize(s)
		if minTime == 0 || s.StartTimeUnixNano < minTime {
			minTime = s.StartTimeUnixNano
		}
		maxTime = max(maxTime, s.EndTimeUnixNano)
	}
	t.spans += int64(len(spans))
	t.mu.Unlock()

	h.mu.Lock()
	h.spans += int64(len(spans))
	h.bytes += size
	if h.minTime == 0 || minTime < h.minTime {
		h.minTime = minTime
	}
	h.maxTime = max(h.maxTime, maxTime)
	h.mu.Unlock()
}

// SpanSize estimates the memory a span takes in the head, in bytes.
func SpanSize(s *model.Span) int64 {
	n := int64(240 + len(s.Name) + len(s.TraceState) + len(s.StatusMessage))
	n += attributesSize(s.Attributes)
	for i := range s.Events {
		n += 64 + int64(len(s.Events[i].Name)) + attributesSize(s.Events[i].Attributes)
	}
	for i := range s.Links {
		n += 96 + attributesSize(s.Links[i].Attributes)
	}
	return n
}

func attributesSize(attrs model.Attributes) int64 {
	n := int64(0)
	for i := range attrs {
		n += 56 + int64(len(attrs[i].Key)+len(attrs[i].Value.Str))
	}
	return n
}

// Stats describes the head's content.
type Stats struct {
	Spans int64
	// Bytes is an estimate of the memory the spans take.
	Bytes           int64
	MinTimeUnixNano uint64
	MaxTimeUnixNano uint64
	Tenants         int
}

// Stats returns the head's size and time range.
func (h *Head) Stats() Stats {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return Stats{Spans: h.spans, Bytes: h.bytes, MinTimeUnixNano: h.minTime, MaxTimeUnixNano: h.maxTime, Tenants: len(h.tenants)}
}

// Tenants returns the tenants that have spans in the head, sorted.
func (h *Head) Tenants() []string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]string, 0, len(h.tenants))
	for t := range h.tenants {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Spans returns all spans of tenant, trace by trace. The spans are shared
// with the head and must not be changed.
func (h *Head) Spans(tenant string) []model.Span {
	t := h.tenant(tenant, false)
	if t == nil {
		return nil
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]model.Span, 0, t.spans)
	for _, tr := range t.traces {
		out = append(out, tr.spans...)
	}
	return out
}

// FindTrace returns a copy of the slice of spans of trace id, or nil.
func (h *Head) FindTrace(tenant string, id model.TraceID) []model.Span {
	t := h.tenant(tenant, false)
	if t == nil {
		return nil
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	tr := t.traces[id]
	if tr == nil {
		return nil
	}
	return slices.Clone(tr.spans)
}

// Search calls fn for every trace with at least one span matching req,
// newest trace first (by the trace's earliest span start), with the matching
// spans. fn returning false stops the search. req must be compiled.
func (h *Head) Search(ctx context.Context, tenant string, req *filter.Request, fn func(filter.Match) bool) error {
	t := h.tenant(tenant, false)
	if t == nil {
		return nil
	}
	var matches []filter.Match
	t.mu.RLock()
	n := 0
	for id, tr := range t.traces {
		if n++; n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				t.mu.RUnlock()
				return err
			}
		}
		if req.EndUnixNano != 0 && tr.start > req.EndUnixNano {
			continue
		}
		if req.StartUnixNano != 0 && tr.end < req.StartUnixNano {
			continue
		}
		var matched []model.Span
		for i := range tr.spans {
			if req.MatchSpan(&tr.spans[i]) {
				matched = append(matched, tr.spans[i])
			}
		}
		if matched != nil {
			matches = append(matches, filter.Match{TraceID: id, StartUnixNano: tr.start, EndUnixNano: tr.end, Spans: matched})
		}
	}
	t.mu.RUnlock()
	SortNewestFirst(matches)
	for _, m := range matches {
		if !fn(m) {
			return nil
		}
	}
	return nil
}

// SortNewestFirst orders matches by start time, newest first, then by trace ID
// so that equal times sort deterministically.
func SortNewestFirst(ms []filter.Match) {
	slices.SortFunc(ms, func(a, b filter.Match) int {
		switch {
		case a.StartUnixNano > b.StartUnixNano:
			return -1
		case a.StartUnixNano < b.StartUnixNano:
			return 1
		}
		return slices.Compare(a.TraceID[:], b.TraceID[:])
	})
}

// Services returns the service names seen by tenant, sorted.
func (h *Head) Services(tenant string) []string {
	t := h.tenant(tenant, false)
	if t == nil {
		return nil
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]string, 0, len(t.services))
	for s := range t.services {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Operations returns the operations of service seen by tenant, sorted by
// name then kind. An empty service returns the operations of all services.
func (h *Head) Operations(tenant, service string) []Operation {
	t := h.tenant(tenant, false)
	if t == nil {
		return nil
	}
	t.mu.RLock()
	set := make(map[Operation]struct{})
	for svc, ops := range t.services {
		if service != "" && svc != service {
			continue
		}
		for op := range ops {
			set[op] = struct{}{}
		}
	}
	t.mu.RUnlock()
	out := make([]Operation, 0, len(set))
	for op := range set {
		out = append(out, op)
	}
	SortOperations(out)
	return out
}

// SortOperations orders operations by name, then kind.
func SortOperations(ops []Operation) {
	slices.SortFunc(ops, func(a, b Operation) int {
		if a.Name != b.Name {
			if a.Name < b.Name {
				return -1
			}
			return 1
		}
		return int(a.Kind) - int(b.Kind)
	})
}

// MergeTags adds the attribute keys and values tenant's spans carry to dst.
func (h *Head) MergeTags(tenant string, dst summary.Tags) {
	t := h.tenant(tenant, false)
	if t == nil {
		return
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	dst.Merge(t.tags)
}

// MergeDependencies adds the service edges of tenant's traces that overlap
// [start, end] (0 = unbounded) to dst.
func (h *Head) MergeDependencies(tenant string, start, end uint64, dst map[[2]string]*summary.Dependency) {
	t := h.tenant(tenant, false)
	if t == nil {
		return
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, tr := range t.traces {
		if (end != 0 && tr.start > end) || (start != 0 && tr.end < start) {
			continue
		}
		summary.Dependencies(dst, tr.spans)
	}
}
