package store

import (
	"context"
	"errors"
	"io/fs"
	"time"

	"waymark/internal/store/block"
)

// retentionInterval is how often the maintenance loop applies retention.
const retentionInterval = time.Minute

// maintain is the background loop that compacts blocks, deletes replaced
// ones, and applies retention and the disk limit. It runs apart from the
// loop that cuts the head, so a long compaction never delays a cut.
func (s *Store) maintain() {
	defer close(s.maintDone)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var lastCompaction, lastRetention time.Time
	report := func(what string, err error) {
		if err != nil && ctx.Err() == nil {
			s.log.Error(what, "err", err)
		}
	}
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		}
		now := time.Now()
		s.maintMu.Lock()
		err := s.deleteReplacedLocked(ctx, now)
		s.maintMu.Unlock()
		report("delete compacted blocks", err)
		if s.opts.CompactionInterval > 0 && now.Sub(lastCompaction) >= s.opts.CompactionInterval {
			report("compact blocks", s.Compact(ctx))
			lastCompaction = time.Now()
		}
		if now.Sub(lastRetention) >= retentionInterval {
			report("apply retention", s.ApplyRetention(ctx, now))
			lastRetention = now
		}
		report("apply disk limit", s.ApplyDiskLimit(ctx))
		s.updateBlockGauges()
	}
}

// skipFailedBlock decides whether a query goes on without b after reading
// it failed with err. It does when b was removed while the query ran
// (retention, the disk limit or compaction deleted it, and its data is gone
// or in a block the query will not miss) and when b's data is damaged or
// missing, which it counts and logs. Other errors, and the query's own
// cancellation, end the query.
func (s *Store) skipFailedBlock(ctx context.Context, b *storedBlock, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if !s.blocks.contains(b) {
		return true
	}
	if !errors.Is(err, block.ErrCorrupt) && !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	m := b.Meta()
	s.metrics.blockReadErrors.Inc()
	s.log.Error("skipping damaged block in a query", "tenant", m.Tenant, "block", m.ID, "err", err)
	return true
}
