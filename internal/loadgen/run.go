package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Protocols loadgen can send.
const (
	ProtocolOTLPGRPC = "otlp-grpc"
	ProtocolOTLPHTTP = "otlp-http"
)

// Config configures a run.
type Config struct {
	Protocol string
	// Endpoint is host:port of the receiver.
	Endpoint string
	// Spans is the total number of spans to send (rounded up to whole batches).
	Spans int
	// BatchSpans is the number of spans per request.
	BatchSpans int
	// Rate is the total spans per second offered; 0 sends as fast as accepted.
	Rate int
	// Workers is the number of concurrent senders.
	Workers int
	Shape   Shape
	// Tenant is sent as X-Scope-OrgID when set.
	Tenant string
	// Templates is the number of distinct encoded batches (shapes vary by seed).
	Templates int
	// KeepIDs keeps up to this many acknowledged trace IDs for verification.
	KeepIDs int
	// Backdate spreads span start times evenly over this long a window
	// that ends when the run starts: batch n of N starts Backdate·(N−n)/N
	// before the run, so a short run fills a long time range in time
	// order. 0 stamps each batch's spans with the time it is sent, as a
	// live sender would (JSON templates, which cannot shift span times,
	// keep the run's start time).
	Backdate time.Duration
	// Retry resends a batch the receiver refused as overloaded (gRPC
	// UNAVAILABLE or RESOURCE_EXHAUSTED, HTTP 429 or 503) after the delay it
	// asks for (RetryInfo, Retry-After), or else after a backoff from 100 ms
	// doubling to 5 s, until it is accepted or ctx ends, as an OTLP
	// exporter does. Without it a refusal counts in Report.Refused.
	Retry bool
}

// Report is the outcome of a run.
type Report struct {
	Offered, Accepted, Refused int64
	Batches                    int64
	Elapsed                    time.Duration
	LatencyP50, LatencyP99     time.Duration
	// FirstError is the first refusal's error.
	FirstError string
	// TraceIDs are some acknowledged trace IDs (up to Config.KeepIDs).
	TraceIDs [][16]byte
	// SpansPerTrace is the shape's span count per trace.
	SpansPerTrace int
	// Started is when the run started: with Backdate, every span starts
	// within [Started−Backdate−1s, Started]; without, within
	// [Started−1s, Started+Elapsed].
	Started time.Time
	// Retries counts batches resent after an overloaded refusal (Config.Retry).
	Retries int64
}

// SpansPerSecond is the accepted throughput.
func (r Report) SpansPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Accepted) / r.Elapsed.Seconds()
}

// String formats the report on one line.
func (r Report) String() string {
	s := fmt.Sprintf("offered=%d accepted=%d refused=%d retries=%d batches=%d elapsed=%s rate=%.0f spans/s export_latency_p50=%s p99=%s",
		r.Offered, r.Accepted, r.Refused, r.Retries, r.Batches, r.Elapsed.Round(time.Millisecond), r.SpansPerSecond(), r.LatencyP50, r.LatencyP99)
	if r.FirstError != "" {
		s += " first_error=" + r.FirstError
	}
	return s
}

type sender interface {
	send(ctx context.Context, body []byte) error
	close() error
}

// Run sends cfg.Spans spans and reports what happened.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if cfg.BatchSpans <= 0 {
		cfg.BatchSpans = 1000
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.Templates <= 0 {
		cfg.Templates = 8
	}
	if cfg.Shape.SpansPerTrace <= 0 {
		cfg.Shape = ReferenceShape()
	}
	if cfg.Backdate < 0 {
		return Report{}, fmt.Errorf("negative backdate %s", cfg.Backdate)
	}
	tracesPerBatch := max(1, cfg.BatchSpans/cfg.Shape.SpansPerTrace)
	var enc func(ptrace.Traces) ([]byte, error)
	var snd sender
	var err error
	switch cfg.Protocol {
	case ProtocolOTLPGRPC, "":
		enc = (&ptrace.ProtoMarshaler{}).MarshalTraces
		snd, err = newGRPCSender(cfg)
	case ProtocolOTLPHTTP:
		enc = (&ptrace.ProtoMarshaler{}).MarshalTraces
		snd = &httpSender{url: "http://" + cfg.Endpoint + "/v1/traces", tenant: cfg.Tenant, client: &http.Client{Timeout: time.Minute}}
	default:
		return Report{}, fmt.Errorf("unknown protocol %q (want %s or %s)", cfg.Protocol, ProtocolOTLPGRPC, ProtocolOTLPHTTP)
	}
	if err != nil {
		return Report{}, err
	}
	defer snd.close()
	started := time.Now()
	now := uint64(started.Add(-time.Second).UnixNano())
	templates := make([]*Template, cfg.Templates)
	for i := range templates {
		td := BuildTraces(cfg.Shape, tracesPerBatch, now, uint64(i)+1)
		if templates[i], err = NewTemplate(td, tracesPerBatch, enc, false); err != nil {
			return Report{}, err
		}
		if cfg.Backdate > 0 && !templates[i].Shiftable() {
			return Report{}, fmt.Errorf("backdate: %s templates cannot shift span times", cfg.Protocol)
		}
	}
	batchSpans := templates[0].Spans
	batches := (cfg.Spans + batchSpans - 1) / batchSpans

	var (
		next      atomic.Int64
		rep       Report
		mu        sync.Mutex
		latencies []time.Duration
		ids       [][16]byte
		wg        sync.WaitGroup
	)
	rep.SpansPerTrace = cfg.Shape.SpansPerTrace
	rep.Started = started
	start := time.Now()
	var interval time.Duration
	if cfg.Rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(batchSpans) / float64(cfg.Rate))
	}
	for w := 0; w < cfg.Workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var buf []byte
			var batchIDs [][16]byte
			lat := newReservoir(maxLatencySamples/cfg.Workers, uint64(w))
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			for ctx.Err() == nil {
				n := next.Add(1) - 1
				if n >= int64(batches) {
					break
				}
				if interval > 0 {
					if wait := time.Until(start.Add(time.Duration(n) * interval)); wait > 0 {
						select {
						case <-time.After(wait):
						case <-ctx.Done():
						}
					}
				}
				tpl := templates[int(n)%len(templates)]
				shift := time.Since(started)
				if cfg.Backdate > 0 {
					shift = -cfg.Backdate + time.Duration(float64(cfg.Backdate)*float64(n)/float64(batches))
				}
				buf, batchIDs = tpl.InstanceAt(buf, uint64(n)+1, batchIDs[:0], shift)
				t0 := time.Now()
				err := snd.send(ctx, buf)
				if cfg.Retry {
					var retries int64
					retries, err = resend(ctx, snd, buf, err)
					mu.Lock()
					rep.Retries += retries
					mu.Unlock()
				}
				lat.add(time.Since(t0))
				mu.Lock()
				rep.Batches++
				rep.Offered += int64(tpl.Spans)
				if err != nil {
					rep.Refused += int64(tpl.Spans)
					if rep.FirstError == "" {
						rep.FirstError = err.Error()
					}
				} else {
					rep.Accepted += int64(tpl.Spans)
					for _, id := range batchIDs {
						if len(ids) < cfg.KeepIDs {
							ids = append(ids, id)
						} else if cfg.KeepIDs > 0 && rng.IntN(int(rep.Batches)) == 0 {
							ids[rng.IntN(len(ids))] = id
						}
					}
				}
				mu.Unlock()
			}
			mu.Lock()
			latencies = append(latencies, lat.samples...)
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	rep.Elapsed = time.Since(start)
	rep.TraceIDs = ids
	if len(latencies) > 0 {
		slices.Sort(latencies)
		rep.LatencyP50 = latencies[len(latencies)/2]
		rep.LatencyP99 = latencies[min(len(latencies)-1, len(latencies)*99/100)]
	}
	return rep, ctx.Err()
}

// Backoff between resends when the receiver gives no delay.
const (
	minRetryBackoff = 100 * time.Millisecond
	maxRetryBackoff = 5 * time.Second
)

// overloadedError is a refusal the receiver asked to have retried.
type overloadedError struct {
	err error
	// after is the delay the receiver asked for; 0 if it gave none.
	after time.Duration
}

func (e *overloadedError) Error() string { return e.err.Error() }
func (e *overloadedError) Unwrap() error { return e.err }

// resend sends body again while err is an overloaded refusal, waiting
// the delay the receiver asks for (or a backoff) before each resend. It
// returns how many resends it made and the last error.
func resend(ctx context.Context, snd sender, body []byte, err error) (int64, error) {
	var n int64
	backoff := minRetryBackoff
	for {
		var oe *overloadedError
		if err == nil || !errors.As(err, &oe) {
			return n, err
		}
		wait := oe.after
		if wait <= 0 {
			wait, backoff = backoff, min(2*backoff, maxRetryBackoff)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return n, err
		}
		n++
		err = snd.send(ctx, body)
	}
}

// maxLatencySamples bounds the export latencies a run keeps (a uniform
// sample of them), so a run's memory does not grow with its length.
const maxLatencySamples = 1 << 16

// reservoir keeps a uniform sample of up to cap(samples) durations
// (Vitter's algorithm R).
type reservoir struct {
	samples []time.Duration
	seen    int
	rng     *rand.Rand
}

func newReservoir(size int, seed uint64) *reservoir {
	return &reservoir{samples: make([]time.Duration, 0, max(1, size)), rng: rand.New(rand.NewPCG(seed, 7))}
}

func (r *reservoir) add(d time.Duration) {
	r.seen++
	if len(r.samples) < cap(r.samples) {
		r.samples = append(r.samples, d)
	} else if i := r.rng.IntN(r.seen); i < len(r.samples) {
		r.samples[i] = d
	}
}

// rawCodec sends pre-encoded protobuf bytes and keeps the response bytes.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	if b, ok := v.(*[]byte); ok {
		return *b, nil
	}
	return nil, fmt.Errorf("raw codec: cannot marshal %T", v)
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	if b, ok := v.(*[]byte); ok {
		*b = append((*b)[:0], data...)
		return nil
	}
	return fmt.Errorf("raw codec: cannot unmarshal into %T", v)
}

func (rawCodec) Name() string { return "proto" }

var _ encoding.Codec = rawCodec{}

type grpcSender struct {
	conn   *grpc.ClientConn
	tenant string
}

func newGRPCSender(cfg Config) (*grpcSender, error) {
	conn, err := grpc.NewClient(cfg.Endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)))
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", cfg.Endpoint, err)
	}
	return &grpcSender{conn: conn, tenant: cfg.Tenant}, nil
}

func (s *grpcSender) send(ctx context.Context, body []byte) error {
	if s.tenant != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "x-scope-orgid", s.tenant)
	}
	var resp []byte
	if err := s.conn.Invoke(ctx, "/opentelemetry.proto.collector.trace.v1.TraceService/Export", &body, &resp, grpc.ForceCodec(rawCodec{})); err != nil {
		return grpcRefusal(err)
	}
	return checkPartial(resp)
}

// grpcRefusal marks an UNAVAILABLE or RESOURCE_EXHAUSTED error as
// overloaded, with its RetryInfo delay.
func grpcRefusal(err error) error {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.Unavailable && st.Code() != codes.ResourceExhausted {
		return err
	}
	oe := &overloadedError{err: err}
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
			oe.after = min(max(ri.GetRetryDelay().AsDuration(), 0), maxRetryBackoff)
		}
	}
	return oe
}

func checkPartial(resp []byte) error {
	if len(resp) == 0 {
		return nil
	}
	r := ptraceotlp.NewExportResponse()
	if err := r.UnmarshalProto(resp); err != nil {
		return fmt.Errorf("decode export response: %w", err)
	}
	if n := r.PartialSuccess().RejectedSpans(); n > 0 {
		return fmt.Errorf("%d spans rejected: %s", n, r.PartialSuccess().ErrorMessage())
	}
	return nil
}

func (s *grpcSender) close() error { return s.conn.Close() }

type httpSender struct {
	url    string
	tenant string
	client *http.Client
}

func (s *httpSender) send(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	if s.tenant != "" {
		req.Header.Set("X-Scope-OrgID", s.tenant)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(b))
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			oe := &overloadedError{err: err}
			if secs, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && secs > 0 {
				oe.after = min(time.Duration(secs)*time.Second, maxRetryBackoff)
			}
			return oe
		}
		return err
	}
	return checkPartial(b)
}

func (s *httpSender) close() error { return nil }

// Verify looks up each trace ID through the Jaeger API at queryURL (e.g.
// http://127.0.0.1:16686) and returns how many were found complete.
func Verify(ctx context.Context, queryURL, tenant string, ids [][16]byte, spansPerTrace int) (found int, err error) {
	client := &http.Client{Timeout: 30 * time.Second}
	var errs []error
	for _, id := range ids {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/api/traces/%x", queryURL, id[:]), nil)
		if tenant != "" {
			req.Header.Set("X-Scope-OrgID", tenant)
		}
		resp, err := client.Do(req)
		if err != nil {
			return found, err
		}
		var body struct {
			Data []struct {
				Spans []json.RawMessage `json:"spans"`
			} `json:"data"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err == nil && len(body.Data) == 1 && len(body.Data[0].Spans) == spansPerTrace {
			found++
		} else if len(errs) < 3 {
			errs = append(errs, fmt.Errorf("trace %x: status %d, %d traces", id[:], resp.StatusCode, len(body.Data)))
		}
	}
	return found, errors.Join(errs...)
}

// Percentile returns the p-th percentile (0–100) of sorted durations.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	if !sort.SliceIsSorted(sorted, func(i, j int) bool { return sorted[i] < sorted[j] }) {
		sorted = slices.Clone(sorted)
		slices.Sort(sorted)
	}
	i := int(p / 100 * float64(len(sorted)-1))
	return sorted[i]
}
