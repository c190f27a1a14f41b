package receive

import (
	"errors"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
)

// Receiver names, used as the value of the metrics' receiver label.
const (
	ReceiverOTLPGRPC         = "otlp_grpc"
	ReceiverOTLPHTTP         = "otlp_http"
	ReceiverZipkinHTTP       = "zipkin_http"
	ReceiverJaegerThriftHTTP = "jaeger_thrift_http"
	ReceiverJaegerGRPC       = "jaeger_grpc"
	ReceiverJaegerUDPCompact = "jaeger_udp_compact"
	ReceiverJaegerUDPBinary  = "jaeger_udp_binary"
)

// metrics holds one receiver's counters, curried with its receiver label.
type metrics struct {
	acceptedSpans prometheus.Counter
	refusedSpans  *prometheus.CounterVec // by reason
	receivedBytes prometheus.Counter
	failedReqs    *prometheus.CounterVec // by reason
	droppedPkts   *prometheus.CounterVec // by reason
}

func newMetrics(reg prometheus.Registerer, receiver string, log *slog.Logger) *metrics {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, append([]string{"receiver"}, labels...))
		return register(reg, log, c).MustCurryWith(prometheus.Labels{"receiver": receiver})
	}
	return &metrics{
		acceptedSpans: counter("waymark_receiver_accepted_spans_total",
			"Spans a receiver handed to the pipeline and the pipeline accepted.").WithLabelValues(),
		refusedSpans: counter("waymark_receiver_refused_spans_total",
			"Decoded spans a receiver did not get accepted, by reason (invalid, overloaded, pipeline_error).", "reason"),
		receivedBytes: counter("waymark_receiver_received_bytes_total",
			"Payload bytes received, after decompression.").WithLabelValues(),
		failedReqs: counter("waymark_receiver_failed_requests_total",
			"Requests answered with an error before their spans could be decoded, by reason.", "reason"),
		droppedPkts: counter("waymark_receiver_dropped_packets_total",
			"UDP datagrams dropped, by reason (too_large, undecodable, invalid, overloaded, pipeline_error).", "reason"),
	}
}

// register registers c, or returns the identical collector another
// receiver registered before. With a nil reg, c works but is not exported.
func register(reg prometheus.Registerer, log *slog.Logger, c *prometheus.CounterVec) *prometheus.CounterVec {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				return existing
			}
		}
		log.Warn("receiver metric not registered", "err", err)
	}
	return c
}
