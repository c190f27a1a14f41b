package otlp

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"waymark/internal/model"
)

// Putter is the durable side of the queue: Put returns nil only once the
// item is durable.
type Putter interface {
	Put(ctx context.Context, item []byte) error
}

// Enqueuer is a model.Consumer that writes each batch to the queue as one
// item. Consume returns nil only once the batch is durable, and passes on
// the queue's errors (such as *model.OverloadedError) unchanged in kind.
type Enqueuer struct {
	q Putter
}

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
	item, err := encodeItem(tenant, b)
	if err != nil {
		return err
	}
	if err := e.q.Put(ctx, item); err != nil {
		return fmt.Errorf("enqueue batch: %w", err)
	}
	return nil
}

// encodeItem builds the queue item of b, preferring the receiver's bytes,
// then the direct encoder, then pdata for the rare array and map values.
func encodeItem(tenant string, b model.Batch) ([]byte, error) {
	switch {
	case b.OTLP != nil:
		return AppendQueueItem(make([]byte, 0, maxItemHeader+len(tenant)+len(b.OTLP)), QueueItem{Tenant: tenant, Spans: len(b.Spans), Request: b.OTLP}), nil
	case encodable(b.Spans):
		enc := requestEncoder{spanSizes: make([]int, 0, len(b.Spans))}
		n := enc.size(b.Spans)
		item := appendItemHeader(make([]byte, 0, maxItemHeader+len(tenant)+n), tenant, len(b.Spans))
		return enc.appendRequest(item, b.Spans), nil
	}
	req, err := ptraceotlp.NewExportRequestFromTraces(model.TracesFromSpans(b.Spans)).MarshalProto()
	if err != nil {
		return nil, fmt.Errorf("encode batch: %w", err)
	}
	return AppendQueueItem(make([]byte, 0, maxItemHeader+len(tenant)+len(req)), QueueItem{Tenant: tenant, Spans: len(b.Spans), Request: req}), nil
}
