package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"waymark/internal/model"
)

// WAL record layout (version 1):
//
//	byte 0      record version (1)
//	uvarint     tenant length, then the tenant bytes
//	rest        OTLP ExportTraceServiceRequest protobuf (== TracesData on the wire)
const recordVersion = 1

var errBadRecord = errors.New("bad wal record")

// appendRecord encodes tenant and the OTLP protobuf bytes into dst.
func appendRecord(dst []byte, tenant string, otlp []byte) []byte {
	dst = append(dst, recordVersion)
	dst = binary.AppendUvarint(dst, uint64(len(tenant)))
	dst = append(dst, tenant...)
	return append(dst, otlp...)
}

// decodeRecord returns the tenant and spans of a WAL record.
func decodeRecord(rec []byte) (string, []model.Span, error) {
	if len(rec) < 2 || rec[0] != recordVersion {
		return "", nil, fmt.Errorf("%w: unknown version", errBadRecord)
	}
	n, w := binary.Uvarint(rec[1:])
	if w <= 0 || n > model.MaxTenantLength || uint64(len(rec)-1-w) < n {
		return "", nil, fmt.Errorf("%w: bad tenant length", errBadRecord)
	}
	start := 1 + w
	tenant := string(rec[start : start+int(n)])
	var u ptrace.ProtoUnmarshaler
	td, err := u.UnmarshalTraces(rec[start+int(n):])
	if err != nil {
		return "", nil, fmt.Errorf("%w: %v", errBadRecord, err)
	}
	return tenant, model.SpansFromTraces(nil, td), nil
}

// encodeOTLP returns b's OTLP protobuf bytes, encoding the spans if the
// receiver did not keep them.
func encodeOTLP(b *model.Batch) ([]byte, error) {
	if b.OTLP != nil {
		return b.OTLP, nil
	}
	var m ptrace.ProtoMarshaler
	return m.MarshalTraces(model.TracesFromSpans(b.Spans))
}
