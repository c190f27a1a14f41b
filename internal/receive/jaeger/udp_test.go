package jaeger

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"waymark/internal/model"
	"waymark/internal/receive"
	"waymark/internal/receive/receivetest"
)

// udpServer serves a UDPServer on a loopback port until the test ends and
// returns a connection to it.
func udpServer(t *testing.T, compact bool, next model.Consumer, opts receive.Options, tune func(*UDPServer)) net.Conn {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewUDPServer(pc, compact, next, opts)
	if tune != nil {
		tune(srv)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		_ = pc.Close()
	})
	conn, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// eventually waits until cond holds, failing t if it does not within a
// generous bound (a wait for delivery, not a timing assertion).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestUDP(t *testing.T) {
	for _, c := range []struct {
		name     string
		compact  bool
		receiver string
	}{{"compact", true, "jaeger_udp_compact"}, {"binary", false, "jaeger_udp_binary"}} {
		t.Run(c.name, func(t *testing.T) {
			rec := &receivetest.Recorder{}
			reg := prometheus.NewRegistry()
			conn := udpServer(t, c.compact, rec, receive.Options{Registerer: reg, DefaultTenant: "edge"}, nil)
			dropped := func(reason string) float64 {
				return receivetest.CounterValue(t, reg, "waymark_receiver_dropped_packets_total", map[string]string{"receiver": c.receiver, "reason": reason})
			}
			zeroIDs := thriftBatch()
			zeroIDs.Spans[0].SpanId = 0
			datagrams := [][]byte{
				[]byte("garbage"),
				agentDatagram(t, thriftBatch(), !c.compact), // the other protocol
				agentZipkinDatagram(t),
				make([]byte, MaxPacketSize+100),
				agentDatagram(t, zeroIDs, c.compact),
				agentDatagram(t, thriftBatch(), c.compact),
			}
			for _, d := range datagrams {
				if _, err := conn.Write(d); err != nil {
					t.Fatal(err)
				}
			}
			eventually(t, "both valid datagrams", func() bool { return len(rec.Batches()) == 2 })
			eventually(t, "drops counted", func() bool {
				return dropped(receive.ReasonTooLarge) == 1 && dropped(receive.ReasonUndecodable) >= 2
			})
			var full model.Batch
			for _, b := range rec.Batches() {
				if b.Tenant != "edge" {
					t.Errorf("tenant %q, want the listener default edge", b.Tenant)
				}
				if len(b.Spans) == 2 {
					full = b
				}
			}
			checkTrace(t, full.Spans)
			if got := receivetest.CounterValue(t, reg, "waymark_receiver_refused_spans_total", map[string]string{"receiver": c.receiver, "reason": "invalid"}); got != 1 {
				t.Errorf("invalid spans %v, want 1", got)
			}
		})
	}
}

// blocker is a consumer that holds every batch until released.
type blocker struct {
	receivetest.Recorder
	release chan struct{}
	mu      sync.Mutex
	waiting int
}

func (b *blocker) Consume(ctx context.Context, batch model.Batch) error {
	b.mu.Lock()
	b.waiting++
	b.mu.Unlock()
	<-b.release
	return b.Recorder.Consume(ctx, batch)
}

func (b *blocker) Waiting() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.waiting
}

func TestUDPQueueFull(t *testing.T) {
	b := &blocker{release: make(chan struct{})}
	reg := prometheus.NewRegistry()
	conn := udpServer(t, true, b, receive.Options{Registerer: reg}, func(s *UDPServer) { s.Workers, s.QueueLen = 1, 1 })
	d := agentDatagram(t, thriftBatch(), true)
	if _, err := conn.Write(d); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the worker to block", func() bool { return b.Waiting() == 1 })
	for range 4 { // one fills the queue, three are dropped
		if _, err := conn.Write(d); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "queue_full drops", func() bool {
		return receivetest.CounterValue(t, reg, "waymark_receiver_dropped_packets_total", map[string]string{"receiver": "jaeger_udp_compact", "reason": ReasonQueueFull}) == 3
	})
	close(b.release)
	eventually(t, "the queued datagram", func() bool { return len(b.Batches()) == 2 })
}

func TestUDPServeStopsOnClose(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewUDPServer(pc, false, &receivetest.Recorder{}, receive.Options{})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background()) }()
	_ = pc.Close()
	if err := <-done; err != nil {
		t.Fatalf("Serve after Close: %v", err)
	}
}
