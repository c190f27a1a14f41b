package wal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
)

// CorruptionError describes damaged bytes in a segment: a record whose
// checksum, length, type or fragment sequence is wrong, or a segment that
// ends inside a record.
type CorruptionError struct {
	Segment int   // index of the damaged segment
	Offset  int64 // byte offset in the segment where the damage starts
	Err     error // what is wrong
}

// Error implements error.
func (e *CorruptionError) Error() string {
	return fmt.Sprintf("wal: corruption in segment %d at offset %d: %v", e.Segment, e.Offset, e.Err)
}

// Unwrap returns the reason for the corruption.
func (e *CorruptionError) Unwrap() error { return e.Err }

// errReplayOrder is returned by a Replay that does not come first.
var errReplayOrder = errors.New("wal: replay must be called once, before the first append")

// Replay calls fn for every intact record of every segment that existed
// when the WAL was opened, oldest first, with the segment index. rec is only
// valid during the call. A torn tail, damage after which a segment holds no
// intact record, is truncated away and logged. A corrupt record followed by
// intact ones is logged as a *CorruptionError, counted in
// waymark_wal_corruptions_total and skipped, and replay continues with the
// next intact record. Replay stops at the first error from fn or ctx and
// returns it wrapped. It may be called once, after Open and before Append.
func (w *WAL) Replay(ctx context.Context, fn func(segment int, rec []byte) error) error {
	w.mu.Lock()
	switch {
	case w.closing:
		w.mu.Unlock()
		return ErrClosed
	case w.replayed || w.appended:
		w.mu.Unlock()
		return errReplayOrder
	}
	w.replayed = true
	segments := w.replaySegments
	w.mu.Unlock()

	for _, seg := range segments {
		if err := w.replaySegment(ctx, seg, fn); err != nil {
			return err
		}
	}
	return nil
}

// replaySegment replays one segment and truncates its torn tail, if any.
func (w *WAL) replaySegment(ctx context.Context, seg int, fn func(segment int, rec []byte) error) error {
	path := segmentPath(w.dir, seg)
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open segment %d: %w", seg, err)
	}
	tail, err := scanSegment(ctx, f, seg, fn, w.reportCorruption)
	f.Close()
	if err != nil || tail == nil {
		return err
	}
	return w.truncateTail(path, tail)
}

// scanSegment reads segment seg from r and calls fn for each intact
// record. Damage that an intact record follows goes to report; damage that
// none follows is the torn tail, which scanSegment returns.
func scanSegment(ctx context.Context, r io.Reader, seg int, fn func(segment int, rec []byte) error, report func(*CorruptionError)) (*CorruptionError, error) {
	sr := newSegmentReader(r, seg)
	var damage *CorruptionError // first damage not yet followed by an intact record
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("replay segment %d: %w", seg, err)
		}
		rec, _, err := sr.next()
		if err == nil {
			if damage != nil {
				report(damage)
				damage = nil
			}
			if err := fn(seg, rec); err != nil {
				return nil, fmt.Errorf("replay segment %d: %w", seg, err)
			}
			continue
		}
		var cerr *CorruptionError
		switch {
		case errors.As(err, &cerr):
			if damage == nil {
				damage = cerr
			}
		case errors.Is(err, io.EOF):
			return damage, nil
		default:
			return nil, err
		}
	}
}

// reportCorruption logs and counts damage that intact records follow.
func (w *WAL) reportCorruption(err *CorruptionError) {
	w.metrics.corruptions.Inc()
	w.logger.Error("skipped corrupt wal records", "segment", err.Segment, "offset", err.Offset, "err", err)
}

// truncateTail cuts a segment's torn tail off at the start of the damage.
func (w *WAL) truncateTail(path string, damage *CorruptionError) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("open segment %d for repair: %w", damage.Segment, err)
	}
	size, err := truncateFile(f, damage.Offset)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("truncate segment %d: %w", damage.Segment, err)
	}
	w.logger.Warn("truncated torn wal segment tail",
		"segment", damage.Segment, "offset", damage.Offset,
		"dropped_bytes", size-damage.Offset, slog.String("reason", damage.Err.Error()))
	return nil
}

// truncateFile cuts f to size bytes and syncs it. It returns the size f had.
func truncateFile(f *os.File, size int64) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if err := f.Truncate(size); err != nil {
		return 0, err
	}
	return st.Size(), f.Sync()
}
