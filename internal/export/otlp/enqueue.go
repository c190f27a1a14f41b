package otlp

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"waymark/internal/model"
)

// Putter is the durable side of the queue: Put returns nil only once the
// item is durable. Put must not keep item after it returns: the Enqueuer
// reuses the buffer.
type Putter interface {
	Put(ctx context.Context, item []byte) error
}

// Enqueuer is a model.Consumer that writes each batch to the queue as one
// item. Consume returns nil only once the batch is durable, and passes on
// the queue's errors (such as *model.OverloadedError) unchanged in kind.
type Enqueuer struct {
	q    Putter
	bufs sync.Pool // *[]byte, item buffers for reuse
}

// maxPooledItem bounds the item buffers kept for reuse.
const maxPooledItem = 16 << 20

var _ model.Consumer = (*Enqueuer)(nil)

// NewEnqueuer returns an Enqueuer writing to q.
func NewEnqueuer(q Putter) *Enqueuer { return &Enqueuer{q: q} }

// Consume encodes b (reusing b.OTLP when a receiver kept it) and puts it.
func (e *Enqueuer) Consume(ctx context.Context, b model.Batch) error {
	if len(b.Spans) == 0 {
		return nil
	}
	tenant := b.Tenant
	if tenant == "" {
		tenant = model.DefaultTenant
	}
	bp, _ := e.bufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	item, err := appendItem((*bp)[:0], tenant, b)
	if err != nil {
		return err
	}
	err = e.q.Put(ctx, item)
	if cap(item) <= maxPooledItem {
		*bp = item
		e.bufs.Put(bp)
	}
	if err != nil {
		return fmt.Errorf("enqueue batch: %w", err)
	}
	return nil
}

// encodeItem builds the queue item of b in a new buffer.
func encodeItem(tenant string, b model.Batch) ([]byte, error) {
	return appendItem(nil, tenant, b)
}

// appendItem appends the queue item of b to dst, preferring the receiver's
// bytes, then the direct encoder, then pdata for the rare array and map
// values.
func appendItem(dst []byte, tenant string, b model.Batch) ([]byte, error) {
	switch {
	case b.OTLP != nil:
		dst = slices.Grow(dst, maxItemHeader+len(tenant)+len(b.OTLP))
		return AppendQueueItem(dst, QueueItem{Tenant: tenant, Spans: len(b.Spans), Request: b.OTLP}), nil
	case encodable(b.Spans):
		enc := requestEncoder{spanSizes: make([]int, 0, len(b.Spans))}
		n := enc.size(b.Spans)
		dst = appendItemHeader(slices.Grow(dst, maxItemHeader+len(tenant)+n), tenant, len(b.Spans))
		return enc.appendRequest(dst, b.Spans), nil
	}
	req, err := ptraceotlp.NewExportRequestFromTraces(model.TracesFromSpans(b.Spans)).MarshalProto()
	if err != nil {
		return nil, fmt.Errorf("encode batch: %w", err)
	}
	dst = slices.Grow(dst, maxItemHeader+len(tenant)+len(req))
	return AppendQueueItem(dst, QueueItem{Tenant: tenant, Spans: len(b.Spans), Request: req}), nil
}
