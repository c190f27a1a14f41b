package otlp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	_ "google.golang.org/grpc/encoding/gzip" // registers the gzip compressor
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const exportMethod = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

// grpcSender sends OTLP/gRPC. The queued request bytes go on the wire as
// they are, without being decoded and encoded again.
type grpcSender struct {
	conn      *grpc.ClientConn
	md        metadata.MD
	tenantKey string
	callOpts  []grpc.CallOption
}

func newGRPCSender(cfg Config, tlsCfg *tls.Config) (*grpcSender, error) {
	creds := insecure.NewCredentials()
	if !cfg.TLS.Insecure {
		creds = credentials.NewTLS(tlsCfg)
	}
	// Reconnect no slower than items are retried, so a backend that comes
	// back is used within retry.max_interval, not gRPC's default of 120s.
	reconnect := backoff.DefaultConfig
	reconnect.BaseDelay = min(reconnect.BaseDelay, cfg.Retry.InitialInterval)
	reconnect.MaxDelay = cfg.Retry.MaxInterval
	conn, err := grpc.NewClient(cfg.Endpoint, grpc.WithTransportCredentials(creds),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: reconnect, MinConnectTimeout: cfg.Timeout}))
	if err != nil {
		return nil, fmt.Errorf("grpc client for %s: %w", cfg.Endpoint, err)
	}
	s := &grpcSender{conn: conn, md: metadata.MD{}, callOpts: []grpc.CallOption{grpc.ForceCodec(rawCodec{})}}
	for k, v := range cfg.Headers {
		s.md.Append(k, v)
	}
	if cfg.TenantHeader != "-" {
		s.tenantKey = strings.ToLower(cfg.TenantHeader)
	}
	if cfg.Compression == "gzip" {
		s.callOpts = append(s.callOpts, grpc.UseCompressor("gzip"))
	}
	return s, nil
}

func (s *grpcSender) send(ctx context.Context, tenant string, req []byte) outcome {
	md := s.md.Copy()
	if s.tenantKey != "" {
		md.Set(s.tenantKey, tenant)
	}
	ctx = metadata.NewOutgoingContext(ctx, md)
	msg := rawMessage(req)
	var resp rawMessage
	if err := s.conn.Invoke(ctx, exportMethod, &msg, &resp, s.callOpts...); err != nil {
		return grpcOutcome(err)
	}
	return partialOutcome("OK", resp)
}

func (s *grpcSender) close() error { return s.conn.Close() }

// grpcOutcome classifies a failed call by the OTLP retry rules.
func grpcOutcome(err error) outcome {
	st := status.Convert(err)
	out := outcome{err: err, code: st.Code().String()}
	var retryInfo *errdetails.RetryInfo
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			retryInfo = ri
		}
	}
	if retryInfo != nil && retryInfo.GetRetryDelay() != nil {
		out.retryAfter = min(max(retryInfo.GetRetryDelay().AsDuration(), 0), maxRetryAfter)
	}
	switch st.Code() {
	case codes.Canceled, codes.DeadlineExceeded, codes.Aborted, codes.OutOfRange, codes.Unavailable, codes.DataLoss:
		out.retryable = true
	case codes.ResourceExhausted:
		out.retryable = retryInfo != nil
	}
	return out
}

// partialOutcome reads an ExportTraceServiceResponse for partial success.
func partialOutcome(code string, body []byte) outcome {
	out := outcome{code: code}
	if len(body) == 0 {
		return out
	}
	resp := ptraceotlp.NewExportResponse()
	if err := resp.UnmarshalProto(body); err != nil {
		return out // accepted; an unreadable answer does not undo that
	}
	ps := resp.PartialSuccess()
	out.rejected, out.message = ps.RejectedSpans(), ps.ErrorMessage()
	return out
}

// rawMessage is a protobuf message already in wire form.
type rawMessage []byte

// rawCodec passes rawMessage bytes through gRPC unchanged.
type rawCodec struct{}

// Marshal returns a rawMessage's bytes.
func (rawCodec) Marshal(v any) ([]byte, error) {
	m, ok := v.(*rawMessage)
	if !ok {
		return nil, fmt.Errorf("raw codec cannot marshal %T", v)
	}
	return *m, nil
}

// Unmarshal copies data into a rawMessage.
func (rawCodec) Unmarshal(data []byte, v any) error {
	m, ok := v.(*rawMessage)
	if !ok {
		return errors.New("raw codec can only unmarshal into *rawMessage")
	}
	*m = append((*m)[:0], data...)
	return nil
}

// Name is "proto", so requests carry content-type application/grpc+proto.
func (rawCodec) Name() string { return "proto" }
