// Package e2e tests the real waymark binary from the outside: real client
// libraries over loopback sockets, real restarts and SIGKILL.
package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
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
)

var waymarkBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "waymark-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	waymarkBin = filepath.Join(dir, "waymark")
	build := exec.Command("go", "build", "-o", waymarkBin, "../../cmd/waymark")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build waymark:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// ports are the listener ports of one Waymark process. An agent has no
// query ports; it serves /ready and /metrics on Admin.
type ports struct {
	OTLPGRPC, OTLPHTTP, Zipkin, JaegerThrift, JaegerGRPC, JaegerCompact, JaegerBinary, Query, Tempo, JaegerGRPCQuery, Admin int
}

// freePorts reserves n distinct free loopback TCP ports (also free for UDP).
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var out []int
	var ls []net.Listener
	for len(out) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			l.Close()
			continue
		}
		u.Close()
		ls = append(ls, l)
		out = append(out, p)
	}
	for _, l := range ls {
		l.Close()
	}
	return out
}

// server is one running waymark process: all-in-one, or the agent when
// role is "agent".
type server struct {
	t       *testing.T
	role    string
	dataDir string
	ports   ports
	args    []string
	cmd     *exec.Cmd
	logs    *syncBuffer
	exited  chan struct{}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startServer runs waymark all-in-one on a fresh data directory and free
// ports, waits until /ready answers 200, and stops it when the test ends.
func startServer(t *testing.T, extraArgs ...string) *server {
	t.Helper()
	p := freePorts(t, 10)
	s := &server{t: t, role: "all-in-one", dataDir: t.TempDir(), ports: ports{
		OTLPGRPC: p[0], OTLPHTTP: p[1], Zipkin: p[2], JaegerThrift: p[3], JaegerGRPC: p[4],
		JaegerCompact: p[5], JaegerBinary: p[6], Query: p[7], Tempo: p[8], JaegerGRPCQuery: p[9],
	}, args: extraArgs}
	s.start()
	t.Cleanup(s.stop)
	return s
}

// startAgent runs waymark agent with the YAML configuration agentYAML on a
// fresh data directory and free ports, waits until /ready answers 200, and
// stops it when the test ends.
func startAgent(t *testing.T, agentYAML string, extraArgs ...string) *server {
	t.Helper()
	file := filepath.Join(t.TempDir(), "agent.yaml")
	if err := os.WriteFile(file, []byte(agentYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	p := freePorts(t, 8)
	s := &server{t: t, role: "agent", dataDir: t.TempDir(), ports: ports{
		OTLPGRPC: p[0], OTLPHTTP: p[1], Zipkin: p[2], JaegerThrift: p[3], JaegerGRPC: p[4],
		JaegerCompact: p[5], JaegerBinary: p[6], Admin: p[7],
	}, args: append([]string{"--config", file}, extraArgs...)}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *server) start() {
	t := s.t
	t.Helper()
	args := []string{s.role,
		"--data_dir=" + s.dataDir,
		"--receivers.otlp_grpc_port=" + strconv.Itoa(s.ports.OTLPGRPC),
		"--receivers.otlp_http_port=" + strconv.Itoa(s.ports.OTLPHTTP),
		"--receivers.zipkin_port=" + strconv.Itoa(s.ports.Zipkin),
		"--receivers.jaeger_thrift_http_port=" + strconv.Itoa(s.ports.JaegerThrift),
		"--receivers.jaeger_grpc_port=" + strconv.Itoa(s.ports.JaegerGRPC),
		"--receivers.jaeger_compact_port=" + strconv.Itoa(s.ports.JaegerCompact),
		"--receivers.jaeger_binary_port=" + strconv.Itoa(s.ports.JaegerBinary),
	}
	if s.role == "agent" {
		args = append(args, "--listen.admin_port="+strconv.Itoa(s.ports.Admin))
	} else {
		args = append(args, "--query.jaeger_port="+strconv.Itoa(s.ports.Query), "--query.tempo_port="+strconv.Itoa(s.ports.Tempo),
			"--query.jaeger_grpc_port="+strconv.Itoa(s.ports.JaegerGRPCQuery))
	}
	args = append(args, s.args...)
	s.logs = &syncBuffer{}
	s.cmd = exec.Command(waymarkBin, args...)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	s.cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start waymark: %v", err)
	}
	s.exited = make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.readyURL())
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case <-s.exited:
			t.Fatalf("waymark exited during start:\n%s", s.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("waymark not ready after 60s:\n%s", s.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		if code := s.cmd.ProcessState.ExitCode(); code != 0 {
			s.t.Errorf("waymark exited with code %d after SIGTERM:\n%s", code, s.logs.String())
		}
	case <-time.After(60 * time.Second):
		_ = s.cmd.Process.Kill()
		s.t.Errorf("waymark did not stop within 60s of SIGTERM:\n%s", s.logs.String())
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *server) kill() {
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
}

// restart starts a new process on the same data directory and ports.
func (s *server) restart() { s.start() }

// readyURL is where the process answers /ready.
func (s *server) readyURL() string {
	if s.role == "agent" {
		return s.adminURL("/ready")
	}
	return s.queryURL("/ready")
}

// adminURL is path on the agent's admin port.
func (s *server) adminURL(path string) string {
	return "http://127.0.0.1:" + strconv.Itoa(s.ports.Admin) + path
}

func (s *server) queryURL(path string) string {
	return "http://127.0.0.1:" + strconv.Itoa(s.ports.Query) + path
}

func (s *server) otlpGRPCAddr() string { return "127.0.0.1:" + strconv.Itoa(s.ports.OTLPGRPC) }
func (s *server) otlpHTTPAddr() string { return "127.0.0.1:" + strconv.Itoa(s.ports.OTLPHTTP) }

// getJSON fetches url and decodes the JSON body into out; it returns the status.
func getJSON(t *testing.T, url string, out any, header ...string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("GET %s: status %d, body is not JSON: %v\n%s", url, resp.StatusCode, err, body)
		}
	}
	return resp.StatusCode
}

// eventually retries f until it returns true or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
