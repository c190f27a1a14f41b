package block

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"waymark/internal/model"
)

// FormatVersion is the block format version this package writes. Version
// 2 stores empty strings and zeros of attribute values as nulls, which a
// version-1 reader rejects; this package reads both versions.
const FormatVersion = 2

// oldestFormatVersion is the oldest block format version this package reads.
const oldestFormatVersion = 1

// Meta describes a complete block; it is stored as meta.json.
type Meta struct {
	// Version is the block format version (FormatVersion when written by
	// this package).
	Version int `json:"version"`
	// ID is the block's unique ID: 26 characters of Crockford base32 whose
	// first 10 encode the creation time in milliseconds, so IDs sort by age.
	ID string `json:"id"`
	// Tenant owns the block's data.
	Tenant string `json:"tenant"`
	// MinTimeUnixNano is the earliest span start time in the block.
	MinTimeUnixNano uint64 `json:"min_time_unix_nano"`
	// MaxTimeUnixNano is the latest span end time in the block.
	MaxTimeUnixNano uint64 `json:"max_time_unix_nano"`
	// SpanCount is the number of spans (rows) in data.parquet.
	SpanCount int64 `json:"span_count"`
	// TraceCount is the number of distinct trace IDs in the block.
	TraceCount int64 `json:"trace_count"`
	// DataSize is the size of data.parquet in bytes.
	DataSize int64 `json:"data_size"`
	// IndexSize is the size of the index object in bytes.
	IndexSize int64 `json:"index_size"`
	// Services lists the distinct service names in the block, sorted.
	Services []string `json:"services"`
	// Level is the compaction level: 0 for a block cut from the head, and
	// one more than its highest input for a compacted block.
	Level int `json:"level"`
	// CreatedUnixNano is when the block was written.
	CreatedUnixNano int64 `json:"created_unix_nano"`
}

// Validate checks that m is a well-formed meta of a supported version.
func (m *Meta) Validate() error {
	if m.Version < oldestFormatVersion || m.Version > FormatVersion {
		return fmt.Errorf("unsupported block version %d", m.Version)
	}
	if err := ValidateID(m.ID); err != nil {
		return err
	}
	if err := model.ValidateTenant(m.Tenant); err != nil {
		return err
	}
	switch {
	case m.SpanCount < 0, m.TraceCount < 0, m.DataSize < 0, m.IndexSize < 0:
		return errors.New("negative count or size")
	case m.TraceCount > m.SpanCount:
		return fmt.Errorf("trace count %d exceeds span count %d", m.TraceCount, m.SpanCount)
	case m.SpanCount > 0 && m.MinTimeUnixNano > m.MaxTimeUnixNano:
		return fmt.Errorf("min time %d is after max time %d", m.MinTimeUnixNano, m.MaxTimeUnixNano)
	case m.Level < 0:
		return fmt.Errorf("negative level %d", m.Level)
	}
	return nil
}

// DecodeMeta parses and validates a meta.json document.
func DecodeMeta(data []byte) (Meta, error) {
	var m Meta
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Meta{}, fmt.Errorf("decode meta: %w", err)
	}
	if dec.More() {
		return Meta{}, errors.New("decode meta: trailing data")
	}
	if err := m.Validate(); err != nil {
		return Meta{}, fmt.Errorf("invalid meta: %w", err)
	}
	return m, nil
}

// encodeMeta renders m as indented JSON.
func encodeMeta(m Meta) ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode meta: %w", err)
	}
	return append(b, '\n'), nil
}

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// idLen is the length of a block ID.
const idLen = 26

// NewID returns a new block ID for time t: 48 bits of Unix milliseconds
// followed by 80 random bits, in Crockford base32 (a ULID). IDs of blocks
// created in different milliseconds sort by creation time.
func NewID(t time.Time) string {
	var b [16]byte
	ms := uint64(t.UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	_, _ = rand.Read(b[6:]) // crypto/rand.Read never fails
	// 128 bits as 26 base32 digits: the first digit holds the top 3 bits.
	var out [idLen]byte
	hi := uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 | uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
	lo := uint64(b[8])<<56 | uint64(b[9])<<48 | uint64(b[10])<<40 | uint64(b[11])<<32 | uint64(b[12])<<24 | uint64(b[13])<<16 | uint64(b[14])<<8 | uint64(b[15])
	for i := idLen - 1; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// ValidateID checks that id has the form NewID produces.
func ValidateID(id string) error {
	if len(id) != idLen {
		return fmt.Errorf("block id %q must be %d characters", id, idLen)
	}
	if id[0] > '7' {
		return fmt.Errorf("block id %q overflows 128 bits", id)
	}
	for i := 0; i < len(id); i++ {
		if strings.IndexByte(crockford, id[i]) < 0 {
			return fmt.Errorf("block id %q has character %q outside Crockford base32", id, id[i])
		}
	}
	return nil
}

// IDTime returns the creation time encoded in a valid block ID.
func IDTime(id string) (time.Time, error) {
	if err := ValidateID(id); err != nil {
		return time.Time{}, err
	}
	var ms uint64
	for i := 0; i < 10; i++ {
		ms = ms<<5 | uint64(strings.IndexByte(crockford, id[i]))
	}
	return time.UnixMilli(int64(ms)), nil
}
