package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/thanos-io/objstore"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"waymark/internal/store/block"
	"waymark/internal/store/bucket"
	"waymark/internal/store/compact"
	"waymark/internal/store/storetest"
)

// crashStage is a stage of the write path that a SIGKILL should hit.
type crashStage struct {
	name string
	// args tune the server so the stage happens often.
	args []string
	// filler adds a sender of large batches that makes blocks bigger, so
	// that writing and merging them takes long enough to be hit.
	filler bool
	// underWay reports, from what the server has written so far, whether
	// the stage is under way. The test kills the server the moment it sees
	// the stage under way, and counts the kill as a hit when the state
	// left behind still shows it.
	underWay func(t *testing.T, s *server, sending bool) bool
}

// crashReps is how many times each stage is killed; WAYMARK_CRASH_REPS
// raises it for a longer hunt.
func crashReps() int {
	if n, err := strconv.Atoi(os.Getenv("WAYMARK_CRASH_REPS")); err == nil && n > 0 {
		return n
	}
	return 3
}

// fastStorage makes the head cut into a block every second and the WAL roll
// over every MiB.
var fastStorage = []string{"--storage.head.max_age=1s", "--storage.head.max_bytes=1MiB", "--storage.wal.segment_size=1MiB"}

// TestSIGKILLAtEveryStage kills a real waymark process with SIGKILL while
// senders stream, at random moments during a WAL write, a block cut, a
// compaction and an upload to object storage, many times each. After each
// restart every acknowledged span must come back through the query API,
// and none twice.
func TestSIGKILLAtEveryStage(t *testing.T) {
	stages := []crashStage{
		{name: "wal write", args: fastStorage, underWay: func(_ *testing.T, _ *server, sending bool) bool { return sending }},
		{name: "block cut", args: fastStorage, underWay: func(t *testing.T, s *server, _ bool) bool {
			return partialBlocks(t, localBucket(t, s)) > 0
		}},
		{name: "compaction", args: append([]string{"--storage.compaction.interval=1s", "--storage.compaction.window=1m"}, fastStorage...),
			filler:   true,
			underWay: func(t *testing.T, s *server, _ bool) bool { return compactionWriting(t, localBucket(t, s)) }},
		{name: "upload", filler: true}, // set up below: it needs an object store
	}
	for _, st := range stages {
		t.Run(st.name, func(t *testing.T) {
			if st.name == "upload" {
				m := storetest.StartMinIO(t)
				cfg := m.CreateBucket(t)
				bkt, err := bucket.Open(cfg, t.TempDir(), slog.New(slog.DiscardHandler))
				if err != nil {
					t.Fatal(err)
				}
				defer bkt.Close()
				st.args = append(s3Args(cfg), fastStorage...)
				st.underWay = func(t *testing.T, _ *server, _ bool) bool { return partialBlocks(t, bkt) > 0 }
				s := runCrashStage(t, st)
				// The restarted server uploads blocks again; the local disk
				// holds only the WAL.
				eventually(t, time.Minute, "a complete block in the object store", func() bool {
					for _, name := range listAll(t, bkt, "single-tenant/") {
						if strings.HasSuffix(name, "/"+block.MetaFile) {
							return true
						}
					}
					return false
				})
				if _, err := os.Stat(filepath.Join(s.dataDir, "blocks")); !os.IsNotExist(err) {
					t.Errorf("blocks written to local disk with the s3 backend (stat: %v)", err)
				}
				return
			}
			runCrashStage(t, st)
		})
	}
}

// s3Args are the flags that put blocks in the bucket cfg names.
func s3Args(cfg bucket.Config) []string {
	return []string{"--storage.backend.type=s3", "--storage.backend.s3.bucket=" + cfg.S3.Bucket,
		"--storage.backend.s3.endpoint=" + cfg.S3.Endpoint, "--storage.backend.s3.access_key=" + cfg.S3.AccessKey,
		"--storage.backend.s3.secret_key=" + cfg.S3.SecretKey, "--storage.backend.s3.insecure=true", "--storage.backend.s3.path_style=true"}
}

// runCrashStage kills and restarts a server crashReps times during st and
// returns the running server.
func runCrashStage(t *testing.T, st crashStage) *server {
	s := startServer(t, st.args...)
	client := dialOTLP(t, s.otlpGRPCAddr())
	acked := make(map[string][]pcommon.TraceID) // by service: one per repetition
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	hits := 0
	for rep := 0; rep < crashReps(); rep++ {
		svc := fmt.Sprintf("crash-%d", rep)
		ids, hit := streamUntilKilled(t, s, client, svc, st, time.Duration(500+rng.IntN(1000))*time.Millisecond)
		if len(ids) == 0 {
			t.Fatalf("repetition %d: nothing acknowledged before the kill:\n%s", rep, s.logs.String())
		}
		acked[svc] = ids
		if hit {
			hits++
		}
		start := time.Now()
		s.restart()
		restarted := time.Since(start)
		verifyAcked(t, s, svc, acked, rng)
		t.Logf("repetition %d: %d traces acknowledged, kill inside the stage: %v; restart %s, verify %s",
			rep, len(ids), hit, restarted.Round(time.Millisecond), (time.Since(start) - restarted).Round(time.Millisecond))
	}
	t.Logf("%d of %d kills landed inside the stage", hits, crashReps())
	if !strings.Contains(st.name, "upload") && partialBlocks(t, localBucket(t, s)) > 0 {
		t.Errorf("incomplete blocks left after restart")
	}
	return s
}

// streamUntilKilled sends 10-trace batches of service svc from two senders
// (and 400-trace batches of service "filler" from a third if the stage
// wants one). From minDelay after the first acknowledgement on, it
// SIGKILLs the server as soon as the stage is under way, or a minute later
// at the latest. It returns the IDs of acknowledged traces of svc, and
// whether the kill hit the stage.
func streamUntilKilled(t *testing.T, s *server, client ptraceotlp.GRPCClient, svc string, st crashStage, minDelay time.Duration) ([]pcommon.TraceID, bool) {
	var (
		mu       sync.Mutex
		acked    []pcommon.TraceID
		inFlight atomic.Int32
		wg       sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if st.filler {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(7, uint64(time.Now().UnixNano())))
			for ctx.Err() == nil {
				td, _ := makeBatch(rng, "filler", 400, 5, time.Now().Add(-time.Second))
				_, _ = client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(td))
			}
		}()
	}
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(time.Now().UnixNano())))
			for ctx.Err() == nil {
				td, ids := makeBatch(rng, svc, 10, 5, time.Now().Add(-time.Second))
				inFlight.Add(1)
				_, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(td))
				inFlight.Add(-1)
				if err != nil {
					continue // not acknowledged: no promise made
				}
				mu.Lock()
				acked = append(acked, ids...)
				mu.Unlock()
				select {
				case <-ctx.Done():
				case <-time.After(50 * time.Millisecond):
				}
			}
		}(uint64(w + 1))
	}
	// The client reconnects after a restart: start the clock at the first
	// acknowledged batch.
	eventually(t, time.Minute, "a batch to be acknowledged", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) > 0
	})
	time.Sleep(minDelay)
	for deadline := time.Now().Add(time.Minute); !st.underWay(t, s, inFlight.Load() > 0) && time.Now().Before(deadline); {
		time.Sleep(2 * time.Millisecond)
	}
	sending := inFlight.Load() > 0
	s.kill()
	hit := st.underWay(t, s, sending)
	cancel()
	wg.Wait()
	return acked, hit
}

// verifyAcked checks, through the query API, that acknowledged traces are
// complete and that no trace or span comes back twice: a search for the
// latest service returns each of its traces once with its five distinct
// spans, and lookups by ID of traces of every service agree.
func verifyAcked(t *testing.T, s *server, latest string, acked map[string][]pcommon.TraceID, rng *rand.Rand) {
	t.Helper()
	now := time.Now()
	for svc, ids := range acked {
		for i := 0; i < 20; i++ {
			if n := countSpans(t, s, ids[rng.IntN(len(ids))]); n != 5 {
				t.Fatalf("service %s: trace lookup gave %d spans, want 5", svc, n)
			}
		}
		if svc != latest {
			continue
		}
		q := url.Values{"service": {svc}, "limit": {"1000000"},
			"start": {strconv.FormatInt(now.Add(-time.Hour).UnixMicro(), 10)}, "end": {strconv.FormatInt(now.Add(time.Hour).UnixMicro(), 10)}}
		var r jaegerResponse
		if code := getJSON(t, s.queryURL("/api/traces?"+q.Encode()), &r); code != 200 {
			t.Fatalf("search %s: status %d", svc, code)
		}
		found := make(map[string]bool, len(r.Data))
		for _, tr := range r.Data {
			if found[tr.TraceID] {
				t.Fatalf("search %s: trace %s returned twice", svc, tr.TraceID)
			}
			found[tr.TraceID] = true
			spans := make(map[string]bool)
			for _, sp := range tr.Spans {
				spans[sp.SpanID] = true
			}
			if len(tr.Spans) != 5 || len(spans) != 5 {
				t.Fatalf("search %s: trace %s has %d spans (%d distinct), want 5", svc, tr.TraceID, len(tr.Spans), len(spans))
			}
		}
		missing := 0
		for _, id := range ids {
			if !found[fmt.Sprintf("%x", id[:])] {
				missing++
			}
		}
		if missing > 0 {
			t.Fatalf("service %s: %d of %d acknowledged traces missing after SIGKILL and restart\n%s", svc, missing, len(ids), s.logs.String())
		}
	}
}

// localBucket opens the server's local block directory.
func localBucket(t *testing.T, s *server) objstore.Bucket {
	t.Helper()
	bkt, err := bucket.OpenFilesystem(filepath.Join(s.dataDir, "blocks"))
	if err != nil {
		t.Fatal(err)
	}
	return bkt
}

// listAll lists every object under prefix.
func listAll(t *testing.T, bkt objstore.Bucket, prefix string) []string {
	t.Helper()
	var out []string
	err := bkt.Iter(context.Background(), prefix, func(name string) error {
		out = append(out, name)
		return nil
	}, objstore.WithRecursiveIter())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// compactionWriting reports whether a compaction journal exists whose new
// block is not complete yet: the compaction is writing it.
func compactionWriting(t *testing.T, bkt objstore.Bucket) bool {
	t.Helper()
	ctx := context.Background()
	for _, name := range listAll(t, bkt, "single-tenant/"+compact.JournalDir) {
		rc, err := bkt.Get(ctx, name)
		if err != nil {
			continue // deleted meanwhile
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		j, err := compact.DecodeJournal(data)
		if err != nil {
			continue
		}
		// The new block's ID starts with its creation time in milliseconds.
		prefix := block.NewID(time.Unix(0, j.CreatedUnixNano))[:10]
		complete := false
		for _, obj := range listAll(t, bkt, "single-tenant/") {
			if strings.HasPrefix(obj, "single-tenant/"+prefix) && strings.HasSuffix(obj, "/"+block.MetaFile) {
				complete = true
			}
		}
		if !complete {
			return true
		}
	}
	return false
}

// partialBlocks counts the default tenant's block directories that have
// objects but no meta.json: blocks whose writing a kill interrupted.
func partialBlocks(t *testing.T, bkt objstore.Bucket) int {
	t.Helper()
	withMeta := make(map[string]bool)
	for _, name := range listAll(t, bkt, "single-tenant/") {
		rest := strings.TrimPrefix(name, "single-tenant/")
		id, file, ok := strings.Cut(rest, "/")
		if !ok || block.ValidateID(id) != nil {
			continue
		}
		withMeta[id] = withMeta[id] || file == block.MetaFile
	}
	n := 0
	for _, ok := range withMeta {
		if !ok {
			n++
		}
	}
	return n
}
