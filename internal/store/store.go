package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/thanos-io/objstore"

	"waymark/internal/model"
	"waymark/internal/store/block"
	"waymark/internal/store/compact"
	"waymark/internal/store/head"
	"waymark/internal/store/wal"
)

// Options configures a Store. Zero fields take the documented defaults.
type Options struct {
	// Dir is the local data directory; the WAL lives in Dir/wal.
	Dir string
	// Bucket stores blocks. Required.
	Bucket objstore.Bucket
	// WALSegmentSize is the WAL segment size (default 128 MiB).
	WALSegmentSize int64
	// HeadMaxBytes cuts the head into blocks when its spans take about this
	// much memory (default 128 MiB).
	HeadMaxBytes int64
	// HeadMaxAge cuts the head when it is this old (default 1 minute).
	HeadMaxAge time.Duration
	// MaxPendingBytes bounds batches accepted but not yet durable (default 256 MiB).
	MaxPendingBytes int64
	// Block configures written blocks.
	Block block.WriteOptions
	// Retention deletes blocks whose newest span is older than this (default 14 days).
	Retention time.Duration
	// TenantRetention overrides Retention for the tenants it names.
	TenantRetention map[string]time.Duration
	// MaxDiskBytes bounds the bytes of the data and index objects of all
	// blocks; beyond it the blocks with the oldest data, of any tenant, are
	// deleted first. 0 means no limit.
	MaxDiskBytes int64
	// Compaction tunes which blocks are merged (see compact.Options).
	Compaction compact.Options
	// CompactionInterval is how often blocks are compacted (default 30
	// seconds; negative disables compaction).
	CompactionInterval time.Duration
	// ReplacedBlockDelay is how long the inputs of a compaction stay
	// readable for queries that started before it (default 1 minute;
	// negative deletes them at once).
	ReplacedBlockDelay time.Duration
	Registerer         prometheus.Registerer
	Logger             *slog.Logger
}

func (o *Options) setDefaults() {
	if o.WALSegmentSize == 0 {
		o.WALSegmentSize = 128 << 20
	}
	if o.HeadMaxBytes == 0 {
		o.HeadMaxBytes = 128 << 20
	}
	if o.HeadMaxAge == 0 {
		o.HeadMaxAge = time.Minute
	}
	if o.MaxPendingBytes == 0 {
		o.MaxPendingBytes = 256 << 20
	}
	if o.Retention == 0 {
		o.Retention = 14 * 24 * time.Hour
	}
	if o.CompactionInterval == 0 {
		o.CompactionInterval = 30 * time.Second
	}
	if o.ReplacedBlockDelay == 0 {
		o.ReplacedBlockDelay = time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// ErrClosed is returned by operations on a closed Store.
var ErrClosed = errors.New("store: closed")

// Store is the storage engine. It is safe for concurrent use.
type Store struct {
	opts    Options
	log     *slog.Logger
	wal     *wal.WAL
	metrics *metrics

	// mu orders appends against head cuts: appends hold it shared from the WAL
	// append until the spans are in the head; a cut holds it exclusively while
	// it starts a new WAL segment and a new head.
	mu        sync.RWMutex
	head      *head.Head
	headSince time.Time
	closed    bool

	// cutMu serialises cuts. cutting holds heads being written to blocks;
	// they stay queryable until their blocks are open.
	cutMu     sync.Mutex
	cuttingMu sync.RWMutex
	cutting   []*head.Head
	// cutNow asks the loop to cut the head before its next tick.
	cutNow   chan struct{}
	blocks   *blockSet
	pending  atomic.Int64
	stop     chan struct{}
	loopDone chan struct{}

	// maintMu serialises compaction, retention and the disk limit.
	maintMu   sync.Mutex
	compactor *compact.Compactor
	replaced  []replacedBlocks // guarded by maintMu, oldest first
	maintDone chan struct{}

	closeOnce  sync.Once
	closeError error
}

// Open opens or creates the store in opts.Dir: it settles what a crash left
// in the bucket, opens the blocks, replays the WAL into the head, and starts
// the background loops that cut the head, compact blocks and apply
// retention and the disk limit.
func Open(ctx context.Context, opts Options) (*Store, error) {
	opts.setDefaults()
	if opts.Bucket == nil {
		return nil, errors.New("store: no bucket")
	}
	s := &Store{
		opts:      opts,
		log:       opts.Logger,
		metrics:   newMetrics(opts.Registerer),
		head:      head.New(),
		headSince: time.Now(),
		blocks:    newBlockSet(),
		stop:      make(chan struct{}),
		cutNow:    make(chan struct{}, 1),
		loopDone:  make(chan struct{}),
		maintDone: make(chan struct{}),
	}
	s.compactor = compact.New(opts.Bucket, compact.Config{Plan: opts.Compaction, Block: opts.Block,
		Registerer: opts.Registerer, Logger: opts.Logger.With("subsystem", "compaction")})
	if err := s.recoverBucket(ctx); err != nil {
		return nil, err
	}
	if err := s.openBlocks(ctx); err != nil {
		return nil, err
	}
	w, err := wal.Open(filepath.Join(opts.Dir, "wal"), wal.Options{SegmentSize: opts.WALSegmentSize, Registerer: opts.Registerer, Logger: opts.Logger})
	if err != nil {
		s.blocks.closeAll()
		return nil, fmt.Errorf("open wal: %w", err)
	}
	s.wal = w
	start := time.Now()
	var records, spans, bad int
	err = w.Replay(ctx, func(segment int, rec []byte) error {
		tenant, ss, err := decodeRecord(rec)
		if err != nil {
			bad++
			s.log.Warn("skipping undecodable wal record", "segment", segment, "err", err)
			return nil
		}
		records++
		spans += len(ss)
		s.head.Append(tenant, ss)
		return nil
	})
	if err != nil {
		_ = w.Close()
		s.blocks.closeAll()
		return nil, fmt.Errorf("replay wal: %w", err)
	}
	s.log.Info("wal replayed", "records", records, "spans", spans, "undecodable", bad, "duration", time.Since(start).Round(time.Millisecond))
	s.metrics.headSpans.Set(float64(s.head.Stats().Spans))
	s.updateBlockGauges()
	go s.loop()
	go s.maintain()
	return s, nil
}

// Consume makes b durable and visible. It returns nil only after the batch is
// fsynced in the WAL; *model.OverloadedError when too much is pending.
func (s *Store) Consume(ctx context.Context, b model.Batch) error {
	if len(b.Spans) == 0 {
		return nil
	}
	otlp, err := encodeOTLP(&b)
	if err != nil {
		return fmt.Errorf("encode batch: %w", err)
	}
	size := int64(len(otlp))
	if p := s.pending.Add(size); p > s.opts.MaxPendingBytes && p != size {
		s.pending.Add(-size)
		s.metrics.refused.Inc()
		return &model.OverloadedError{Reason: "too many spans waiting to be written", RetryAfter: time.Second}
	}
	defer s.pending.Add(-size)
	// Spans not yet in blocks are bounded to twice the head's size: the head
	// being filled and the one being written. Beyond that, block writing is
	// behind ingest and senders are asked to retry.
	if unflushed := s.unflushedBytes(); unflushed > 2*s.opts.HeadMaxBytes {
		s.metrics.refused.Inc()
		return &model.OverloadedError{Reason: "block writing is behind ingest", RetryAfter: 2 * time.Second}
	}
	rec := appendRecord(make([]byte, 0, len(otlp)+len(b.Tenant)+8), b.Tenant, otlp)

	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	h := s.head
	err = s.wal.Append(ctx, rec)
	if err == nil {
		h.Append(b.Tenant, b.Spans)
	}
	s.mu.RUnlock()
	if err != nil {
		return fmt.Errorf("write wal: %w", err)
	}
	if h.Stats().Bytes >= s.opts.HeadMaxBytes {
		select {
		case s.cutNow <- struct{}{}:
		default:
		}
	}
	s.metrics.spansStored.Add(float64(len(b.Spans)))
	s.metrics.bytesStored.Add(float64(len(rec)))
	return nil
}

// unflushedBytes returns the estimated memory of the spans not yet in
// blocks: the current head's and those of the heads being written.
func (s *Store) unflushedBytes() int64 {
	var n int64
	for _, h := range s.heads() {
		n += h.Stats().Bytes
	}
	return n
}

func (s *Store) loop() {
	defer close(s.loopDone)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		case <-s.cutNow:
		}
		s.mu.RLock()
		st, since := s.head.Stats(), s.headSince
		s.mu.RUnlock()
		s.metrics.headSpans.Set(float64(st.Spans))
		s.metrics.headBytes.Set(float64(st.Bytes))
		if st.Spans > 0 && (st.Bytes >= s.opts.HeadMaxBytes || time.Since(since) >= s.opts.HeadMaxAge) {
			if err := s.CutHead(context.Background()); err != nil {
				s.log.Error("cut head", "err", err)
			}
		}
	}
}

// CutHead writes the current head into one block per tenant and then deletes
// the WAL segments it came from. Appends continue into a new head meanwhile.
func (s *Store) CutHead(ctx context.Context) error {
	s.cutMu.Lock()
	defer s.cutMu.Unlock()

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	old := s.head
	if old.Stats().Spans == 0 {
		s.mu.Unlock()
		return nil
	}
	seg, err := s.wal.Cut()
	if err != nil {
		s.mu.Unlock()
		return fmt.Errorf("cut wal segment: %w", err)
	}
	s.head = head.New()
	s.headSince = time.Now()
	s.cuttingMu.Lock()
	s.cutting = append(s.cutting, old)
	s.cuttingMu.Unlock()
	s.mu.Unlock()

	if err := s.writeBlocks(ctx, old); err != nil {
		// Keep old queryable and its WAL segments; the next cut retries with
		// a new head, and a restart replays the segments.
		return err
	}
	if err := s.wal.Truncate(seg); err != nil {
		return fmt.Errorf("truncate wal: %w", err)
	}
	s.cuttingMu.Lock()
	s.cutting = slices.DeleteFunc(s.cutting, func(h *head.Head) bool { return h == old })
	s.cuttingMu.Unlock()
	return nil
}

func (s *Store) writeBlocks(ctx context.Context, h *head.Head) error {
	for _, tenant := range h.Tenants() {
		spans := h.Spans(tenant)
		start := time.Now()
		meta, err := block.Write(ctx, s.opts.Bucket, tenant, spans, s.opts.Block)
		if err != nil {
			s.metrics.blockWriteErrors.Inc()
			return fmt.Errorf("write block for tenant %s: %w", tenant, err)
		}
		sum := summarizeHead(h, tenant)
		if err := writeSummary(ctx, s.opts.Bucket, tenant, meta.ID, sum); err != nil {
			return fmt.Errorf("block %s/%s: %w", tenant, meta.ID, err)
		}
		b, err := block.Open(ctx, s.opts.Bucket, tenant, meta.ID)
		if err != nil {
			return fmt.Errorf("open new block %s/%s: %w", tenant, meta.ID, err)
		}
		s.blocks.add(tenant, &storedBlock{Block: b, sum: sum})
		s.metrics.blocksWritten.Inc()
		s.metrics.blockBytes.Add(float64(meta.DataSize))
		s.log.Info("block written", "tenant", tenant, "block", meta.ID, "spans", meta.SpanCount, "traces", meta.TraceCount,
			"bytes", meta.DataSize, "duration", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

func (s *Store) openBlocks(ctx context.Context) error {
	tenants, err := block.Tenants(ctx, s.opts.Bucket)
	if err != nil {
		return fmt.Errorf("list tenants: %w", err)
	}
	n := 0
	for _, tenant := range tenants {
		ids, err := block.List(ctx, s.opts.Bucket, tenant)
		if err != nil {
			return fmt.Errorf("list blocks of tenant %s: %w", tenant, err)
		}
		for _, id := range ids {
			b, err := block.Open(ctx, s.opts.Bucket, tenant, id)
			if err != nil {
				s.metrics.blockOpenErrors.Inc()
				s.log.Error("skipping unreadable block", "tenant", tenant, "block", id, "err", err)
				continue
			}
			sum, err := s.loadSummary(ctx, b)
			if err != nil {
				s.metrics.blockOpenErrors.Inc()
				s.log.Error("skipping block without a usable summary", "tenant", tenant, "block", id, "err", err)
				_ = b.Close()
				continue
			}
			s.blocks.add(tenant, &storedBlock{Block: b, sum: sum})
			n++
		}
	}
	s.log.Info("blocks opened", "blocks", n, "tenants", len(tenants))
	return nil
}

// Close stops the background loops, waits for appends in flight, deletes
// the blocks compactions replaced, and closes the WAL and blocks. The head
// is not cut: the WAL holds it for the next Open.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.loopDone
		<-s.maintDone
		s.maintMu.Lock()
		replacedErr := s.deleteReplacedLocked(context.Background(), time.Now().Add(s.opts.ReplacedBlockDelay))
		s.maintMu.Unlock()
		s.cutMu.Lock()
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.cutMu.Unlock()
		s.closeError = errors.Join(replacedErr, s.wal.Close(), s.blocks.closeAll())
	})
	return s.closeError
}
