package compact

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/thanos-io/objstore"

	"waymark/internal/model"
	"waymark/internal/store/block"
)

// Config configures a Compactor.
type Config struct {
	// Plan tunes which blocks are merged.
	Plan Options
	// Block configures the merged blocks; its Level and Now are set by
	// the Compactor.
	Block block.WriteOptions
	// Registerer receives the waymark_compaction_* metrics; nil means none.
	Registerer prometheus.Registerer
	// Logger receives one line per compaction; nil discards.
	Logger *slog.Logger
	// Now replaces time.Now (for tests).
	Now func() time.Time
}

// Compactor plans and runs compactions of the blocks in one bucket. Its
// methods must not run concurrently.
type Compactor struct {
	bkt     objstore.Bucket
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	last    int64 // last creation time handed out
}

// New returns a Compactor of the blocks in bkt.
func New(bkt objstore.Bucket, cfg Config) *Compactor {
	cfg.Plan.setDefaults()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Compactor{bkt: bkt, cfg: cfg, log: cfg.Logger, metrics: newMetrics(cfg.Registerer)}
}

// Plan returns the compactions due now among metas; see the package-level Plan.
func (c *Compactor) Plan(metas []block.Meta) []Group {
	return Plan(metas, c.cfg.Now(), c.cfg.Plan)
}

// Observer is given each trace of the merged block, in block order, as
// Compact writes it; see TraceSink for what it may keep. It lets the caller
// compute what it needs of the block's content (such as a summary) without
// the block ever being in memory.
type Observer func(trace []model.Span)

// Written is called by Compact once the merged block is complete, with its
// meta. It makes the block visible to readers. If it fails, Compact deletes
// the block and leaves the inputs in place.
type Written func(ctx context.Context, meta block.Meta) error

// Result describes a finished compaction.
type Result struct {
	// Meta is the merged block's meta.
	Meta block.Meta
	// Journal must be passed to Finish once no reader uses the inputs.
	Journal Journal
	// Duplicates is the number of repeated span copies dropped.
	Duplicates int
}

// Compact merges inputs (the open blocks of g.Inputs, in any order) into
// one new block: it stores the journal, then streams the merge into the
// new block, showing each trace to observe (which may be nil), and calls
// written once the block is complete. Memory does not grow with the size
// of the block (see Merge and block.Writer). The inputs stay in the
// bucket until Finish. On error nothing changes for readers.
func (c *Compactor) Compact(ctx context.Context, g Group, inputs []*block.Block, observe Observer, written Written) (Result, error) {
	start := time.Now()
	res, err := c.compact(ctx, g, inputs, observe, written)
	c.metrics.duration.Observe(time.Since(start).Seconds())
	if err != nil {
		c.metrics.failures.Inc()
		return Result{}, fmt.Errorf("compact %s: %w", g, err)
	}
	c.metrics.runs.Inc()
	c.metrics.inputBlocks.Add(float64(len(inputs)))
	c.metrics.spans.Add(float64(res.Meta.SpanCount))
	c.metrics.duplicates.Add(float64(res.Duplicates))
	c.metrics.bytes.Add(float64(res.Meta.DataSize + res.Meta.IndexSize))
	c.log.Info("blocks compacted", "tenant", g.Tenant, "block", res.Meta.ID, "level", res.Meta.Level, "inputs", len(inputs),
		"spans", res.Meta.SpanCount, "traces", res.Meta.TraceCount, "duplicates", res.Duplicates,
		"bytes", res.Meta.DataSize+res.Meta.IndexSize, "duration", time.Since(start).Round(time.Millisecond))
	return res, nil
}

func (c *Compactor) compact(ctx context.Context, g Group, inputs []*block.Block, observe Observer, written Written) (Result, error) {
	if written == nil {
		return Result{}, errors.New("no written callback")
	}
	if len(inputs) != len(g.Inputs) || len(inputs) < 2 {
		return Result{}, fmt.Errorf("%d open inputs for %d planned", len(inputs), len(g.Inputs))
	}
	for _, b := range inputs {
		m := b.Meta()
		if m.Tenant != g.Tenant || !slices.ContainsFunc(g.Inputs, func(p block.Meta) bool { return p.ID == m.ID }) {
			return Result{}, fmt.Errorf("block %s/%s is not a planned input", m.Tenant, m.ID)
		}
	}
	created := c.cfg.Now()
	if n := created.UnixNano(); n <= c.last {
		created = time.Unix(0, c.last+1)
	}
	c.last = created.UnixNano()
	j := Journal{Version: journalVersion, Tenant: g.Tenant, Level: g.Level, CreatedUnixNano: created.UnixNano()}
	for _, m := range g.Inputs {
		j.Inputs = append(j.Inputs, m.ID)
	}
	if err := writeJournal(ctx, c.bkt, j); err != nil {
		return Result{}, err
	}
	meta, merged, err := c.write(ctx, g, inputs, created, observe)
	if err != nil {
		return Result{}, errors.Join(err, c.abandon(ctx, j, ""))
	}
	if err := written(ctx, meta); err != nil {
		return Result{}, errors.Join(err, c.abandon(ctx, j, meta.ID))
	}
	return Result{Meta: meta, Journal: j, Duplicates: merged.Duplicates}, nil
}

// write merges inputs into a new block of g's level created at created;
// on error it leaves no block.
func (c *Compactor) write(ctx context.Context, g Group, inputs []*block.Block, created time.Time, observe Observer) (block.Meta, Merged, error) {
	wo := c.cfg.Block
	wo.Level = g.Level
	wo.Now = func() time.Time { return created }
	traces := 0 // an upper bound of the merged traces, to size the bloom filter
	for _, b := range inputs {
		traces += int(b.Meta().TraceCount)
	}
	w, err := block.NewWriter(ctx, c.bkt, g.Tenant, wo, traces)
	if err != nil {
		return block.Meta{}, Merged{}, err
	}
	defer w.Abort() // a no-op once the block is complete
	merged, err := Merge(ctx, inputs, func(trace []model.Span) error {
		if err := w.Add(trace); err != nil {
			return err
		}
		if observe != nil {
			observe(trace)
		}
		return nil
	})
	if err != nil {
		return block.Meta{}, Merged{}, err
	}
	if merged.Spans == 0 {
		return block.Meta{}, Merged{}, errors.New("inputs hold no spans")
	}
	meta, err := w.Close()
	if err != nil {
		return block.Meta{}, Merged{}, err
	}
	return meta, merged, nil
}

// abandon undoes a compaction that did not finish: it deletes the new
// block (if any) and then the journal. If that fails, the journal stays
// and Recover settles it at the next start.
func (c *Compactor) abandon(ctx context.Context, j Journal, id string) error {
	ctx = context.WithoutCancel(ctx)
	if id != "" {
		if err := block.Delete(ctx, c.bkt, j.Tenant, id); err != nil {
			return fmt.Errorf("abandon compaction: %w", err)
		}
	}
	if err := deleteObject(ctx, c.bkt, j.Name()); err != nil {
		return fmt.Errorf("abandon compaction: %w", err)
	}
	return nil
}

// Finish deletes the inputs of a finished compaction and then its journal.
// It must run only once no reader uses the inputs any more.
func (c *Compactor) Finish(ctx context.Context, j Journal) error {
	for _, id := range j.Inputs {
		if err := block.Delete(ctx, c.bkt, j.Tenant, id); err != nil {
			return fmt.Errorf("finish compaction %s: %w", j.Name(), err)
		}
	}
	if err := deleteObject(ctx, c.bkt, j.Name()); err != nil {
		return fmt.Errorf("finish compaction: %w", err)
	}
	return nil
}

// Recovered counts what Recover found.
type Recovered struct {
	// Finished compactions had their block written: their inputs were deleted.
	Finished int
	// Abandoned compactions had no block: their inputs stay.
	Abandoned int
	// InputsDeleted counts input blocks that were still in the bucket.
	InputsDeleted int
	// Unreadable journals were deleted without action; the inputs they
	// named, if any, stay, and reads deduplicate their spans.
	Unreadable int
}

// Recover settles tenant's compactions that a crash interrupted. It must
// run before tenant's blocks are opened.
func (c *Compactor) Recover(ctx context.Context, tenant string) (Recovered, error) {
	var r Recovered
	journals, others, err := journalObjects(ctx, c.bkt, tenant)
	if err != nil {
		return r, err
	}
	for _, name := range others {
		if err := deleteObject(ctx, c.bkt, name); err != nil {
			return r, err
		}
	}
	if len(journals) == 0 {
		return r, nil
	}
	ids, err := block.List(ctx, c.bkt, tenant)
	if err != nil {
		return r, err
	}
	present := make(map[string]bool, len(ids))
	for _, id := range ids {
		present[id] = true
	}
	for _, name := range journals {
		data, err := readAll(ctx, c.bkt, name)
		if err != nil {
			return r, fmt.Errorf("read journal %s: %w", name, err)
		}
		j, err := DecodeJournal(data)
		if err != nil || j.Name() != name {
			r.Unreadable++
			c.log.Warn("deleting unreadable compaction journal", "journal", name, "err", err)
			if err := deleteObject(ctx, c.bkt, name); err != nil {
				return r, err
			}
			continue
		}
		out, err := c.findOutput(ctx, j, ids)
		if err != nil {
			return r, err
		}
		if out == "" {
			r.Abandoned++
			c.log.Info("compaction interrupted before its block was complete; inputs kept", "tenant", tenant, "journal", name)
			if err := deleteObject(ctx, c.bkt, name); err != nil {
				return r, err
			}
			continue
		}
		for _, id := range j.Inputs {
			if present[id] {
				r.InputsDeleted++
				present[id] = false
			}
		}
		if err := c.Finish(ctx, j); err != nil {
			return r, err
		}
		r.Finished++
		c.log.Info("finished interrupted compaction", "tenant", tenant, "block", out, "inputs", len(j.Inputs))
	}
	return r, nil
}

// findOutput returns the ID of the block j wrote, or "" if none is
// complete. ids are the tenant's complete blocks.
func (c *Compactor) findOutput(ctx context.Context, j Journal, ids []string) (string, error) {
	ms := time.Unix(0, j.CreatedUnixNano).UnixMilli()
	for _, id := range ids {
		t, err := block.IDTime(id)
		if err != nil || t.UnixMilli() != ms {
			continue
		}
		data, err := readAll(ctx, c.bkt, block.BlockDir(j.Tenant, id)+block.MetaFile)
		if err != nil {
			return "", fmt.Errorf("read meta of block %s: %w", id, err)
		}
		m, err := block.DecodeMeta(data)
		if err != nil {
			continue // a damaged block is not a finished compaction
		}
		if m.CreatedUnixNano == j.CreatedUnixNano && m.Level == j.Level {
			return id, nil
		}
	}
	return "", nil
}

// readAll reads a small object.
func readAll(ctx context.Context, bkt objstore.Bucket, name string) ([]byte, error) {
	rc, err := bkt.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxJournalSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxJournalSize {
		return nil, fmt.Errorf("object %s exceeds %d bytes", name, maxJournalSize)
	}
	return data, nil
}
