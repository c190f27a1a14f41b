package otlp

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Queue item layout:
//
//	version = 1 (1 byte) | spans (uvarint) | tenant length (uvarint) | tenant | request
//
// request is an OTLP ExportTraceServiceRequest in protobuf encoding. The
// span count lets the exporter count spans without decoding the request.
const itemVersion = 1

// maxTenantLength bounds the tenant of a decoded item.
const maxTenantLength = 1 << 10

// ErrBadItem reports a queue item that cannot be decoded.
var ErrBadItem = errors.New("bad queue item")

// QueueItem is one queued export request.
type QueueItem struct {
	// Tenant is the tenant the spans belong to.
	Tenant string
	// Spans is the number of spans in Request.
	Spans int
	// Request is an ExportTraceServiceRequest in protobuf encoding.
	Request []byte
}

// AppendQueueItem appends the encoding of it to dst.
func AppendQueueItem(dst []byte, it QueueItem) []byte {
	return append(appendItemHeader(dst, it.Tenant, it.Spans), it.Request...)
}

// appendItemHeader appends everything of an item before its request.
func appendItemHeader(dst []byte, tenant string, spans int) []byte {
	dst = append(dst, itemVersion)
	dst = binary.AppendUvarint(dst, uint64(spans))
	dst = binary.AppendUvarint(dst, uint64(len(tenant)))
	return append(dst, tenant...)
}

// maxItemHeader bounds the header's size apart from the tenant.
const maxItemHeader = 1 + 2*binary.MaxVarintLen64

// DecodeQueueItem decodes an item; Request aliases b.
func DecodeQueueItem(b []byte) (QueueItem, error) {
	if len(b) == 0 || b[0] != itemVersion {
		return QueueItem{}, fmt.Errorf("%w: unknown version", ErrBadItem)
	}
	b = b[1:]
	spans, n := binary.Uvarint(b)
	if n <= 0 {
		return QueueItem{}, fmt.Errorf("%w: span count", ErrBadItem)
	}
	b = b[n:]
	tl, n := binary.Uvarint(b)
	if n <= 0 || tl > maxTenantLength || tl > uint64(len(b)-n) {
		return QueueItem{}, fmt.Errorf("%w: tenant length", ErrBadItem)
	}
	b = b[n:]
	req := b[tl:]
	// Every encoded span takes at least two bytes of the request.
	if spans > uint64(len(req)) {
		return QueueItem{}, fmt.Errorf("%w: %d spans in a %d-byte request", ErrBadItem, spans, len(req))
	}
	return QueueItem{Tenant: string(b[:tl]), Spans: int(spans), Request: req}, nil
}
