package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"

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
	// ExactTags says every key's value list is the complete set of its
	// values unless marked truncated, so a search may skip the block when
	// no listed value matches (summaries written before this field may
	// omit values without marking them).
	ExactTags bool `json:"exact_tags,omitempty"`
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
	s := blockSummary{Version: 1, ExactTags: true}
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

// summarizer computes a block summary from spans given trace by trace,
// holding only one trace at a time.
type summarizer struct {
	ops       map[operationEntry]struct{}
	deps      map[[2]string]*summary.Dependency
	tags      summary.Tags
	resources map[*model.Resource]struct{}
	trace     []model.Span
}

func newSummarizer() *summarizer {
	return &summarizer{ops: make(map[operationEntry]struct{}), deps: make(map[[2]string]*summary.Dependency),
		tags: summary.NewTags(), resources: make(map[*model.Resource]struct{})}
}

// add adds one span; spans of a trace must come together.
func (z *summarizer) add(s *model.Span) {
	if len(z.trace) > 0 && z.trace[0].TraceID != s.TraceID {
		z.endTrace()
	}
	z.trace = append(z.trace, *s)
	z.observe(s)
}

// addTrace adds the spans of one whole trace, which it does not keep.
func (z *summarizer) addTrace(trace []model.Span) {
	z.endTrace()
	for i := range trace {
		z.observe(&trace[i])
	}
	summary.Dependencies(z.deps, trace)
}

// maxSeenResources bounds the resources a summarizer remembers having
// added: a block read shares *Resource values only among recent spans, so
// the set would otherwise grow with the block. Adding a resource's tags
// again changes nothing.
const maxSeenResources = 4096

// observe records a span's operation and tags.
func (z *summarizer) observe(s *model.Span) {
	z.ops[operationEntry{Service: s.ServiceName(), Name: s.Name, Kind: uint8(s.Kind)}] = struct{}{}
	if len(z.resources) >= maxSeenResources {
		clear(z.resources)
	}
	z.tags.Add(s, z.resources)
}

func (z *summarizer) endTrace() {
	if len(z.trace) == 0 {
		return
	}
	summary.Dependencies(z.deps, z.trace)
	clear(z.trace)
	z.trace = z.trace[:0]
}

// summary returns the summary of every span added, in the order
// summarizeHead gives.
func (z *summarizer) summary() blockSummary {
	z.endTrace()
	s := blockSummary{Version: 1, ExactTags: true, Operations: make([]operationEntry, 0, len(z.ops))}
	for op := range z.ops {
		s.Operations = append(s.Operations, op)
	}
	slices.SortFunc(s.Operations, func(a, b operationEntry) int {
		return cmp.Or(cmp.Compare(a.Service, b.Service), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Kind, b.Kind))
	})
	s.Dependencies = summary.SortedDependencies(z.deps)
	s.Tags = z.tags.List()
	return s
}

// summarizeBlock recomputes a block's summary from its spans, which a
// block stores grouped by trace.
func summarizeBlock(ctx context.Context, b *block.Block) (blockSummary, error) {
	z := newSummarizer()
	err := b.Iter(ctx, func(s model.Span) error {
		z.add(&s)
		return nil
	})
	if err != nil {
		return blockSummary{}, err
	}
	return z.summary(), nil
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
