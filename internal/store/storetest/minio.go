package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/thanos-io/objstore"

	"waymark/internal/store/bucket"
)

// Fixed credentials of the test MinIO server.
const (
	minioUser     = "waymark-test"
	minioPassword = "waymark-test-secret"
)

// MinIO is a MinIO server run for tests on a loopback port with its data
// in a temporary directory.
type MinIO struct {
	// Endpoint is the server's host:port.
	Endpoint string
	// AccessKey and SecretKey are the server's root credentials.
	AccessKey, SecretKey string

	client *minio.Client
}

// MinIOBinary returns the path of the minio server binary: bin/minio at
// the module root (where scripts/test-deps.sh installs it), else minio on
// PATH.
func MinIOBinary() (string, bool) {
	if dir, err := os.Getwd(); err == nil {
		for ; ; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				if p := filepath.Join(dir, "bin", "minio"); isExecutable(p) {
					return p, true
				}
				break
			}
			if dir == filepath.Dir(dir) {
				break
			}
		}
	}
	p, err := exec.LookPath("minio")
	return p, err == nil
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// StartMinIO starts a MinIO server and stops it when t ends. Without a
// minio binary it skips t, or fails it when the CI environment variable is
// set, so that continuous integration never silently skips these tests.
func StartMinIO(t testing.TB) *MinIO {
	t.Helper()
	bin, ok := MinIOBinary()
	if !ok {
		if os.Getenv("CI") != "" {
			t.Fatal("minio is not installed (run scripts/test-deps.sh); CI must run the object-storage tests")
		}
		t.Skip("minio is not installed; run scripts/test-deps.sh to run the object-storage tests")
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		m, err := startMinIO(t, bin)
		if err == nil {
			return m
		}
		lastErr = err
	}
	t.Fatalf("start minio: %v", lastErr)
	return nil
}

// startMinIO makes one attempt to start the server on free ports.
func startMinIO(t testing.TB, bin string) (*MinIO, error) {
	port, console := freePort(), freePort()
	if port == 0 || console == 0 {
		return nil, fmt.Errorf("no free loopback port")
	}
	endpoint := "127.0.0.1:" + strconv.Itoa(port)
	logs := &lockedBuffer{}
	cmd := exec.Command(bin, "server", "--quiet", "--address", endpoint, "--console-address", "127.0.0.1:"+strconv.Itoa(console), t.TempDir())
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+minioUser, "MINIO_ROOT_PASSWORD="+minioPassword, "MINIO_BROWSER=off",
		"MINIO_UPDATE=off", "MINIO_CI_CD=1")
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get("http://" + endpoint + "/minio/health/live")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("minio exited: %s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("minio not live after 2 minutes: %s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	client, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4(minioUser, minioPassword, "")})
	if err != nil {
		stop()
		return nil, err
	}
	t.Cleanup(stop)
	return &MinIO{Endpoint: endpoint, AccessKey: minioUser, SecretKey: minioPassword, client: client}, nil
}

// CreateBucket creates a new empty bucket with a random name and returns
// the storage.backend settings that reach it.
func (m *MinIO) CreateBucket(t testing.TB) bucket.Config {
	t.Helper()
	var rnd [6]byte
	_, _ = rand.Read(rnd[:]) // crypto/rand.Read never fails
	name := "waymark-" + hex.EncodeToString(rnd[:])
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := m.client.MakeBucket(ctx, name, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
	return bucket.Config{Type: bucket.TypeS3, S3: bucket.S3Config{Bucket: name, Endpoint: m.Endpoint,
		AccessKey: m.AccessKey, SecretKey: m.SecretKey, Insecure: true, PathStyle: true}}
}

// NewBucket creates a new empty bucket and opens it as Waymark does.
func (m *MinIO) NewBucket(t testing.TB) objstore.Bucket {
	t.Helper()
	bkt, err := bucket.Open(m.CreateBucket(t), t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bkt.Close() })
	return bkt
}

// freePort returns a loopback TCP port that was free a moment ago, or 0.
func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// lockedBuffer collects a process's output.
type lockedBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
