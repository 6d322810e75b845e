package check

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const unitFile = "deploy/systemd/wolkvox-connect.service"

// unitDirectives parses a unit file into section.key → values (in order: a key may
// repeat).
func unitDirectives(t *testing.T) map[string][]string {
	t.Helper()
	d := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(strings.NewReader(string(readFile(t, unitFile))))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s: not a directive: %q", unitFile, line)
			}
			d[section+"."+k] = append(d[section+"."+k], v)
		}
	}
	return d
}

func directive(d map[string][]string, key string) string {
	v := d[key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// unitRoot lays out a root for systemd-analyze --root: the unit where the install
// steps put it, the binary at ExecStart's path, and this machine's own units (the
// targets every service depends on).
func unitRoot(t *testing.T, exec0 string) string {
	t.Helper()
	root := t.TempDir()
	connect, _ := builtBinaries(t)
	copyFile(t, connect, filepath.Join(root, exec0), 0o755)
	copyFile(t, filepath.Join(repoRoot, unitFile), filepath.Join(root, "etc/systemd/system", filepath.Base(unitFile)), 0o644)
	units, err := filepath.Glob("/lib/systemd/system/*.target")
	if err != nil || len(units) == 0 {
		t.Fatalf("no systemd targets in /lib/systemd/system on this machine: %v", err)
	}
	for _, u := range units {
		copyFile(t, u, filepath.Join(root, "usr/lib/systemd/system", filepath.Base(u)), 0o644)
	}
	return root
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, mode); err != nil {
		t.Fatal(err)
	}
}

// TestSystemdUnit checks the unit: systemd-analyze verify finds nothing to say (an
// unknown key, a key in the wrong section, a missing binary are all reported), its
// offline security review scores it at most 2.0 ("OK"), its directives are the
// hardening promised, the credential it loads is the file the configuration reads,
// and that configuration is valid for the worker.
func TestSystemdUnit(t *testing.T) {
	d := unitDirectives(t)
	execStart := strings.Fields(directive(d, "Service.ExecStart"))
	if len(execStart) < 2 {
		t.Fatalf("ExecStart: %q", execStart)
	}
	credName, credPath, _ := strings.Cut(directive(d, "Service.LoadCredential"), ":")
	cfgPath, _ := flagValue(execStart, "--config")
	config := string(readFile(t, "deploy/systemd/config.yaml"))
	runChecks(t, []check{
		{"DynamicUser", directive(d, "Service.DynamicUser") == "yes", nil},
		{"ProtectSystem=strict", directive(d, "Service.ProtectSystem") == "strict", nil},
		{"NoNewPrivileges and no capabilities", directive(d, "Service.NoNewPrivileges") == "yes" && directive(d, "Service.CapabilityBoundingSet") == "", nil},
		{"restarts on failure, not on a usage error (exit 2)", directive(d, "Service.Restart") == "on-failure" && directive(d, "Service.RestartPreventExitStatus") == "2", nil},
		{"exits when every connector FAILED, for the restart", slices.Contains(execStart, "--exit-on-failure") && execStart[1] == "run", execStart},
		{"the token is a credential", credName != "" && strings.HasPrefix(credPath, "/"), directive(d, "Service.LoadCredential")},
		{"the configuration reads that credential", strings.Contains(config, "${CREDENTIALS_DIRECTORY}/"+credName), credName},
		{"the configuration is where the unit reads it", cfgPath == "/etc/wolkvox-connect/config.yaml" && strings.Contains(string(readFile(t, unitFile)), "deploy/systemd/config.yaml "+cfgPath), cfgPath},
		{"memory bounded above the measured peak", directive(d, "Service.MemoryMax") != "" && megabytes(directive(d, "Service.MemoryMax")) > measuredPeakRSS(t), directive(d, "Service.MemoryMax")},
	})

	t.Run("the worker accepts the configuration with the credential", func(t *testing.T) {
		creds := t.TempDir()
		if err := os.WriteFile(filepath.Join(creds, credName), []byte("a-wolkvox-token\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		connect, _ := builtBinaries(t)
		cmd := exec.Command(connect, "validate", "--config", filepath.Join(repoRoot, "deploy/systemd/config.yaml"))
		cmd.Env = []string{"CREDENTIALS_DIRECTORY=" + creds}
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "config OK") || strings.Contains(string(out), "warning") {
			t.Fatalf("validate: %v\n%s", err, out)
		}
	})

	t.Run("systemd-analyze verify", func(t *testing.T) {
		sa := requireTool(t, "systemd-analyze", "the unit against systemd's own parser")
		root := unitRoot(t, execStart[0])
		out, err := exec.Command(sa, "verify", "--root="+root, filepath.Base(unitFile)).CombinedOutput()
		if err != nil || len(strings.TrimSpace(string(out))) > 0 {
			t.Errorf("systemd-analyze verify: %v\n%s", err, out)
		}
	})

	t.Run("systemd-analyze security", func(t *testing.T) {
		sa := requireTool(t, "systemd-analyze", "the unit's exposure score")
		root := unitRoot(t, execStart[0])
		out, err := exec.Command(sa, "security", "--offline=true", "--threshold=20", "--root="+root,
			filepath.Join(root, "etc/systemd/system", filepath.Base(unitFile))).CombinedOutput()
		if err != nil {
			t.Fatalf("systemd-analyze security: %v\n%s", err, out)
		}
		m := regexp.MustCompile(`Overall exposure level for \S+: (\d+\.\d+)`).FindStringSubmatch(string(out))
		if m == nil {
			t.Fatalf("no exposure level in:\n%s", out)
		}
		if score, _ := strconv.ParseFloat(m[1], 64); score > 2.0 {
			t.Errorf("exposure %s, want at most 2.0:\n%s", m[1], out)
		}
		t.Logf("exposure level %s", m[1])
	})
}

func megabytes(v string) int64 {
	n, err := strconv.ParseInt(strings.TrimRight(v, "MKG"), 10, 64)
	if err != nil {
		return 0
	}
	switch {
	case strings.HasSuffix(v, "G"):
		return n << 10
	case strings.HasSuffix(v, "K"):
		return n >> 10
	}
	return n
}

// syscallSet expands SystemCallFilter groups (and names) with systemd-analyze.
func syscallSet(t *testing.T, sa string, names []string) map[string]bool {
	t.Helper()
	set := map[string]bool{}
	var expand func(string)
	seen := map[string]bool{}
	expand = func(name string) {
		if !strings.HasPrefix(name, "@") {
			set[name] = true
			return
		}
		if seen[name] {
			return
		}
		seen[name] = true
		out, err := exec.Command(sa, "syscall-filter", name).Output()
		if err != nil {
			t.Fatalf("systemd-analyze syscall-filter %s: %v", name, err)
		}
		for i, line := range strings.Split(string(out), "\n") {
			line = strings.TrimSpace(line)
			if i == 0 || line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			expand(line)
		}
	}
	for _, n := range names {
		expand(n)
	}
	return set
}

// TestSystemdSyscallFilter runs the worker under strace (its REST API serving, Kafka
// unreachable, a /healthz request, SIGTERM) and checks that every system call it made
// is allowed by the unit's SystemCallFilter lines: a call outside them would kill the
// service with SIGSYS. (The rest of the sandbox needs systemd as PID 1 to run.)
func TestSystemdSyscallFilter(t *testing.T) {
	sa := requireTool(t, "systemd-analyze", "the system call filter")
	strace := requireTool(t, "strace", "the system calls the worker makes against the unit's filter")
	d := unitDirectives(t)
	allowed := map[string]bool{}
	for i, line := range d["Service.SystemCallFilter"] {
		deny, names := strings.HasPrefix(line, "~"), strings.Fields(strings.TrimPrefix(line, "~"))
		if i == 0 && deny {
			t.Fatal("the first SystemCallFilter is a deny list; this test expects an allow list first")
		}
		for name := range syscallSet(t, sa, names) {
			allowed[name] = !deny
		}
	}
	connect, _ := builtBinaries(t)
	dir := t.TempDir()
	rest := freeAddr(t)
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(`kafka: {brokers: ["127.0.0.1:9"]}
rest: {address: "`+rest+`"}
connectors:
  - {name: strace, server: "0040", token: a-token, daily_quota: 1000, reports: [{api: chat_3, bucket: 24h}]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	trace := filepath.Join(dir, "strace.txt")
	p := start(t, exec.Command(strace, "-f", "-qq", "-c", "-o", trace, connect, "run", "--config", cfg, "--exit-on-failure"))
	waitHTTP(t, p, "http://"+rest+"/healthz", 200, 30*time.Second)
	waitHTTP(t, p, "http://"+rest+"/readyz", 503, 10*time.Second)
	time.Sleep(2 * time.Second) // a few Kafka connection attempts and retries
	// SIGTERM to the worker itself (strace's child), as systemd would send it.
	children, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p.cmd.Process.Pid), "task", strconv.Itoa(p.cmd.Process.Pid), "children"))
	worker, convErr := strconv.Atoi(strings.TrimSpace(string(children)))
	if err != nil || convErr != nil {
		t.Fatalf("the worker's pid under strace: %q %v %v", children, err, convErr)
	}
	if err := syscall.Kill(worker, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the worker did not stop within 30s of SIGTERM")
	}
	data, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	var used, denied []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || strings.HasPrefix(f[0], "%") || strings.HasPrefix(f[0], "-") || f[len(f)-1] == "total" {
			continue
		}
		name := f[len(f)-1]
		used = append(used, name)
		if !allowed[name] {
			denied = append(denied, name)
		}
	}
	if len(used) < 20 {
		t.Fatalf("strace counted %d system calls; the trace was not read right:\n%s", len(used), data)
	}
	if len(denied) > 0 {
		t.Errorf("the worker made system calls the unit's SystemCallFilter denies: %v", denied)
	}
	t.Logf("%d distinct system calls, all allowed", len(used))
}
