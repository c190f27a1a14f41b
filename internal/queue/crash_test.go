package queue

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

const crashDirEnv = "WAYMARK_QUEUE_CRASH_DIR"

// TestCrashChild is the process TestCrashKeepsAckedPuts kills. Four
// producers Put in a loop and print "put <item>" after each Put returns; a
// consumer acks every other item it gets and prints "ack <item>".
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("run only as the child of TestCrashKeepsAckedPuts")
	}
	q, err := Open(dir, Options{Config: Config{SegmentBytes: 4096, AckSyncInterval: 0}})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	var out sync.Mutex
	say := func(format string, args ...any) {
		out.Lock()
		defer out.Unlock()
		fmt.Fprintf(os.Stdout, format, args...) // unbuffered: one write per line
	}
	for p := 0; p < 4; p++ {
		go func() {
			for i := 0; ; i++ {
				item := fmt.Sprintf("%d-%07d-%s", p, i, strings.Repeat("z", i%300))
				if err := q.Put(context.Background(), []byte(item)); err != nil {
					say("error %v\n", err)
					return
				}
				say("put %s\n", item)
			}
		}()
	}
	for n := 0; ; n++ {
		it, err := q.Get(context.Background())
		if err != nil {
			say("error %v\n", err)
			return
		}
		if n%2 == 0 {
			if err := q.Ack(it); err != nil {
				say("error %v\n", err)
				return
			}
			say("ack %s\n", it.Data)
		}
	}
}

// TestCrashKeepsAckedPuts kills a child process with SIGKILL in the middle
// of its Put loop and checks that every Put that returned, and whose item
// was not acked, is delivered after the queue is opened again.
func TestCrashKeepsAckedPuts(t *testing.T) {
	if os.Getenv(crashDirEnv) != "" {
		t.Skip("already the child")
	}
	dir := t.TempDir()
	for round := 0; round < 2; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		put, acked := map[string]bool{}, map[string]bool{}
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		killed := false
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "put "):
				put[line[4:]] = true
			case strings.HasPrefix(line, "ack "):
				acked[line[4:]] = true
			case strings.HasPrefix(line, "error ") || strings.HasPrefix(line, "open:"):
				t.Fatalf("child: %s", line)
			}
			if !killed && len(put) >= 400 {
				if err := cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
				killed = true
			}
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		waitErr := cmd.Wait()
		if !killed {
			t.Fatalf("child exited before being killed: %v", waitErr)
		}

		q, err := Open(dir, Options{Config: Config{SegmentBytes: 4096}})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		last := map[byte]string{}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		for n := q.Stats().PendingItems; n > 0; n-- {
			it, err := q.Get(ctx)
			if err != nil {
				t.Fatal(err)
			}
			s := string(it.Data)
			got[s] = true
			if prev, ok := last[s[0]]; ok && s[:9] <= prev[:9] {
				t.Fatalf("producer %c out of order: %s after %s", s[0], s[:9], prev[:9])
			}
			last[s[0]] = s
			if err := q.Ack(it); err != nil {
				t.Fatal(err)
			}
		}
		cancel()
		missing := 0
		for item := range put {
			if !acked[item] && !got[item] {
				missing++
				if missing < 5 {
					t.Errorf("round %d: item %.20s… was put, never acked, and is lost", round, item)
				}
			}
		}
		if missing > 0 {
			t.Fatalf("round %d: %d of %d acknowledged Puts lost", round, missing, len(put))
		}
		t.Logf("round %d: %d puts acknowledged, %d acked by the consumer, %d delivered after restart",
			round, len(put), len(acked), len(got))
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
