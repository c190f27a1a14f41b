package store

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/thanos-io/objstore"
	"github.com/thanos-io/objstore/providers/filesystem"

	"waymark/internal/model"
)

// stalledBucket holds every upload until release is closed, as a slow or
// unreachable object store would.
type stalledBucket struct {
	objstore.Bucket
	release chan struct{}
}

func (b *stalledBucket) Upload(ctx context.Context, name string, r io.Reader, opts ...objstore.ObjectUploadOption) error {
	select {
	case <-b.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return b.Bucket.Upload(ctx, name, r, opts...)
}

// TestOverloadedWhenBlockWritingIsBehind stalls block uploads: the store
// accepts spans until the head and the head being written together reach
// twice HeadMaxBytes, then refuses with a retryable error, and accepts again
// once the blocks are written.
func TestOverloadedWhenBlockWritingIsBehind(t *testing.T) {
	ctx := context.Background()
	fs, err := filesystem.NewBucket(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	bkt := &stalledBucket{Bucket: fs, release: make(chan struct{})}
	const maxBytes = 1 << 20
	s, err := Open(ctx, Options{Dir: t.TempDir(), Bucket: bkt, HeadMaxBytes: maxBytes, HeadMaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	released := false
	release := func() {
		if !released {
			released = true
			close(bkt.release)
		}
	}
	defer release() // before Close, which waits for the stalled cut
	rng := rand.New(rand.NewPCG(11, 12))
	base := uint64(time.Now().Add(-time.Minute).UnixNano())
	accepted := 0
	var overloaded *model.OverloadedError
	for i := 0; i < 1000; i++ {
		err := s.Consume(ctx, model.Batch{Tenant: "t", Spans: genTraces(rng, 50, base, 0)})
		if errors.As(err, &overloaded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		accepted++
	}
	if overloaded == nil {
		t.Fatalf("%d batches accepted while no block could be written; want a refusal", accepted)
	}
	if unflushed := s.unflushedBytes(); unflushed > 2*maxBytes+maxBytes/2 {
		t.Errorf("%d bytes of spans held when refusing, want about %d at most", unflushed, 2*maxBytes)
	}
	if overloaded.RetryAfter <= 0 {
		t.Errorf("refusal without a retry delay: %+v", overloaded)
	}
	release()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := s.Consume(ctx, model.Batch{Tenant: "t", Spans: genTraces(rng, 50, base, 0)})
		if err == nil {
			break
		}
		if !errors.As(err, &overloaded) || time.Now().After(deadline) {
			t.Fatalf("after the bucket recovered: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
