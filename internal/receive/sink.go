package receive

import (
	"context"
	"log/slog"
	"mime"
	"net/http"
	"slices"

	"waymark/internal/model"
)

// Sink is the common tail of every receiver: it drops spans that can never
// be stored, hands the rest to the pipeline as one batch, and keeps the
// receiver's metrics. It is safe for concurrent use.
type Sink struct {
	next     model.Consumer
	receiver string
	limit    int64
	tenant   string
	log      *slog.Logger
	m        *metrics
}

// NewSink returns the Sink of the receiver named receiver (one of the
// Receiver* constants), feeding next.
func NewSink(receiver string, next model.Consumer, opts Options) *Sink {
	log := opts.logger().With("receiver", receiver)
	return &Sink{
		next:     next,
		receiver: receiver,
		limit:    opts.Limit(),
		tenant:   opts.Tenant(),
		log:      log,
		m:        newMetrics(opts.Registerer, receiver, log),
	}
}

// DefaultTenant returns the tenant of requests that name none.
func (s *Sink) DefaultTenant() string { return s.tenant }

// MediaType returns the media type of r's Content-Type, without
// parameters, if it is one of allowed ("" stands for a missing header).
// Otherwise it counts the failure and returns a *MediaTypeError.
func (s *Sink) MediaType(r *http.Request, allowed ...string) (string, error) {
	ct := r.Header.Get("Content-Type")
	mt, ok := "", true
	if ct != "" {
		var err error
		mt, _, err = mime.ParseMediaType(ct)
		ok = err == nil
	}
	if !ok || !slices.Contains(allowed, mt) {
		err := &MediaTypeError{What: "content type", Value: ct}
		s.Failed(err)
		return "", err
	}
	return mt, nil
}

// ReadHTTP returns the tenant and the decompressed body of r (see
// TenantFromHTTP and ReadBody), counting the body's bytes, or counting the
// failure and returning an error for Classify.
func (s *Sink) ReadHTTP(r *http.Request) (tenant string, body []byte, err error) {
	if tenant, err = TenantFromHTTP(r.Header, s.tenant); err == nil {
		body, err = ReadBody(r, s.limit)
	}
	if err != nil {
		s.Failed(err)
		return "", nil, err
	}
	s.Received(len(body))
	return tenant, body, nil
}

// Receiver returns the receiver name the Sink counts under.
func (s *Sink) Receiver() string { return s.receiver }

// Logger returns the receiver's logger.
func (s *Sink) Logger() *slog.Logger { return s.log }

// Result tells what became of the spans of one push.
type Result struct {
	// Accepted spans were handed to the pipeline, which took them.
	Accepted int
	// Rejected spans were dropped as invalid (all-zero IDs); Message
	// describes the first of them.
	Rejected int
	Message  string
}

// Push validates spans (model.ValidateSpans), and hands the valid ones to
// the pipeline as one batch of tenant. otlp, when not nil, is the OTLP
// protobuf encoding of exactly spans; Push drops it if any span is
// rejected. Push returns once the consumer returned: a nil error means the
// accepted spans are durable. A consumer error is returned as it is;
// Classify turns it into a retryable answer.
func (s *Sink) Push(ctx context.Context, tenant string, spans []model.Span, otlp []byte) (Result, error) {
	kept, rejected, msg := model.ValidateSpans(spans)
	res := Result{Rejected: rejected, Message: msg}
	if rejected > 0 {
		otlp = nil
		s.m.refusedSpans.WithLabelValues(ReasonInvalid).Add(float64(rejected))
	}
	if len(kept) == 0 {
		return res, nil
	}
	if err := s.next.Consume(ctx, model.Batch{Tenant: tenant, Spans: kept, OTLP: otlp}); err != nil {
		s.m.refusedSpans.WithLabelValues(Classify(err).Reason).Add(float64(len(kept)))
		return res, err
	}
	res.Accepted = len(kept)
	s.m.acceptedSpans.Add(float64(len(kept)))
	return res, nil
}

// Received counts n payload bytes (after decompression).
func (s *Sink) Received(n int) { s.m.receivedBytes.Add(float64(n)) }

// Failed counts a request refused before its spans were decoded, under
// the reason Classify gives err.
func (s *Sink) Failed(err error) {
	s.m.failedReqs.WithLabelValues(Classify(err).Reason).Inc()
}

// Dropped counts a dropped UDP datagram under reason.
func (s *Sink) Dropped(reason string) {
	s.m.droppedPkts.WithLabelValues(reason).Inc()
}

// Accept finishes an HTTP request of a protocol whose success is 202
// Accepted with no body. If decoding failed (decodeErr), it counts and
// answers the request as invalid; otherwise it pushes spans and answers
// 202, or the error as Classify maps it.
func (s *Sink) Accept(w http.ResponseWriter, r *http.Request, tenant string, spans []model.Span, decodeErr error) {
	if decodeErr != nil {
		err := Invalid(decodeErr)
		s.Failed(err)
		WriteHTTPError(w, err)
		return
	}
	if _, err := s.Push(r.Context(), tenant, spans, nil); err != nil {
		WriteHTTPError(w, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}
