package receive

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"waymark/internal/model"
	"waymark/internal/receive/receivetest"
)

func span(trace, id byte) model.Span {
	return model.Span{TraceID: model.TraceID{15: trace}, SpanID: model.SpanID{7: id}, Name: "s"}
}

func TestSinkPush(t *testing.T) {
	otlp := []byte{1, 2, 3}
	cases := []struct {
		name         string
		spans        []model.Span
		consumeErr   error
		wantErr      bool
		wantAccepted int
		wantRejected int
		wantBatch    bool
		wantOTLP     bool
	}{
		{name: "all valid", spans: []model.Span{span(1, 1), span(1, 2)}, wantAccepted: 2, wantBatch: true, wantOTLP: true},
		{name: "empty", spans: nil},
		{name: "some invalid", spans: []model.Span{span(0, 1), span(1, 0), span(1, 3)}, wantAccepted: 1, wantRejected: 2, wantBatch: true},
		{name: "all invalid", spans: []model.Span{span(0, 1)}, wantRejected: 1},
		{name: "consumer refuses", spans: []model.Span{span(1, 1)}, consumeErr: errors.New("no"), wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &receivetest.Recorder{}
			rec.Fail(tc.consumeErr)
			s := NewSink(ReceiverZipkinHTTP, rec, Options{})
			res, err := s.Push(context.Background(), "t1", tc.spans, otlp)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v", err)
			}
			if res.Accepted != tc.wantAccepted || res.Rejected != tc.wantRejected {
				t.Errorf("result %+v", res)
			}
			if tc.wantRejected > 0 && res.Message == "" {
				t.Error("no rejection message")
			}
			batches := rec.Batches()
			if got := len(batches) == 1; got != tc.wantBatch {
				t.Fatalf("got %d batches", len(batches))
			}
			if tc.wantBatch {
				if batches[0].Tenant != "t1" || len(batches[0].Spans) != tc.wantAccepted {
					t.Errorf("batch %+v", batches[0])
				}
				if got := batches[0].OTLP != nil; got != tc.wantOTLP {
					t.Errorf("OTLP kept %v, want %v", got, tc.wantOTLP)
				}
			}
		})
	}
}

func TestSinksShareRegisterer(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := NewSink(ReceiverOTLPGRPC, &receivetest.Recorder{}, Options{Registerer: reg})
	b := NewSink(ReceiverOTLPHTTP, &receivetest.Recorder{}, Options{Registerer: reg})
	if _, err := a.Push(context.Background(), "t", []model.Span{span(1, 1)}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Push(context.Background(), "t", []model.Span{span(1, 1), span(1, 2)}, nil); err != nil {
		t.Fatal(err)
	}
	b.Received(100)
	b.Dropped(ReasonTooLarge)
	b.Failed(Invalidf("x"))
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"waymark_receiver_accepted_spans_total", map[string]string{"receiver": "otlp_grpc"}, 1},
		{"waymark_receiver_accepted_spans_total", map[string]string{"receiver": "otlp_http"}, 2},
		{"waymark_receiver_received_bytes_total", map[string]string{"receiver": "otlp_http"}, 100},
		{"waymark_receiver_dropped_packets_total", map[string]string{"receiver": "otlp_http", "reason": "too_large"}, 1},
		{"waymark_receiver_failed_requests_total", map[string]string{"receiver": "otlp_http", "reason": "invalid"}, 1},
	}
	for _, c := range checks {
		if got := receivetest.CounterValue(t, reg, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}
