package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"waymark/internal/model"
)

// Errors returned by the queue.
var (
	// ErrClosed is returned by calls on a closed queue.
	ErrClosed = errors.New("queue closed")
	// ErrTooLarge is returned by Put for an item that can never fit.
	ErrTooLarge = errors.New("item larger than the queue")
	// ErrEmpty is returned by Put for an empty item.
	ErrEmpty = errors.New("empty item")
	// ErrUnknownItem is returned by Ack for an item this queue did not deliver.
	ErrUnknownItem = errors.New("item not delivered by this queue")
)

// Item is one queued item as Get delivers it.
type Item struct {
	// Data is the item's bytes, owned by the caller.
	Data []byte

	pos position
	end int64
}

// Stats is a snapshot of the queue's contents.
type Stats struct {
	// PendingItems counts the items not yet acked in order, delivered or
	// not.
	PendingItems int64
	// PendingBytes is their size on disk, record headers included.
	PendingBytes int64
}

// Queue is a durable FIFO of byte items on local disk. It is safe for
// concurrent use by any number of producers and consumers.
type Queue struct {
	dir string
	cfg Config
	log *slog.Logger
	m   *metrics

	// syncMu serialises fsyncs of the write segment so that one fsync
	// serves every Put that wrote before it (group commit). Lock order:
	// syncMu, then mu; ackMu, then mu.
	syncMu sync.Mutex
	// ackMu serialises writes of the ack file.
	ackMu        sync.Mutex
	ackPersisted position

	mu           sync.Mutex
	closed       bool
	segs         []*segment // oldest first; the last is written
	written      uint64     // bytes written since Open, for group commit
	synced       uint64     // bytes of written known to be fsynced
	read         position
	ack          position
	acked        map[position]int64 // acked out of order: start → end
	pendingBytes int64
	pendingItems int64
	notify       chan struct{}
	lastAckWrite time.Time
	doomed       []*segment // fully acked segments to delete

	// Drops are logged at most once per dropLogInterval, with the counts
	// gathered since the last line.
	lastDropLog          time.Time
	dropItems, dropBytes int64
}

const dropLogInterval = 10 * time.Second

// Open opens or creates the queue in dir. Items not acked before the queue
// was last closed, or before a crash, are delivered again. A torn or
// corrupt tail of a segment is cut off and logged.
func Open(dir string, opts Options) (*Queue, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("queue config: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := opts.withDefaults()
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create queue dir: %w", err)
	}
	q := &Queue{dir: dir, cfg: cfg, log: log, m: m, acked: map[position]int64{}, notify: make(chan struct{})}
	if err := q.recover(); err != nil {
		q.closeFiles()
		return nil, err
	}
	// A new segment's number must exceed every number the ack file may
	// name, or a later Open would take its records for acked ones.
	next := q.ack.seg + 1
	if n := len(q.segs); n > 0 {
		next = max(next, q.segs[n-1].seq+1)
	}
	seg, err := createSegment(dir, next)
	if err != nil {
		q.closeFiles()
		return nil, err
	}
	q.segs = append(q.segs, seg)
	if len(q.segs) == 1 {
		q.ack = position{seg: seg.seq, off: segmentHeaderSize}
	}
	q.settleLocked()
	q.removeSegments(q.takeDoomedLocked())
	q.read = q.ack
	q.ackPersisted = q.ack
	q.m.capacity.Set(float64(cfg.CapacityBytes))
	q.updateGaugesLocked()
	log.Info("queue opened", "dir", dir, "pending_items", q.pendingItems, "pending_bytes", q.pendingBytes,
		"capacity_bytes", cfg.CapacityBytes)
	return q, nil
}

// recover loads the segments and the ack position left on disk.
func (q *Queue) recover() error {
	entries, err := os.ReadDir(q.dir)
	if err != nil {
		return fmt.Errorf("read queue dir: %w", err)
	}
	var seqs []uint64
	for _, e := range entries {
		if seq, ok := parseSegmentName(e.Name()); ok && e.Type().IsRegular() {
			seqs = append(seqs, seq)
		}
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	ack, haveAck, err := readAck(q.dir)
	if err != nil {
		// Redelivering everything is safe; losing the queue is not.
		q.log.Error("queue ack file unreadable; delivering every item again", "err", err)
	}
	for _, seq := range seqs {
		path := filepath.Join(q.dir, segmentName(seq))
		if haveAck && seq < ack.seg {
			if err := os.Remove(path); err != nil {
				return fmt.Errorf("remove acked segment: %w", err)
			}
			continue
		}
		if err := q.loadSegment(seq, path, ack, haveAck); err != nil {
			return err
		}
	}
	switch {
	case len(q.segs) > 0:
		first := q.segs[0]
		if !haveAck || ack.seg != first.seq {
			ack = position{seg: first.seq, off: segmentHeaderSize}
		}
		q.ack = position{seg: ack.seg, off: min(ack.off, first.size)}
	case haveAck:
		q.ack = ack // only its segment number matters: see Open
	}
	return nil
}

// loadSegment scans one segment, cuts off a torn or corrupt tail, and
// counts its records from the ack position on as pending.
func (q *Queue) loadSegment(seq uint64, path string, ack position, haveAck bool) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("open segment: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		return closeAfter(f, fmt.Errorf("stat segment %d: %w", seq, err))
	}
	from := int64(0)
	if haveAck && seq == ack.seg {
		from = ack.off
	}
	end, scanErr := replaySegment(f, st.Size(), func(off int64, payload []byte) {
		if off >= from {
			q.pendingItems++
			q.pendingBytes += int64(recordHeaderSize + len(payload))
		}
	})
	if end < segmentHeaderSize {
		if errors.Is(scanErr, errTorn) {
			// A segment cut short while being created holds nothing.
			q.log.Warn("queue segment without a header removed", "segment", seq)
			return errors.Join(f.Close(), os.Remove(path))
		}
		return closeAfter(f, fmt.Errorf("segment %d: %w", seq, scanErr))
	}
	if scanErr != nil {
		if !errors.Is(scanErr, errTorn) && !errors.Is(scanErr, ErrCorrupt) {
			return closeAfter(f, fmt.Errorf("scan segment %d: %w", seq, scanErr))
		}
		if err := f.Truncate(end); err != nil {
			return closeAfter(f, fmt.Errorf("truncate segment %d: %w", seq, err))
		}
		if err := f.Sync(); err != nil {
			return closeAfter(f, fmt.Errorf("sync segment %d: %w", seq, err))
		}
		q.m.truncated.Add(float64(st.Size() - end))
		q.log.Warn("queue segment tail cut off", "segment", seq, "offset", end, "bytes", st.Size()-end, "err", scanErr)
	}
	q.segs = append(q.segs, &segment{seq: seq, path: path, f: f, size: end})
	return nil
}

// Put appends item and returns after it is fsynced. When the queue is full
// it drops the oldest items or, with the refuse policy, returns
// *model.OverloadedError.
func (q *Queue) Put(ctx context.Context, item []byte) error {
	need := int64(recordHeaderSize + len(item))
	switch {
	case len(item) == 0:
		q.m.failures.WithLabelValues("empty").Inc()
		return ErrEmpty
	case len(item) > MaxItemBytes || need > q.cfg.CapacityBytes:
		q.m.failures.WithLabelValues("too_large").Inc()
		return fmt.Errorf("put %d bytes: %w", len(item), ErrTooLarge)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return ErrClosed
	}
	if q.pendingBytes+need > q.cfg.CapacityBytes {
		if q.cfg.FullPolicy == Refuse {
			q.mu.Unlock()
			q.m.failures.WithLabelValues("full").Inc()
			return &model.OverloadedError{Reason: "agent queue full", RetryAfter: q.cfg.RetryAfter}
		}
		if err := q.dropOldestLocked(need); err != nil {
			q.mu.Unlock()
			q.m.failures.WithLabelValues("io").Inc()
			return err
		}
	}
	end, err := q.appendLocked(item)
	doomed := q.takeDoomedLocked()
	q.mu.Unlock()
	if len(doomed) > 0 {
		// Point the ack file past the segments before deleting them. If
		// that fails they still go: Open starts from the oldest segment
		// left, and every item of a deleted one was acked or dropped.
		if perr := q.persistAck(); perr != nil {
			q.log.Warn("queue ack position not written", "err", perr)
		}
	}
	q.removeSegments(doomed)
	if err != nil {
		q.m.failures.WithLabelValues("io").Inc()
		return err
	}
	if err := q.syncTo(end); err != nil {
		q.m.failures.WithLabelValues("io").Inc()
		return err
	}
	return nil
}

// appendLocked writes one record to the write segment, starting a new
// segment when the current one is full, and returns the written counter
// that an fsync must reach for the record to be durable.
func (q *Queue) appendLocked(item []byte) (uint64, error) {
	cur := q.segs[len(q.segs)-1]
	need := int64(recordHeaderSize + len(item))
	if cur.size > segmentHeaderSize && cur.size+need > q.cfg.SegmentBytes {
		if err := q.rollLocked(); err != nil {
			return 0, err
		}
		cur = q.segs[len(q.segs)-1]
	}
	// Header and payload are written apart, so a large item is not copied;
	// a crash between the two leaves a torn record that Open cuts off.
	h := recordHeader(item)
	if _, err := cur.f.WriteAt(h[:], cur.size); err != nil {
		return 0, fmt.Errorf("write segment %d: %w", cur.seq, err)
	}
	if _, err := cur.f.WriteAt(item, cur.size+recordHeaderSize); err != nil {
		return 0, fmt.Errorf("write segment %d: %w", cur.seq, err)
	}
	cur.size += need
	q.written += uint64(need)
	q.pendingBytes += need
	q.pendingItems++
	q.updateGaugesLocked()
	close(q.notify)
	q.notify = make(chan struct{})
	return q.written, nil
}

// rollLocked seals the write segment, fsyncing it so that every write
// before the roll is durable, and starts the next one.
func (q *Queue) rollLocked() error {
	cur := q.segs[len(q.segs)-1]
	if err := cur.f.Sync(); err != nil {
		return fmt.Errorf("sync segment %d: %w", cur.seq, err)
	}
	q.synced = q.written
	seg, err := createSegment(q.dir, cur.seq+1)
	if err != nil {
		return err
	}
	q.segs = append(q.segs, seg)
	// If every item of the sealed segment was acked, the ack position sits
	// at its end: move it into the new segment, or acks there would wait
	// for an item that never comes.
	q.settleLocked()
	return nil
}

// syncTo returns once the first target written bytes are fsynced. The
// goroutine holding syncMu fsyncs everything written so far, so Puts that
// queue up behind it are served by its fsync or by the next one.
func (q *Queue) syncTo(target uint64) error {
	q.syncMu.Lock()
	defer q.syncMu.Unlock()
	q.mu.Lock()
	if q.synced >= target {
		q.mu.Unlock()
		return nil
	}
	if q.closed {
		q.mu.Unlock()
		return ErrClosed
	}
	upTo := q.written
	cur := q.segs[len(q.segs)-1]
	q.mu.Unlock()
	if err := cur.f.Sync(); err != nil {
		return fmt.Errorf("sync segment %d: %w", cur.seq, err)
	}
	q.m.fsyncs.Inc()
	q.mu.Lock()
	q.synced = max(q.synced, upTo)
	q.mu.Unlock()
	return nil
}

// Get returns the next item, blocking until one is available, ctx is done
// or the queue is closed. Items are delivered in order; an item delivered
// and not acked before a restart is delivered again after it.
func (q *Queue) Get(ctx context.Context) (Item, error) {
	for {
		q.mu.Lock()
		if q.closed {
			q.mu.Unlock()
			return Item{}, ErrClosed
		}
		it, ok, err := q.nextLocked()
		ch := q.notify
		q.mu.Unlock()
		if err != nil || ok {
			return it, err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return Item{}, ctx.Err()
		}
	}
}

// nextLocked reads the record at the read position, if any.
func (q *Queue) nextLocked() (Item, bool, error) {
	i := q.segIndexLocked(q.read.seg)
	if q.segs[i].seq != q.read.seg {
		q.read = position{seg: q.segs[i].seq, off: segmentHeaderSize}
	}
	for i < len(q.segs)-1 && q.read.off >= q.segs[i].size {
		i++
		q.read = position{seg: q.segs[i].seq, off: segmentHeaderSize}
	}
	seg := q.segs[i]
	if q.read.off >= seg.size {
		return Item{}, false, nil
	}
	var h [recordHeaderSize]byte
	if _, err := seg.f.ReadAt(h[:], q.read.off); err != nil {
		return Item{}, false, fmt.Errorf("read segment %d at %d: %w", seg.seq, q.read.off, err)
	}
	n, err := recordLength(h[:])
	if err != nil {
		return Item{}, false, fmt.Errorf("segment %d at %d: %w", seg.seq, q.read.off, err)
	}
	data := make([]byte, n)
	if _, err := seg.f.ReadAt(data, q.read.off+recordHeaderSize); err != nil {
		return Item{}, false, fmt.Errorf("read segment %d at %d: %w", seg.seq, q.read.off, err)
	}
	if err := checkRecord(h[:], data); err != nil {
		return Item{}, false, fmt.Errorf("segment %d at %d: %w", seg.seq, q.read.off, err)
	}
	it := Item{Data: data, pos: q.read, end: q.read.off + recordHeaderSize + int64(n)}
	q.read.off = it.end
	return it, true, nil
}

// segIndexLocked returns the index of segment seq, or of the first later
// segment when seq is gone.
func (q *Queue) segIndexLocked(seq uint64) int {
	for i, s := range q.segs {
		if s.seq >= seq {
			return i
		}
	}
	return len(q.segs) - 1
}

// Ack removes a delivered item from the queue. Acks may come in any order;
// the stored ack position moves past an item once it and every earlier item
// are acked. Acking an item twice, or one already dropped, does nothing.
func (q *Queue) Ack(it Item) error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return ErrClosed
	}
	switch {
	case it.end == 0 || !it.pos.less(q.read):
		q.mu.Unlock()
		return ErrUnknownItem
	case it.pos.less(q.ack):
		q.mu.Unlock()
		return nil
	case it.pos != q.ack:
		q.acked[it.pos] = it.end
		q.mu.Unlock()
		return nil
	}
	q.advanceLocked(it.end)
	q.updateGaugesLocked()
	return q.afterAckLocked()
}

// afterAckLocked writes the ack position when it is due and deletes fully
// acked segments. It unlocks mu.
func (q *Queue) afterAckLocked() error {
	doomed := q.takeDoomedLocked()
	due := len(doomed) > 0 || time.Since(q.lastAckWrite) >= q.cfg.AckSyncInterval
	if due {
		q.lastAckWrite = time.Now()
	}
	q.mu.Unlock()
	var err error
	if due {
		err = q.persistAck()
	}
	q.removeSegments(doomed)
	return err
}

// advanceLocked moves the ack position from the record it points at to end,
// then past every record acked out of order that follows, and past the end
// of sealed segments, which become doomed.
func (q *Queue) advanceLocked(end int64) {
	q.pendingBytes -= end - q.ack.off
	q.pendingItems--
	q.ack.off = end
	q.settleLocked()
}

// settleLocked moves the ack position past records acked out of order and
// past the end of sealed segments, which become doomed.
func (q *Queue) settleLocked() {
	for {
		if e, ok := q.acked[q.ack]; ok {
			delete(q.acked, q.ack)
			q.pendingBytes -= e - q.ack.off
			q.pendingItems--
			q.ack.off = e
			continue
		}
		first := q.segs[0]
		if first.seq == q.ack.seg && q.ack.off >= first.size && len(q.segs) > 1 {
			q.segs = q.segs[1:]
			q.doomed = append(q.doomed, first)
			q.ack = position{seg: q.segs[0].seq, off: segmentHeaderSize}
			continue
		}
		return
	}
}

// dropOldestLocked discards items from the ack position on until need more
// bytes fit.
func (q *Queue) dropOldestLocked(need int64) error {
	var items, bytes int64
	for q.pendingBytes+need > q.cfg.CapacityBytes && q.pendingItems > 0 {
		seg := q.segs[0]
		var h [recordHeaderSize]byte
		if _, err := seg.f.ReadAt(h[:], q.ack.off); err != nil {
			return fmt.Errorf("read segment %d at %d: %w", seg.seq, q.ack.off, err)
		}
		n, err := recordLength(h[:])
		if err != nil {
			return fmt.Errorf("segment %d at %d: %w", seg.seq, q.ack.off, err)
		}
		before := q.pendingBytes
		q.advanceLocked(q.ack.off + recordHeaderSize + int64(n))
		items++
		bytes += before - q.pendingBytes
	}
	for p := range q.acked {
		if p.less(q.ack) {
			delete(q.acked, p)
		}
	}
	if q.read.less(q.ack) {
		q.read = q.ack
	}
	q.m.dropped.Add(float64(items))
	q.dropItems += items
	q.dropBytes += bytes
	if time.Since(q.lastDropLog) >= dropLogInterval {
		q.log.Warn("queue full; dropped oldest items", "items", q.dropItems, "bytes", q.dropBytes,
			"capacity_bytes", q.cfg.CapacityBytes)
		q.lastDropLog, q.dropItems, q.dropBytes = time.Now(), 0, 0
	}
	return nil
}

func (q *Queue) takeDoomedLocked() []*segment {
	d := q.doomed
	q.doomed = nil
	return d
}

// persistAck writes the current ack position if it moved since the last
// write.
func (q *Queue) persistAck() error {
	q.ackMu.Lock()
	defer q.ackMu.Unlock()
	q.mu.Lock()
	p := q.ack
	q.mu.Unlock()
	if p == q.ackPersisted {
		return nil
	}
	if err := writeAck(q.dir, p); err != nil {
		return err
	}
	q.ackPersisted = p
	return nil
}

// removeSegments deletes fully acked segments. The ack file already points
// past them, and a failure only leaves a file that Open removes.
func (q *Queue) removeSegments(segs []*segment) {
	for _, s := range segs {
		if err := errors.Join(s.f.Close(), os.Remove(s.path)); err != nil {
			q.log.Warn("queue segment not removed", "segment", s.seq, "err", err)
		}
	}
}

// Stats returns the queue's pending items and bytes.
func (q *Queue) Stats() Stats {
	q.mu.Lock()
	defer q.mu.Unlock()
	return Stats{PendingItems: q.pendingItems, PendingBytes: q.pendingBytes}
}

func (q *Queue) updateGaugesLocked() {
	q.m.pendingBytes.Set(float64(q.pendingBytes))
	q.m.pendingItems.Set(float64(q.pendingItems))
}

// Close writes the ack position, fsyncs and closes the segments, and makes
// blocked and later calls return ErrClosed.
func (q *Queue) Close() error {
	q.syncMu.Lock()
	defer q.syncMu.Unlock()
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return ErrClosed
	}
	doomed := q.takeDoomedLocked()
	q.mu.Unlock()
	err := q.persistAck()
	q.removeSegments(doomed)
	q.mu.Lock()
	q.closed = true
	close(q.notify)
	cur := q.segs[len(q.segs)-1]
	if serr := cur.f.Sync(); serr != nil {
		err = errors.Join(err, fmt.Errorf("sync segment %d: %w", cur.seq, serr))
	} else {
		q.synced = q.written
	}
	q.mu.Unlock()
	return errors.Join(err, q.closeFiles())
}

func (q *Queue) closeFiles() error {
	var errs []error
	for _, s := range q.segs {
		if err := s.f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close segment %d: %w", s.seq, err))
		}
	}
	return errors.Join(errs...)
}
