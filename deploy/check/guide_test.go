package check

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
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

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// readmeBlock returns the lines of the first ```sh block under the README heading.
func readmeBlock(t *testing.T, heading string) []string {
	t.Helper()
	var lines []string
	in, block := false, false
	sc := bufio.NewScanner(strings.NewReader(string(readFile(t, "README.md"))))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == heading:
			in = true
		case in && !block && strings.HasPrefix(line, "## "):
			t.Fatalf("README: %q has no ```sh block", heading)
		case in && !block && line == "```sh":
			block = true
		case block && line == "```":
			return lines
		case block:
			lines = append(lines, line)
		}
	}
	t.Fatalf("README: no heading %q with a ```sh block", heading)
	return nil
}

// stepMark separates the output of the guide's commands.
const stepMark = "::guide-step "

// TestLocalBrokerGuide follows the README's "Run it against a local broker" line by
// line, in one bash (so the export and the background jobs carry over, as in the
// reader's shell), from the repository's root, and checks what each line printed:
// the quota plan, readiness, three diagram_13 events read back from Kafka, the
// connector's status and its row counter. The broker is whatever
// deploy/local/kafka.sh start gives with this environment (make test's, or
// KAFKA_INSTANCE's): when one was already running, the last line (kafka.sh stop) is
// not run, so a broker the test did not start is never stopped.
func TestLocalBrokerGuide(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the guide builds binaries and may start a broker")
	}
	testKafka(t) // the same rule as every test that needs a real broker
	requireTool(t, "curl", "the README's local-broker guide")
	lines := readmeBlock(t, "## Run it against a local broker")
	if len(lines) < 8 {
		t.Fatalf("the guide has %d lines; this test expects the whole walk", len(lines))
	}
	for _, addr := range []string{"127.0.0.1:8083", "127.0.0.1:8089"} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Fatalf("%s is in use on this machine, and the guide's worker and simulator listen there: stop what serves it", addr)
		}
	}
	kafka := filepath.Join(repoRoot, "deploy", "local", "kafka.sh")
	running := exec.Command(kafka, "status").Run() == nil
	if running {
		resetGuide(t, kafka)
	}
	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	for i, line := range lines {
		// On a line of its own even after output without a final newline (curl's).
		fmt.Fprintf(&script, "printf '\\n%s%d\\n'\n", stepMark, i)
		if running && strings.TrimSpace(line) == "deploy/local/kafka.sh stop" {
			t.Logf("line %d (%s) not run: the broker was running before this test", i+1, line)
			continue
		}
		script.WriteString(line + "\n")
	}
	fmt.Fprintf(&script, "printf '\\n%sdone\\n'\n", stepMark)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script.String())
	cmd.Dir = repoRoot
	cmd.Env = guideEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stderr syncBuffer
	cmd.Stderr = &stderr
	t.Cleanup(func() {
		// A failed line leaves the simulator and the worker running: end the group.
		if cmd.Process != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
		if !running && exec.Command(kafka, "status").Run() == nil {
			t.Log("stopping the broker the guide started")
			_ = exec.Command(kafka, "stop").Run()
		}
	})
	started := time.Now()
	stdout, err := cmd.Output()
	steps := splitSteps(string(stdout))
	if err != nil || steps["done"] == nil {
		last := len(steps) - 1
		t.Fatalf("the guide failed at line %d (%q): %v\nstdout:\n%s\nstderr:\n%s\nbin/worker.log:\n%s", last+1, lineAt(lines, last), err,
			tail(string(stdout), 40), tail(stderr.String(), 40), tail(string(must(os.ReadFile(filepath.Join(repoRoot, "bin", "worker.log")))), 40))
	}
	t.Logf("the guide ran in %s", time.Since(started).Round(time.Second))

	find := func(prefix string) string {
		for i, line := range lines {
			if strings.HasPrefix(line, prefix) {
				return strings.Join(steps[strconv.Itoa(i)], "\n")
			}
		}
		t.Fatalf("the guide has no line starting %q", prefix)
		return ""
	}
	checks := []struct {
		line  string // the start of the README line whose output is checked
		check func(out string) error
	}{
		{"bin/wolkvox-connect validate", func(out string) error {
			if !strings.Contains(out, "config OK: deploy/examples/simulator.yaml") || !strings.Contains(out, "745 of 1000 calls/day") {
				return fmt.Errorf("no config OK and 745 of 1000 calls/day plan")
			}
			return nil
		}},
		{"curl -sf --retry", func(out string) error {
			if strings.TrimSpace(out) != `{"status":"ready"}` {
				return fmt.Errorf("not ready")
			}
			return nil
		}},
		{"bin/wolkvox-connect tail", checkEvents},
		{"curl -s http://127.0.0.1:8083/connectors/simulator/status", checkStatus},
		{"curl -s http://127.0.0.1:8083/metrics", func(out string) error {
			m := regexp.MustCompile(`(?m)^wolkvox_connect_rows_total\{connector="simulator",report="diagram_13"\} (\d+)`).FindStringSubmatch(out)
			if m == nil || m[1] == "0" {
				return fmt.Errorf("no diagram_13 rows counted")
			}
			return nil
		}},
	}
	for _, c := range checks {
		t.Run(c.line, func(t *testing.T) {
			out := find(c.line)
			if err := c.check(out); err != nil {
				t.Errorf("%v; it printed:\n%s", err, tail(out, 20))
			}
		})
	}
}

// resetGuide deletes what an earlier run of the guide left on the running broker (its
// report topics, then its offsets), so that this run starts as a first run does: the
// tail then waits for this worker's events, and the status and metrics lines show
// rows this worker delivered.
func resetGuide(t *testing.T, kafka string) {
	t.Helper()
	out, err := exec.Command(kafka, "start").Output() // the running broker: prints its address
	if err != nil {
		t.Fatalf("kafka.sh start (reusing the running broker): %v", err)
	}
	addr := strings.TrimSpace(string(out))
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	topics, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatalf("listing the broker's topics: %v", err)
	}
	var old []string
	for _, name := range topics.Names() {
		if strings.HasPrefix(name, "wolkvox.simulator.") {
			old = append(old, name)
		}
	}
	if len(old) > 0 {
		if _, err := adm.DeleteTopics(ctx, old...); err != nil {
			t.Fatalf("deleting the topics of an earlier run %v: %v", old, err)
		}
		for gone := false; !gone; {
			all, err := adm.ListTopics(ctx)
			if err != nil {
				t.Fatalf("waiting for the deletion of %v: %v", old, err)
			}
			gone = !slices.ContainsFunc(all.Names(), func(n string) bool { return slices.Contains(old, n) })
			time.Sleep(200 * time.Millisecond)
		}
		t.Logf("deleted the topics of an earlier run: %v", old)
	}
	connect, _ := builtBinaries(t)
	cmd := exec.Command(connect, "offsets", "reset", "--config", "deploy/examples/simulator.yaml", "--all", "--yes")
	cmd.Dir = repoRoot
	cmd.Env = append(guideEnv(), "WOLKVOX_KAFKA_BROKERS="+addr)
	reset, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("resetting the offsets of an earlier run: %v\n%s", err, reset)
	}
	t.Logf("offsets of an earlier run: %s", strings.TrimSpace(string(reset)))
}

// guideEnv is this process's environment without the variables the guide sets, so it
// runs as in a fresh shell.
func guideEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "WOLKVOX_") && k != "WOLKVOX_TEST_KAFKA" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// splitSteps maps each step's index (and "done") to the lines it printed.
func splitSteps(out string) map[string][]string {
	steps := map[string][]string{}
	current := ""
	for _, line := range strings.Split(out, "\n") {
		if id, ok := strings.CutPrefix(line, stepMark); ok {
			current = id
			steps[id] = []string{}
			continue
		}
		if current != "" {
			steps[current] = append(steps[current], line)
		}
	}
	return steps
}

func lineAt(lines []string, i int) string {
	if i >= 0 && i < len(lines) {
		return lines[i]
	}
	return ""
}

func must(data []byte, _ error) []byte { return data }

// checkEvents: three diagram_13 events, each a JSON line as tail prints them, with the
// report in its headers and value.
func checkEvents(out string) error {
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev struct {
			Topic   string            `json:"topic"`
			Key     string            `json:"key"`
			Headers map[string]string `json:"headers"`
			Value   map[string]any    `json:"value"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			return fmt.Errorf("not a JSON event: %q: %v", line, err)
		}
		if ev.Topic != "wolkvox.simulator.diagram_13" || ev.Headers["wolkvox.report"] != "diagram_13" ||
			ev.Value["wv_report"] != "diagram_13" || ev.Value["wv_row_id"] != ev.Key || ev.Key == "" {
			return fmt.Errorf("not a diagram_13 event of the simulator connector: %q", line)
		}
		n++
	}
	if n != 3 {
		return fmt.Errorf("%d events, want the 3 of -n 3", n)
	}
	return nil
}

// checkStatus: the connector runs and diagram_13 has delivered rows.
func checkStatus(out string) error {
	var st struct {
		Connector struct {
			State string `json:"state"`
		} `json:"connector"`
		Reports []struct {
			Report string `json:"report"`
			Rows   int64  `json:"rows"`
		} `json:"reports"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return fmt.Errorf("status is not JSON: %v", err)
	}
	if st.Connector.State != "RUNNING" {
		return fmt.Errorf("connector state %q, want RUNNING", st.Connector.State)
	}
	for _, r := range st.Reports {
		if r.Report == "diagram_13" && r.Rows > 0 {
			return nil
		}
	}
	return fmt.Errorf("diagram_13 has delivered no rows")
}
