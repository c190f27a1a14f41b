package store

import (
	"context"
	"fmt"

	"waymark/internal/store/block"
	"waymark/internal/store/compact"
)

// recoverBucket settles what a crash left in the bucket before blocks are
// opened: it finishes or abandons interrupted compactions (compact.Recover)
// and deletes blocks whose writing never completed (objects without a
// whole meta.json), which no reader can see. The store must be the bucket's only
// writer.
func (s *Store) recoverBucket(ctx context.Context) error {
	tenants, err := block.Tenants(ctx, s.opts.Bucket)
	if err != nil {
		return fmt.Errorf("list tenants: %w", err)
	}
	for _, tenant := range tenants {
		r, err := s.compactor.Recover(ctx, tenant)
		if err != nil {
			return fmt.Errorf("recover compactions of tenant %s: %w", tenant, err)
		}
		if r != (compact.Recovered{}) {
			s.log.Info("interrupted compactions settled", "tenant", tenant, "finished", r.Finished, "abandoned", r.Abandoned,
				"inputs_deleted", r.InputsDeleted, "unreadable_journals", r.Unreadable)
			s.metrics.blocksDeleted.WithLabelValues(reasonCompacted).Add(float64(r.InputsDeleted))
		}
		n, err := s.deletePartialBlocks(ctx, tenant)
		if err != nil {
			return fmt.Errorf("tenant %s: %w", tenant, err)
		}
		if n > 0 {
			s.log.Info("incomplete blocks deleted", "tenant", tenant, "blocks", n)
		}
	}
	return nil
}

// deletePartialBlocks deletes tenant's block directories whose meta.json is
// missing or torn (block.ListIncomplete): meta.json is written last, so such
// a block's writing never finished and its spans are still in the WAL or in
// the inputs of an abandoned compaction. Each one is counted as a block that
// could not be opened and logged. It returns how many it deleted.
func (s *Store) deletePartialBlocks(ctx context.Context, tenant string) (int, error) {
	ids, err := block.ListIncomplete(ctx, s.opts.Bucket, tenant)
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		s.metrics.blockOpenErrors.Inc()
		s.log.Warn("skipping incomplete block and deleting it", "tenant", tenant, "block", id)
		if err := block.Delete(ctx, s.opts.Bucket, tenant, id); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}
