package check

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// repoRoot is the repository's root: this module lives in deploy/check.
var repoRoot = func() string {
	abs, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		panic(err)
	}
	return abs
}()

// binDir holds the binaries built once for the whole test run (see builtBinaries).
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wolkvox-deploy-check-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

var build struct {
	once sync.Once
	err  error
}

// builtBinaries builds wolkvox-connect and wolkvox-sim from the repository (the
// worker's own module) once, and returns their paths.
func builtBinaries(t *testing.T) (connect, sim string) {
	t.Helper()
	build.once.Do(func() {
		cmd := exec.Command("go", "build", "-o", binDir+string(filepath.Separator), "./cmd/wolkvox-connect", "./cmd/wolkvox-sim")
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return filepath.Join(binDir, "wolkvox-connect"), filepath.Join(binDir, "wolkvox-sim")
}

// testKafka is the real broker the suite runs against (make test sets it). Without one
// the test is skipped, except under CI=true, where that is a failure.
func testKafka(t *testing.T) string {
	t.Helper()
	addr := os.Getenv("WOLKVOX_TEST_KAFKA")
	if addr == "" {
		msg := `WOLKVOX_TEST_KAFKA is not set: run deploy/local/kafka.sh start and eval "$(deploy/local/kafka.sh env)" (make test does)`
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return addr
}

// requireTool skips the test when a program it runs is not installed, naming what is
// then not checked (make test lists every skip with its reason).
func requireTool(t *testing.T, name, unchecked string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed, so %s is not checked", name, unchecked)
	}
	return path
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// syncBuffer collects a process's output while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// process is a program a test runs in the background, in its own process group.
type process struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error
}

// start runs cmd in the background; the test's cleanup kills it (and its group) if it
// is still running, and logs its output when the test failed.
func start(t *testing.T, cmd *exec.Cmd) *process {
	t.Helper()
	p := &process{cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	if cmd.Stdout == nil {
		cmd.Stdout = p.out
	}
	if cmd.Stderr == nil {
		cmd.Stderr = p.out
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", cmd.Path, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(syscall.SIGKILL, 5*time.Second)
		if t.Failed() {
			t.Logf("output of %s:\n%s", strings.Join(cmd.Args, " "), tail(p.out.String(), 60))
		}
	})
	return p
}

// stop sends sig to the process group and waits up to timeout for the process to end;
// it reports whether it ended.
func (p *process) stop(sig syscall.Signal, timeout time.Duration) bool {
	select {
	case <-p.done:
		return true
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
	select {
	case <-p.done:
		return true
	case <-time.After(timeout):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		return false
	}
}

// exitCode is the process's exit code once it ended (-1 when a signal ended it).
func (p *process) exitCode() int {
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		return -1
	}
	return 0
}

// waitHTTP polls url until it answers want, the process ends, or timeout passes; it
// returns the last body.
func waitHTTP(t *testing.T, p *process, url string, want int, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		status, body, err := get(url)
		if err == nil && status == want {
			return body
		}
		last = fmt.Sprintf("status %d, body %q, error %v", status, body, err)
		if p != nil {
			select {
			case <-p.done:
				t.Fatalf("%s ended (%v) before %s answered %d; last: %s", p.cmd.Path, p.err, url, want, last)
			default:
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer %d within %s; last: %s", url, want, timeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// get fetches url with a short timeout.
func get(url string) (int, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return resp.StatusCode, string(body), err
}

// tail keeps the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// readFile reads a file of the repository, given relative to its root.
func readFile(t *testing.T, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, rel))
	if err != nil {
		t.Fatal(err)
	}
	return data
}
