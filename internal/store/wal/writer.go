package wal

import (
	"fmt"
	"os"
	"slices"
	"time"
)

// maxFreeBuffers and maxReusedBuffer bound the write buffers a WAL keeps
// for reuse between group commits.
const (
	maxFreeBuffers  = 4
	maxReusedBuffer = 16 << 20
)

// ownBufferMin is the size from which a record is framed into a buffer of
// its own outside the WAL's lock, so that large copies and checksums run in
// the appenders' goroutines, in parallel, instead of one after another.
// Smaller records are framed under the lock into a buffer they share.
const ownBufferMin = PageSize

// batch is one group commit: the framed records that appenders queued while
// the writer was busy, split by the segment they go to.
type batch struct {
	chunks   []chunk
	records  int
	encoding int           // records whose framing is still being written outside the lock
	done     chan struct{} // closed once the batch is durable or has failed
	err      error         // set before done is closed
}

// chunk is the part of a batch that goes to one segment: pieces written in
// order. A chunk with no pieces still makes the writer start its segment.
type chunk struct {
	seg    int
	pieces []piece
}

// piece is a run of framed bytes: either a buffer that small records share
// or the buffer of one large record.
type piece struct {
	buf    []byte
	shared bool
}

// batchLocked returns the batch being filled, starting one if needed.
func (w *WAL) batchLocked() *batch {
	if w.pending == nil {
		w.pending = &batch{
			chunks: []chunk{{seg: w.seg}},
			done:   make(chan struct{}),
		}
	}
	return w.pending
}

// cutLocked makes records queued from now on go to a new segment.
func (w *WAL) cutLocked(b *batch) {
	w.seg++
	w.off = 0
	b.chunks = append(b.chunks, chunk{seg: w.seg})
}

// reserveLocked places rec in the pending batch, starting a new segment
// first if rec does not fit in the current one. A small record is framed at
// once and reserveLocked returns a nil dst. For a large record it returns
// dst, a slice of own (which must have room for maxFramedLen(len(rec))
// bytes), and the segment offset off: the caller must frame rec into dst at
// off with encodeRecord and then, under the lock, decrement b.encoding.
func (w *WAL) reserveLocked(rec, own []byte) (b *batch, dst []byte, off int64) {
	b = w.batchLocked()
	n := framedLen(w.off, len(rec))
	if w.off > 0 && w.off+int64(n) > w.segSize {
		w.cutLocked(b)
		n = framedLen(0, len(rec))
	}
	off = w.off
	w.off += int64(n)
	b.records++
	c := &b.chunks[len(b.chunks)-1]
	if own != nil {
		dst = own[:n]
		c.pieces = append(c.pieces, piece{buf: dst})
		b.encoding++
		return b, dst, off
	}
	if len(c.pieces) == 0 || !c.pieces[len(c.pieces)-1].shared {
		c.pieces = append(c.pieces, piece{buf: w.takeBufferLocked(), shared: true})
	}
	p := &c.pieces[len(c.pieces)-1]
	p.buf = slices.Grow(p.buf, n)
	p.buf = p.buf[:len(p.buf)+n]
	encodeRecord(p.buf[len(p.buf)-n:], off, rec)
	return b, nil, off
}

// takeBufferLocked returns an empty buffer, reusing a freed one if any.
func (w *WAL) takeBufferLocked() []byte {
	if n := len(w.free); n > 0 {
		buf := w.free[n-1]
		w.free = w.free[:n-1]
		return buf
	}
	return nil
}

// run is the writer goroutine: it takes each pending batch, writes and
// fsyncs it, and wakes its waiters, until the WAL closes.
func (w *WAL) run() {
	defer close(w.stopped)
	for {
		w.mu.Lock()
		for w.pending == nil && !w.closing {
			w.cond.Wait()
		}
		b := w.pending
		w.pending = nil
		for b != nil && b.encoding > 0 {
			w.cond.Wait()
		}
		failed := w.err
		w.mu.Unlock()
		if b == nil {
			return // closing, and nothing left to write
		}

		err := failed
		if err == nil {
			err = w.commit(b)
		}
		b.err = err
		close(b.done)

		w.mu.Lock()
		if err != nil && w.err == nil {
			w.err = err
			w.logger.Error("wal write failed; refusing further appends", "err", err)
		}
		for _, c := range b.chunks {
			for _, p := range c.pieces {
				if p.shared && cap(p.buf) <= maxReusedBuffer && len(w.free) < maxFreeBuffers {
					w.free = append(w.free, p.buf[:0])
				}
			}
		}
		w.mu.Unlock()
	}
}

// commit writes a batch to its segments and fsyncs them.
func (w *WAL) commit(b *batch) error {
	var written int64
	dirty := false
	for _, c := range b.chunks {
		if c.seg != w.writer.seg {
			if err := w.startSegment(c.seg); err != nil {
				return err
			}
			dirty = false
		}
		for _, p := range c.pieces {
			if _, err := w.writer.f.Write(p.buf); err != nil {
				return fmt.Errorf("write segment %d: %w", c.seg, err)
			}
			written += int64(len(p.buf))
			dirty = true
		}
	}
	if dirty {
		start := time.Now()
		if err := fdatasync(w.writer.f); err != nil {
			return fmt.Errorf("sync segment %d: %w", w.writer.seg, err)
		}
		w.metrics.fsyncDuration.Observe(time.Since(start).Seconds())
	}
	if b.records > 0 {
		w.metrics.records.Add(float64(b.records))
		w.metrics.bytes.Add(float64(written))
		w.metrics.groupCommit.Observe(float64(b.records))
	}
	return nil
}

// startSegment syncs and closes the open segment and creates segment seg.
func (w *WAL) startSegment(seg int) error {
	if seg != w.writer.seg+1 {
		return fmt.Errorf("start segment %d: segment %d is open", seg, w.writer.seg)
	}
	start := time.Now()
	if err := w.writer.close(); err != nil {
		return err
	}
	w.metrics.fsyncDuration.Observe(time.Since(start).Seconds())
	f, err := createSegment(w.dir, seg)
	if err != nil {
		return err
	}
	w.writer = writer{f: f, seg: seg}
	w.mu.Lock()
	w.fileSeg = seg
	w.count++
	w.metrics.segments.Set(float64(w.count))
	w.mu.Unlock()
	return nil
}

// writer is the segment file the writer goroutine appends to.
type writer struct {
	f   *os.File // nil once closed
	seg int
}

// close fsyncs and closes the segment file.
func (wr *writer) close() error {
	if wr.f == nil {
		return nil
	}
	err := fdatasync(wr.f)
	if cerr := wr.f.Close(); err == nil {
		err = cerr
	}
	wr.f = nil
	if err != nil {
		return fmt.Errorf("close segment %d: %w", wr.seg, err)
	}
	return nil
}
