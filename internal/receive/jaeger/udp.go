package jaeger

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"waymark/internal/model"
	"waymark/internal/receive"
)

// MaxPacketSize is the largest datagram accepted, as in the Jaeger agent
// and the collector's Jaeger receiver; larger ones are dropped.
const MaxPacketSize = 65000

// Defaults of UDPServer's tunables.
const (
	DefaultUDPWorkers  = 4
	DefaultUDPQueueLen = 256
)

// Reasons a datagram is dropped, beyond receive's failure reasons.
const (
	ReasonQueueFull = "queue_full"
)

// UDPServer receives Jaeger agent datagrams, each one Agent.emitBatch
// message, from a packet connection. One goroutine reads datagrams into a
// bounded queue; Workers goroutines decode them and push each as one
// batch. Datagrams over MaxPacketSize, undecodable ones, those that find
// the queue full and those the pipeline refuses are dropped and counted in
// waymark_receiver_dropped_packets_total, since UDP has no way to ask a
// sender to slow down. Memory is bounded by about QueueLen+Workers
// datagrams.
type UDPServer struct {
	// Workers is the number of datagrams decoded and pushed at once.
	// Set it before Serve; zero or less means DefaultUDPWorkers.
	Workers int
	// QueueLen is how many datagrams may wait for a worker. Set it before
	// Serve; zero or less means DefaultUDPQueueLen.
	QueueLen int

	conn    net.PacketConn
	compact bool
	sink    *receive.Sink
}

// NewUDPServer returns a server of the datagrams arriving on conn, in the
// Thrift compact protocol (port 6831) if compact is set, else binary
// (port 6832). Its spans go to next under opts.DefaultTenant. The caller
// keeps ownership of conn.
func NewUDPServer(conn net.PacketConn, compact bool, next model.Consumer, opts receive.Options) *UDPServer {
	name := receive.ReceiverJaegerUDPBinary
	if compact {
		name = receive.ReceiverJaegerUDPCompact
	}
	return &UDPServer{
		Workers:  DefaultUDPWorkers,
		QueueLen: DefaultUDPQueueLen,
		conn:     conn,
		compact:  compact,
		sink:     receive.NewSink(name, next, opts),
	}
}

// Serve reads datagrams until ctx is done or conn is closed, and then
// returns nil after the datagrams already queued are handled; it returns
// an error only when reading fails otherwise. To stop reading when ctx is
// done it sets a read deadline in the past on conn.
func (s *UDPServer) Serve(ctx context.Context) error {
	queue := make(chan []byte, max(s.QueueLen, 1))
	var wg sync.WaitGroup
	for range max(s.Workers, 1) {
		wg.Go(func() {
			for p := range queue {
				s.handle(ctx, p)
			}
		})
	}
	stop := context.AfterFunc(ctx, func() { _ = s.conn.SetReadDeadline(time.Unix(1, 0)) })
	err := s.read(ctx, queue)
	stop()
	close(queue)
	wg.Wait()
	return err
}

// read moves datagrams from conn to queue until ctx is done, conn is
// closed, or reading fails.
func (s *UDPServer) read(ctx context.Context, queue chan<- []byte) error {
	buf := make([]byte, MaxPacketSize+1) // a longer datagram fills it
	for {
		n, _, err := s.conn.ReadFrom(buf)
		switch {
		case n > MaxPacketSize:
			s.sink.Dropped(receive.ReasonTooLarge)
		case n > 0:
			p := make([]byte, n)
			copy(p, buf)
			select {
			case queue <- p:
			default:
				s.sink.Dropped(ReasonQueueFull)
			}
		}
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("read datagram: %w", err)
		}
	}
}

// handle decodes one datagram and pushes its spans.
func (s *UDPServer) handle(ctx context.Context, p []byte) {
	s.sink.Received(len(p))
	spans, err := DecodeAgentMessage(nil, p, s.compact)
	if err != nil {
		s.sink.Dropped(receive.ReasonUndecodable)
		s.sink.Logger().Debug("dropped undecodable datagram", "bytes", len(p), "err", err)
		return
	}
	if _, err := s.sink.Push(ctx, s.sink.DefaultTenant(), spans, nil); err != nil {
		s.sink.Dropped(receive.Classify(err).Reason)
	}
}
