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
	req := b.OTLP
	if req == nil {
		var err error
		req, err = ptraceotlp.NewExportRequestFromTraces(model.TracesFromSpans(b.Spans)).MarshalProto()
		if err != nil {
			return fmt.Errorf("encode batch: %w", err)
		}
	}
	tenant := b.Tenant
	if tenant == "" {
		tenant = model.DefaultTenant
	}
	item := AppendQueueItem(make([]byte, 0, len(req)+len(tenant)+16), QueueItem{Tenant: tenant, Spans: len(b.Spans), Request: req})
	if err := e.q.Put(ctx, item); err != nil {
		return fmt.Errorf("enqueue batch: %w", err)
	}
	return nil
}
