package queue

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

const segmentSuffix = ".seg"

// segment is one segment file. Only the last segment of a queue is written.
type segment struct {
	seq  uint64
	path string
	f    *os.File
	size int64 // bytes of valid data, header included
}

func segmentName(seq uint64) string { return fmt.Sprintf("%020d%s", seq, segmentSuffix) }

// parseSegmentName returns the sequence number of a segment file name.
func parseSegmentName(name string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, segmentSuffix)
	if !ok || len(digits) != 20 {
		return 0, false
	}
	seq, err := strconv.ParseUint(digits, 10, 64)
	return seq, err == nil
}

// createSegment creates an empty segment with its header and makes the new
// file durable, directory entry included.
func createSegment(dir string, seq uint64) (*segment, error) {
	path := filepath.Join(dir, segmentName(seq))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create segment: %w", err)
	}
	if _, err := f.Write(appendSegmentHeader(nil)); err != nil {
		return nil, closeAfter(f, fmt.Errorf("write segment header %d: %w", seq, err))
	}
	if err := f.Sync(); err != nil {
		return nil, closeAfter(f, fmt.Errorf("sync segment %d: %w", seq, err))
	}
	if err := syncDir(dir); err != nil {
		return nil, closeAfter(f, err)
	}
	return &segment{seq: seq, path: path, f: f, size: segmentHeaderSize}, nil
}

func closeAfter(f *os.File, err error) error {
	return errors.Join(err, f.Close())
}

// syncDir makes a directory's entries (created, renamed files) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open dir: %w", err)
	}
	if err := d.Sync(); err != nil {
		return closeAfter(d, fmt.Errorf("sync dir: %w", err))
	}
	return d.Close()
}

// replaySegment reads a segment of size bytes from r, calling fn with the offset and
// payload of each valid record (the payload is reused after fn returns). It
// returns the offset where valid data ends. err is nil when the data ends
// cleanly, and wraps errTorn or ErrCorrupt when it ends in a torn or
// corrupt record, which the caller cuts off.
func replaySegment(r io.Reader, size int64, fn func(off int64, payload []byte)) (validEnd int64, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var hdr [segmentHeaderSize]byte
	if n, err := io.ReadFull(br, hdr[:]); err != nil {
		return 0, fmt.Errorf("segment header: %w", tornOr(n, err))
	}
	if err := checkSegmentHeader(hdr[:]); err != nil {
		return 0, err
	}
	off := int64(segmentHeaderSize)
	var payload []byte
	for {
		var h [recordHeaderSize]byte
		n, err := io.ReadFull(br, h[:])
		if err == io.EOF {
			return off, nil
		}
		if err != nil {
			return off, fmt.Errorf("record at %d: %w", off, tornOr(n, err))
		}
		n, err = recordLength(h[:])
		if err != nil {
			return off, fmt.Errorf("record at %d: %w", off, err)
		}
		if int64(n) > size-off-recordHeaderSize {
			// Checked before allocating: a torn or corrupt length must
			// not make Open allocate up to MaxItemBytes.
			return off, fmt.Errorf("record at %d: %d bytes past the end: %w", off, n, errTorn)
		}
		if cap(payload) < n {
			payload = make([]byte, n)
		}
		payload = payload[:n]
		if n, err := io.ReadFull(br, payload); err != nil {
			return off, fmt.Errorf("record at %d: %w", off, tornOr(n, err))
		}
		if err := checkRecord(h[:], payload); err != nil {
			return off, fmt.Errorf("record at %d: %w", off, err)
		}
		fn(off, payload)
		off += int64(recordHeaderSize + n)
	}
}

// tornOr turns a short read into errTorn and passes other errors on.
func tornOr(_ int, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errTorn
	}
	return err
}
