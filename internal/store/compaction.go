package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"waymark/internal/store/block"
	"waymark/internal/store/compact"
)

// replacedBlocks are the inputs of a finished compaction, kept readable
// until due for queries that started before the merged block replaced them.
type replacedBlocks struct {
	journal compact.Journal
	blocks  []*storedBlock
	due     time.Time
}

// Compact runs every compaction due now (see compact.Plan) and returns when
// they are done. Merged blocks replace their inputs for new queries at
// once; the inputs are deleted ReplacedBlockDelay later.
func (s *Store) Compact(ctx context.Context) error {
	s.maintMu.Lock()
	defer s.maintMu.Unlock()
	var errs []error
	for _, tenant := range s.blocks.tenants() {
		list := s.blocks.list(tenant)
		metas := make([]block.Meta, len(list))
		byID := make(map[string]*storedBlock, len(list))
		for i, b := range list {
			metas[i] = b.Meta()
			byID[metas[i].ID] = b
		}
		for _, g := range s.compactor.Plan(metas) {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := s.compactGroup(ctx, g, byID); err != nil {
				errs = append(errs, err)
			}
		}
	}
	errs = append(errs, s.deleteReplacedLocked(ctx, time.Now()))
	s.updateBlockGauges()
	return errors.Join(errs...)
}

// compactGroup merges one planned group of open blocks.
func (s *Store) compactGroup(ctx context.Context, g compact.Group, byID map[string]*storedBlock) error {
	inputs := make([]*block.Block, len(g.Inputs))
	stored := make([]*storedBlock, len(g.Inputs))
	ids := make([]string, len(g.Inputs))
	for i, m := range g.Inputs {
		stored[i], ids[i] = byID[m.ID], m.ID
		inputs[i] = stored[i].Block
	}
	// The summary is computed trace by trace as the merged block is written.
	z := newSummarizer()
	res, err := s.compactor.Compact(ctx, g, inputs, z.addTrace, func(ctx context.Context, meta block.Meta) error {
		sum := z.summary()
		if err := writeSummary(ctx, s.opts.Bucket, g.Tenant, meta.ID, sum); err != nil {
			return fmt.Errorf("block %s/%s: %w", g.Tenant, meta.ID, err)
		}
		b, err := block.Open(ctx, s.opts.Bucket, g.Tenant, meta.ID)
		if err != nil {
			return fmt.Errorf("open compacted block %s/%s: %w", g.Tenant, meta.ID, err)
		}
		s.blocks.replace(g.Tenant, ids, &storedBlock{Block: b, sum: sum})
		return nil
	})
	if err != nil {
		return err
	}
	s.replaced = append(s.replaced, replacedBlocks{journal: res.Journal, blocks: stored, due: time.Now().Add(s.opts.ReplacedBlockDelay)})
	return nil
}

// deleteReplacedLocked deletes the replaced blocks due at now, oldest
// compaction first; it stops at the first failure so that a compaction's
// inputs are never deleted before those of an earlier one (Recover relies
// on that order). The caller holds maintMu.
func (s *Store) deleteReplacedLocked(ctx context.Context, now time.Time) error {
	for len(s.replaced) > 0 && !now.Before(s.replaced[0].due) {
		r := s.replaced[0]
		for _, b := range r.blocks {
			_ = b.Close()
		}
		if err := s.compactor.Finish(ctx, r.journal); err != nil {
			return err
		}
		s.replaced = s.replaced[1:]
		s.metrics.blocksDeleted.WithLabelValues(reasonCompacted).Add(float64(len(r.blocks)))
		s.log.Debug("compacted blocks deleted", "tenant", r.journal.Tenant, "blocks", len(r.blocks))
	}
	return nil
}
