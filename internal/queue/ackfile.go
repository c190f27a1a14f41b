package queue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
)

// The ack file holds the position of the first item not acked:
//
//	"WMQA" version(1) reserved(3) segment(uint64 LE) offset(uint64 LE) crc(uint32 LE)
//
// crc is CRC-32C over the 24 bytes before it. It is replaced atomically: a
// temporary file is written and fsynced, then renamed over it, then the
// directory is fsynced.
const (
	ackFileName    = "ack"
	ackTmpName     = "ack.tmp"
	ackMagic       = "WMQA"
	ackVersion     = 1
	ackFileSize    = 28
	ackPayloadSize = 24
)

// position is a record's place: its segment and its byte offset there.
type position struct {
	seg uint64
	off int64
}

func (p position) less(o position) bool {
	return p.seg < o.seg || p.seg == o.seg && p.off < o.off
}

func encodeAck(p position) []byte {
	b := make([]byte, 0, ackFileSize)
	b = append(b, ackMagic...)
	b = append(b, ackVersion, 0, 0, 0)
	b = binary.LittleEndian.AppendUint64(b, p.seg)
	b = binary.LittleEndian.AppendUint64(b, uint64(p.off))
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func decodeAck(b []byte) (position, error) {
	if len(b) != ackFileSize || string(b[:4]) != ackMagic || b[4] != ackVersion {
		return position{}, fmt.Errorf("ack file: bad header or size %d: %w", len(b), ErrCorrupt)
	}
	if crc32.Checksum(b[:ackPayloadSize], castagnoli) != binary.LittleEndian.Uint32(b[ackPayloadSize:]) {
		return position{}, fmt.Errorf("ack file: crc mismatch: %w", ErrCorrupt)
	}
	off := binary.LittleEndian.Uint64(b[16:24])
	if off > MaxItemBytes*4 {
		return position{}, fmt.Errorf("ack file: offset %d out of range: %w", off, ErrCorrupt)
	}
	return position{seg: binary.LittleEndian.Uint64(b[8:16]), off: int64(off)}, nil
}

// readAck returns the stored ack position; ok is false when there is none.
func readAck(dir string) (p position, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, ackFileName))
	if errors.Is(err, fs.ErrNotExist) {
		return position{}, false, nil
	}
	if err != nil {
		return position{}, false, fmt.Errorf("read ack file: %w", err)
	}
	p, err = decodeAck(b)
	return p, err == nil, err
}

// writeAck replaces the ack file atomically and durably.
func writeAck(dir string, p position) error {
	tmp := filepath.Join(dir, ackTmpName)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("create ack file: %w", err)
	}
	if _, err := f.Write(encodeAck(p)); err != nil {
		return closeAfter(f, fmt.Errorf("write ack file: %w", err))
	}
	if err := f.Sync(); err != nil {
		return closeAfter(f, fmt.Errorf("sync ack file: %w", err))
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close ack file: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, ackFileName)); err != nil {
		return fmt.Errorf("rename ack file: %w", err)
	}
	return syncDir(dir)
}
