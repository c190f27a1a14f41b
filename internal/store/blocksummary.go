package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/thanos-io/objstore"

	"waymark/internal/model"
	"waymark/internal/store/block"
	"waymark/internal/store/head"
	"waymark/internal/store/summary"
)

// summaryFile sits beside a block's files and holds what listings and
// autocomplete need without reading spans. It is written after the block;
// a block found without one gets it recomputed from its spans.
const summaryFile = "summary.json"

// blockSummary is the content of summaryFile.
type blockSummary struct {
	Version      int                  `json:"version"`
	Operations   []operationEntry     `json:"operations"`
	Dependencies []summary.Dependency `json:"dependencies"`
	Tags         summary.TagList      `json:"tags"`
}

type operationEntry struct {
	Service string `json:"service"`
	Name    string `json:"name"`
	Kind    uint8  `json:"kind"`
}

// storedBlock is an open block with its summary.
type storedBlock struct {
	*block.Block
	sum blockSummary
}

// summarizeHead computes the summary of tenant's spans in h.
func summarizeHead(h *head.Head, tenant string) blockSummary {
	s := blockSummary{Version: 1}
	for _, svc := range h.Services(tenant) {
		for _, op := range h.Operations(tenant, svc) {
			s.Operations = append(s.Operations, operationEntry{Service: svc, Name: op.Name, Kind: uint8(op.Kind)})
		}
	}
	deps := make(map[[2]string]*summary.Dependency)
	h.MergeDependencies(tenant, 0, 0, deps)
	s.Dependencies = summary.SortedDependencies(deps)
	tags := summary.NewTags()
	h.MergeTags(tenant, tags)
	s.Tags = tags.List()
	return s
}

// summarizeBlock recomputes a block's summary from its spans.
func summarizeBlock(ctx context.Context, b *block.Block) (blockSummary, error) {
	h := head.New()
	tenant := b.Meta().Tenant
	var batch []model.Span
	err := b.Iter(ctx, func(s model.Span) error {
		batch = append(batch, s)
		if len(batch) == 4096 {
			h.Append(tenant, batch)
			batch = nil
		}
		return nil
	})
	if err != nil {
		return blockSummary{}, err
	}
	h.Append(tenant, batch)
	return summarizeHead(h, tenant), nil
}

func writeSummary(ctx context.Context, bkt objstore.Bucket, tenant, id string, s blockSummary) error {
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if err := bkt.Upload(ctx, block.BlockDir(tenant, id)+summaryFile, bytes.NewReader(data)); err != nil {
		return fmt.Errorf("upload %s: %w", summaryFile, err)
	}
	return nil
}

// loadSummary reads a block's summary, recomputing and writing it when it
// is missing or unreadable.
func (s *Store) loadSummary(ctx context.Context, b *block.Block) (blockSummary, error) {
	m := b.Meta()
	name := block.BlockDir(m.Tenant, m.ID) + summaryFile
	rc, err := s.opts.Bucket.Get(ctx, name)
	if err == nil {
		data, rerr := io.ReadAll(io.LimitReader(rc, 256<<20))
		rc.Close()
		var sum blockSummary
		if rerr == nil && json.Unmarshal(data, &sum) == nil && sum.Version == 1 {
			return sum, nil
		}
		s.log.Warn("block summary unreadable; recomputing", "tenant", m.Tenant, "block", m.ID)
	} else if !s.opts.Bucket.IsObjNotFoundErr(err) {
		return blockSummary{}, fmt.Errorf("read %s: %w", name, err)
	}
	sum, err := summarizeBlock(ctx, b)
	if err != nil {
		return blockSummary{}, fmt.Errorf("summarize block %s: %w", m.ID, err)
	}
	if err := writeSummary(ctx, s.opts.Bucket, m.Tenant, m.ID, sum); err != nil {
		s.log.Warn("cannot store recomputed block summary", "block", m.ID, "err", err)
	}
	return sum, nil
}
