package otlp

import (
	"bytes"
	"testing"
	"time"
)

func FuzzDecodeQueueItem(f *testing.F) {
	f.Add(AppendQueueItem(nil, QueueItem{Tenant: "acme", Spans: 3, Request: []byte{0x0a, 0x02, 0x0a, 0x00}}))
	f.Add(AppendQueueItem(nil, QueueItem{Tenant: "single-tenant"}))
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{1, 0, 200})
	f.Add([]byte{1, 5, 0, '0', '0'}) // more spans than request bytes
	f.Fuzz(func(t *testing.T, b []byte) {
		it, err := DecodeQueueItem(b)
		if err != nil {
			return
		}
		if it.Spans < 0 || len(it.Tenant) > maxTenantLength {
			t.Fatalf("decoded out-of-range item %+v", it)
		}
		again, err := DecodeQueueItem(AppendQueueItem(nil, it))
		if err != nil || again.Tenant != it.Tenant || again.Spans != it.Spans || !bytes.Equal(again.Request, it.Request) {
			t.Fatalf("round trip of %+v gave %+v, %v", it, again, err)
		}
	})
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"5", "0", "-1", "99999999999999999999", "Fri, 02 Jan 2026 03:04:35 GMT", "soon", ""} {
		f.Add(s)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		if d := parseRetryAfter(v, now); d < 0 || d > maxRetryAfter {
			t.Fatalf("parseRetryAfter(%q) = %v, outside [0, %v]", v, d, maxRetryAfter)
		}
	})
}

func TestQueueItemRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		it   QueueItem
	}{
		{"typical", QueueItem{Tenant: "acme", Spans: 5, Request: []byte("request bytes")}},
		{"empty request", QueueItem{Tenant: "single-tenant", Spans: 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeQueueItem(AppendQueueItem(nil, tt.it))
			if err != nil || got.Tenant != tt.it.Tenant || got.Spans != tt.it.Spans || !bytes.Equal(got.Request, tt.it.Request) {
				t.Fatalf("round trip = %+v, %v; want %+v", got, err, tt.it)
			}
		})
	}
	for _, bad := range [][]byte{nil, {2}, {1}, {1, 5}, {1, 0, 9, 'a'}} {
		if _, err := DecodeQueueItem(bad); err == nil {
			t.Errorf("DecodeQueueItem(%v) succeeded", bad)
		}
	}
}
