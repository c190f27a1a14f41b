package store

import (
	"context"
	"fmt"
	"strings"

	"waymark/internal/store/block"
	"waymark/internal/store/compact"
)

// recoverBucket settles what a crash left in the bucket before blocks are
// opened: it finishes or abandons interrupted compactions (compact.Recover)
// and deletes blocks whose writing never completed (objects without a
// meta.json), which no reader can see. The store must be the bucket's only
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

// deletePartialBlocks deletes tenant's block directories that have no
// meta.json and returns how many it deleted.
func (s *Store) deletePartialBlocks(ctx context.Context, tenant string) (int, error) {
	bkt := s.opts.Bucket
	var partial []string
	err := bkt.Iter(ctx, tenant+"/", func(name string) error {
		id, isDir := strings.CutSuffix(strings.TrimPrefix(name, tenant+"/"), "/")
		if !isDir || block.ValidateID(id) != nil {
			return nil
		}
		ok, err := bkt.Exists(ctx, block.BlockDir(tenant, id)+block.MetaFile)
		if err != nil {
			return fmt.Errorf("check block %s: %w", id, err)
		}
		if !ok {
			partial = append(partial, id)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("list blocks: %w", err)
	}
	for _, id := range partial {
		if err := block.Delete(ctx, bkt, tenant, id); err != nil {
			return 0, err
		}
	}
	return len(partial), nil
}
