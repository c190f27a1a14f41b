package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"waymark/internal/store/block"
)

// retention returns tenant's retention period.
func (s *Store) retention(tenant string) time.Duration {
	if d, ok := s.opts.TenantRetention[tenant]; ok && d > 0 {
		return d
	}
	return s.opts.Retention
}

// ApplyRetention deletes every block whose newest span is older than its
// tenant's retention period (TenantRetention, else Retention) at now.
func (s *Store) ApplyRetention(ctx context.Context, now time.Time) error {
	s.maintMu.Lock()
	defer s.maintMu.Unlock()
	expired := s.blocks.expired(func(tenant string) uint64 {
		return uint64(max(0, now.Add(-s.retention(tenant)).UnixNano()))
	})
	var errs []error
	for _, b := range expired {
		m := b.Meta()
		if err := s.deleteBlock(ctx, b, reasonRetention); err != nil {
			errs = append(errs, err)
			continue
		}
		s.log.Info("block deleted by retention", "tenant", m.Tenant, "block", m.ID, "max_time", time.Unix(0, int64(m.MaxTimeUnixNano)).UTC(),
			"retention", s.retention(m.Tenant))
	}
	s.updateBlockGauges()
	return errors.Join(errs...)
}

// blockSize is what a block counts against MaxDiskBytes.
func blockSize(m block.Meta) int64 { return m.DataSize + m.IndexSize }

// ApplyDiskLimit deletes blocks, those with the oldest data first across
// all tenants, until the blocks take at most MaxDiskBytes. It does nothing
// when MaxDiskBytes is 0.
func (s *Store) ApplyDiskLimit(ctx context.Context) error {
	if s.opts.MaxDiskBytes <= 0 {
		return nil
	}
	s.maintMu.Lock()
	defer s.maintMu.Unlock()
	defer s.updateBlockGauges()
	all := s.blocks.all()
	var total int64
	for _, b := range all {
		total += blockSize(b.Meta())
	}
	if total <= s.opts.MaxDiskBytes {
		return nil
	}
	slices.SortFunc(all, func(x, y *storedBlock) int {
		mx, my := x.Meta(), y.Meta()
		if c := cmp.Compare(mx.MaxTimeUnixNano, my.MaxTimeUnixNano); c != 0 {
			return c
		}
		return cmp.Compare(mx.ID, my.ID)
	})
	for _, b := range all {
		if total <= s.opts.MaxDiskBytes {
			break
		}
		m := b.Meta()
		if err := s.deleteBlock(ctx, b, reasonDiskLimit); err != nil {
			return err
		}
		total -= blockSize(m)
		s.log.Warn("block deleted by the disk usage limit", "tenant", m.Tenant, "block", m.ID, "bytes", blockSize(m),
			"max_time", time.Unix(0, int64(m.MaxTimeUnixNano)).UTC(), "blocks_bytes", total, "max_disk_bytes", s.opts.MaxDiskBytes)
	}
	return nil
}

// deleteBlock removes b from the open blocks and deletes it from the bucket.
// Queries already reading b skip it (see skipFailedBlock).
func (s *Store) deleteBlock(ctx context.Context, b *storedBlock, reason string) error {
	m := b.Meta()
	s.blocks.remove(m.Tenant, m.ID)
	if err := block.Delete(ctx, s.opts.Bucket, m.Tenant, m.ID); err != nil {
		s.blocks.add(m.Tenant, b)
		return fmt.Errorf("delete block %s/%s: %w", m.Tenant, m.ID, err)
	}
	_ = b.Close()
	s.metrics.blocksDeleted.WithLabelValues(reason).Inc()
	return nil
}

// updateBlockGauges sets the block count and size gauges.
func (s *Store) updateBlockGauges() {
	all := s.blocks.all()
	var size int64
	for _, b := range all {
		size += blockSize(b.Meta())
	}
	s.metrics.blocks.Set(float64(len(all)))
	s.metrics.blocksSize.Set(float64(size))
}
