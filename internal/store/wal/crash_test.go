package wal

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

// The crash test re-runs the test binary as a child that appends until it
// is killed. These variables tell the child where and from which sequence.
const (
	crashChildEnv = "WAYMARK_WAL_CRASH_DIR"
	crashBaseEnv  = "WAYMARK_WAL_CRASH_BASE"
)

// crashSegmentSize is small so that the child cuts segments while it runs.
const crashSegmentSize = 256 << 10

// crashRecordSize gives the size of record id: from 8 bytes to three pages,
// so that kills land inside multi-page records too.
func crashRecordSize(id uint64) int {
	return 8 + int(id*7919%(3*PageSize))
}

// crashChild is the child process: it replays the WAL, then appends records
// from several goroutines and prints each acknowledged record's sequence
// number, until it is killed.
func crashChild() int {
	dir := os.Getenv(crashChildEnv)
	base, err := strconv.ParseUint(os.Getenv(crashBaseEnv), 10, 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bad base:", err)
		return 2
	}
	w, err := Open(dir, Options{SegmentSize: crashSegmentSize})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 2
	}
	ctx := context.Background()
	if err := w.Replay(ctx, func(int, []byte) error { return nil }); err != nil {
		fmt.Fprintln(os.Stderr, "replay:", err)
		return 2
	}
	var next atomic.Uint64
	next.Store(base)
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				id := next.Add(1)
				if err := w.Append(ctx, testRecord(id, crashRecordSize(id))); err != nil {
					fmt.Fprintln(os.Stderr, "append:", err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Fprintf(out, "%d\n", id)
				out.Flush()
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return 0
}

// TestCrashKill kills a process that appends at full speed with SIGKILL,
// several times over, and checks that every record it acknowledged replays
// intact.
func TestCrashKill(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	dir := t.TempDir()
	acked := map[uint64]bool{}
	for round := range 4 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(),
			crashChildEnv+"="+dir,
			crashBaseEnv+"="+strconv.Itoa(round*1_000_000))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr safeBuffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAfter := 200 + 150*round
		sc := bufio.NewScanner(stdout)
		n := 0
		for sc.Scan() {
			id, err := strconv.ParseUint(sc.Text(), 10, 64)
			if err != nil {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("round %d: child printed %q", round, sc.Text())
			}
			acked[id] = true
			if n++; n == killAfter {
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
			}
		}
		err = cmd.Wait()
		if n < killAfter {
			t.Fatalf("round %d: child exited after %d records: %v\n%s", round, n, err, stderr.String())
		}
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: child ended with %v, not SIGKILL\n%s", round, err, stderr.String())
		}
	}

	seen := map[uint64]bool{}
	for _, r := range reopenAndReplay(t, dir, Options{SegmentSize: crashSegmentSize}) {
		id := binary.BigEndian.Uint64(r.rec)
		if seen[id] {
			t.Fatalf("record %d replayed twice", id)
		}
		seen[id] = true
		want := testRecord(id, crashRecordSize(id))
		if string(r.rec) != string(want) {
			t.Fatalf("record %d replayed damaged", id)
		}
	}
	for id := range acked {
		if !seen[id] {
			t.Fatalf("acknowledged record %d lost (%d acknowledged, %d replayed)", id, len(acked), len(seen))
		}
	}
	t.Logf("%d records acknowledged, %d replayed", len(acked), len(seen))
}

// safeBuffer collects a child's stderr.
type safeBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *safeBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *safeBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
