package wal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultSegmentSize is the segment size used when Options.SegmentSize is 0.
const DefaultSegmentSize = 128 << 20

// lockFileName is the file in the WAL directory that Open locks.
const lockFileName = "LOCK"

var (
	// ErrClosed is returned by calls on a closed WAL.
	ErrClosed = errors.New("wal: closed")
	// ErrLocked is returned by Open when another WAL has the directory open.
	ErrLocked = errors.New("wal: directory is in use")
	// ErrRecordTooLarge is returned by Append for a record larger than
	// MaxRecordSize.
	ErrRecordTooLarge = errors.New("wal: record too large")
)

// Options configure a WAL.
type Options struct {
	// SegmentSize is the size in bytes at which a segment is closed and a
	// new one started. A record never spans segments: a record that does not
	// fit in the rest of the current segment starts a new one, and a record
	// larger than SegmentSize gets a segment of its own. Zero means
	// DefaultSegmentSize; otherwise it must be at least PageSize.
	SegmentSize int64
	// Registerer receives the WAL's metrics; nil means no metrics. Close
	// unregisters them.
	Registerer prometheus.Registerer
	// Logger receives replay and I/O error reports; nil discards them.
	Logger *slog.Logger
}

// WAL is a write-ahead log in a directory of numbered segment files. Its
// methods are safe for concurrent use.
type WAL struct {
	dir     string
	segSize int64
	logger  *slog.Logger
	metrics *metrics
	unlock  func() error

	// replaySegments are the segments that existed when the WAL was opened.
	replaySegments []int

	mu       sync.Mutex
	cond     *sync.Cond // signals the writer that pending or closing changed
	pending  *batch     // records not yet taken by the writer; nil if none
	seg      int        // segment the next record goes to
	off      int64      // offset in seg where the next record starts
	fileSeg  int        // segment the writer has open; fileSeg <= seg
	first    int        // oldest segment on disk
	count    int        // segment files on disk
	free     [][]byte   // buffers for reuse by batches
	err      error      // first write or sync error; the WAL is unusable after it
	closing  bool
	replayed bool
	appended bool

	truncMu   sync.Mutex // serialises Truncate
	closeOnce sync.Once
	closeErr  error
	stopped   chan struct{} // closed when the writer has exited
	writer    writer        // owned by the writer goroutine
}

// Open opens the WAL in dir, creating dir if needed. It finds the segments
// already there, which Replay reads, and starts a new segment after them
// for appends. A directory is opened by one WAL at a time.
func Open(dir string, opts Options) (*WAL, error) {
	segSize := opts.SegmentSize
	switch {
	case segSize == 0:
		segSize = DefaultSegmentSize
	case segSize < PageSize:
		return nil, fmt.Errorf("wal: segment size %d is below the page size %d", segSize, PageSize)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create wal directory: %w", err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	w, err := open(dir, segSize, opts.Registerer, logger, unlock)
	if err != nil {
		unlock()
		return nil, err
	}
	go w.run()
	return w, nil
}

// open builds the WAL of a locked directory and creates its first new
// segment.
func open(dir string, segSize int64, reg prometheus.Registerer, logger *slog.Logger, unlock func() error) (*WAL, error) {
	existing, err := listSegments(dir)
	if err != nil {
		return nil, err
	}
	next := 0
	if len(existing) > 0 {
		next = existing[len(existing)-1] + 1
		for i := 1; i < len(existing); i++ {
			if existing[i] != existing[i-1]+1 {
				logger.Warn("wal segments missing", "after", existing[i-1], "before", existing[i])
			}
		}
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	f, err := createSegment(dir, next)
	if err != nil {
		m.unregister()
		return nil, err
	}
	w := &WAL{
		dir:            dir,
		segSize:        segSize,
		logger:         logger,
		metrics:        m,
		unlock:         unlock,
		replaySegments: existing,
		seg:            next,
		fileSeg:        next,
		first:          next,
		count:          len(existing) + 1,
		stopped:        make(chan struct{}),
		writer:         writer{f: f, seg: next},
	}
	if len(existing) > 0 {
		w.first = existing[0]
	}
	w.cond = sync.NewCond(&w.mu)
	m.segments.Set(float64(w.count))
	return w, nil
}

// Append writes rec to the log and returns once it is fsynced. Concurrent
// Appends share one fdatasync (group commit). rec may be
// reused as soon as Append returns. If ctx ends first, Append returns its
// error and the record may still be written. After Close it returns
// ErrClosed; after a write or sync error it returns that error, and so does
// every later Append.
func (w *WAL) Append(ctx context.Context, rec []byte) error {
	if len(rec) > MaxRecordSize {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrRecordTooLarge, len(rec), MaxRecordSize)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var own []byte
	if len(rec) >= ownBufferMin {
		own = make([]byte, maxFramedLen(len(rec)))
	}
	w.mu.Lock()
	if err := w.usableLocked(); err != nil {
		w.mu.Unlock()
		return err
	}
	w.appended = true
	b, dst, off := w.reserveLocked(rec, own)
	w.mu.Unlock()
	if dst != nil {
		// The writer waits for this framing before it writes the batch.
		encodeRecord(dst, off, rec)
		w.mu.Lock()
		b.encoding--
		w.mu.Unlock()
	}
	w.cond.Signal()

	select {
	case <-b.done:
		return b.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Cut closes the current segment and starts a new one, returning the new
// segment's index. Every record whose Append returned before Cut was called
// is in a segment below that index. Cut returns once the closed segment is
// fsynced and the new one exists on disk.
func (w *WAL) Cut() (int, error) {
	w.mu.Lock()
	if err := w.usableLocked(); err != nil {
		w.mu.Unlock()
		return 0, err
	}
	b := w.batchLocked()
	w.cutLocked(b)
	seg := w.seg
	w.mu.Unlock()
	w.cond.Signal()

	<-b.done
	if b.err != nil {
		return 0, b.err
	}
	return seg, nil
}

// Truncate deletes every segment whose index is below before. It never
// deletes the segment being written, nor any later one. Deletion goes from
// the oldest segment up, so a crash leaves the remaining segments
// contiguous.
func (w *WAL) Truncate(before int) error {
	w.truncMu.Lock()
	defer w.truncMu.Unlock()

	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		return ErrClosed
	}
	limit := min(before, w.fileSeg)
	w.mu.Unlock()

	segments, err := listSegments(w.dir)
	if err != nil {
		return err
	}
	var removed int
	var rerr error
	for _, seg := range segments {
		if seg >= limit {
			break
		}
		if err := os.Remove(segmentPath(w.dir, seg)); err != nil {
			rerr = fmt.Errorf("remove segment %d: %w", seg, err)
			break
		}
		removed++
	}
	if removed == 0 {
		return rerr
	}
	w.mu.Lock()
	w.count -= removed
	if len(segments) > removed {
		w.first = segments[removed]
	}
	w.metrics.segments.Set(float64(w.count))
	w.mu.Unlock()
	return errors.Join(rerr, syncDir(w.dir))
}

// Segments returns the index of the oldest segment on disk and of the
// segment new records go to.
func (w *WAL) Segments() (first, last int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.first, w.seg
}

// Close writes and fsyncs every record already passed to Append, closes the
// segment and releases the directory. It reports a write or sync error the
// WAL met earlier. Calls after the first return the first call's result.
func (w *WAL) Close() error {
	w.closeOnce.Do(func() {
		w.mu.Lock()
		w.closing = true
		w.mu.Unlock()
		w.cond.Signal()
		<-w.stopped
		w.metrics.unregister()
		w.closeErr = errors.Join(w.err, w.writer.close(), w.unlock())
	})
	return w.closeErr
}

// usableLocked returns the error that refuses new work, if any.
func (w *WAL) usableLocked() error {
	switch {
	case w.closing:
		return ErrClosed
	case w.err != nil:
		return w.err
	}
	return nil
}
