package model

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// DefaultTenant is the tenant of data sent without a tenant header.
const DefaultTenant = "single-tenant"

// MaxTenantLength bounds a tenant ID.
const MaxTenantLength = 150

// ValidateTenant checks that a tenant ID is non-empty, short, and made of
// characters that are safe in a path: letters, digits and "!-_.*'()".
func ValidateTenant(t string) error {
	if t == "" {
		return errors.New("tenant id is empty")
	}
	if len(t) > MaxTenantLength {
		return fmt.Errorf("tenant id is longer than %d characters", MaxTenantLength)
	}
	if t == "." || t == ".." {
		return fmt.Errorf("tenant id %q is not allowed", t)
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '!' || c == '-' || c == '_' || c == '.' || c == '*' || c == '\'' || c == '(' || c == ')':
		default:
			return fmt.Errorf("tenant id %q has character %q; allowed are letters, digits and !-_.*'()", t, c)
		}
	}
	return nil
}

// Batch is a set of spans of one tenant travelling through the pipeline.
type Batch struct {
	Tenant string
	Spans  []Span
	// OTLP optionally holds the OTLP ExportTraceServiceRequest protobuf
	// encoding of exactly Spans, as a receiver got it, so that a durable
	// stage can log it without encoding it again. A stage that changes Spans
	// must set OTLP to nil.
	OTLP []byte
}

// Consumer takes batches. Implementations document when Consume returns:
// a durable stage returns nil only after the batch is durable. The batch's
// slices are owned by the consumer after the call.
type Consumer interface {
	Consume(ctx context.Context, b Batch) error
}

// ConsumerFunc adapts a function to Consumer.
type ConsumerFunc func(ctx context.Context, b Batch) error

// Consume calls f.
func (f ConsumerFunc) Consume(ctx context.Context, b Batch) error { return f(ctx, b) }

// OverloadedError says the pipeline cannot take more data now; senders should
// retry after RetryAfter. Receivers turn it into HTTP 429/503 with
// Retry-After, or gRPC UNAVAILABLE/RESOURCE_EXHAUSTED with RetryInfo.
type OverloadedError struct {
	Reason     string
	RetryAfter time.Duration
}

func (e *OverloadedError) Error() string {
	return fmt.Sprintf("overloaded: %s; retry after %s", e.Reason, e.RetryAfter)
}

// IsOverloaded reports whether err is or wraps an *OverloadedError and returns it.
func IsOverloaded(err error) (*OverloadedError, bool) {
	var oe *OverloadedError
	if errors.As(err, &oe) {
		return oe, true
	}
	return nil, false
}

// ValidateSpans removes spans that can never be stored (all-zero trace or
// span ID) in place and returns the kept spans, how many were rejected, and a
// message describing the first rejection.
func ValidateSpans(spans []Span) (kept []Span, rejected int, msg string) {
	kept = spans[:0]
	for i := range spans {
		s := &spans[i]
		switch {
		case s.TraceID.IsZero():
			rejected++
			if msg == "" {
				msg = fmt.Sprintf("span %q (span id %s) has an all-zero trace id", s.Name, s.SpanID)
			}
			continue
		case s.SpanID.IsZero():
			rejected++
			if msg == "" {
				msg = fmt.Sprintf("span %q of trace %s has an all-zero span id", s.Name, s.TraceID)
			}
			continue
		}
		kept = append(kept, *s)
	}
	return kept, rejected, msg
}
