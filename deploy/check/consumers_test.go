package check

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/schemas"
)

// readmeCode returns the first fenced block of the given language under the README
// heading.
func readmeCode(t *testing.T, heading, lang string) string {
	t.Helper()
	readme := string(readFile(t, "README.md"))
	at := strings.Index(readme, "\n"+heading+"\n")
	if at < 0 {
		t.Fatalf("README: no heading %q", heading)
	}
	section := readme[at+len(heading)+2:]
	if next := strings.Index(section, "\n## "); next >= 0 {
		section = section[:next]
	}
	start := strings.Index(section, "```"+lang+"\n")
	if start < 0 {
		t.Fatalf("README: no ```%s block under %q", lang, heading)
	}
	code := section[start+len(lang)+4:]
	end := strings.Index(code, "\n```")
	if end < 0 {
		t.Fatalf("README: the ```%s block under %q does not end", lang, heading)
	}
	return code[:end+1]
}

// cacheDir is a directory of the repository's .cache (git-ignored) keyed by the files
// that define its content, so a changed pom or requirements file fills a new one.
func cacheDir(t *testing.T, name string, defining ...string) (dir string, fresh bool) {
	t.Helper()
	h := sha256.New()
	for _, f := range defining {
		h.Write(readFile(t, f))
	}
	dir = filepath.Join(repoRoot, ".cache", fmt.Sprintf("%s-%x", name, h.Sum(nil)[:6]))
	_, err := os.Stat(filepath.Join(dir, ".complete"))
	return dir, err != nil
}

func markComplete(t *testing.T, dir string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, ".complete"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// run runs a command in the repository's root and fails the test with its output.
func run(t *testing.T, timeout time.Duration, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = repoRoot
	if env != nil {
		cmd.Env = env
	}
	done := make(chan struct{})
	var out []byte
	var err error
	go func() {
		out, err = cmd.CombinedOutput()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("%s %s did not finish within %s:\n%s", name, strings.Join(args, " "), timeout, tail(string(out), 40))
	}
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, tail(string(out), 40))
	}
	return string(out)
}

// consumerLine is what both README consumers print for each event; the Python one
// also names the writer schema (schema=fingerprint:<hex> or schema=id:<registry ID>).
var consumerLine = regexp.MustCompile(`^key=(\S+) written(?:_ms)?=(\S+) event_time=(\S+) report=(\S+)(?: schema=(\S+))?$`)

// TestConsumerExamples writes events with the real worker (the simulator, the local
// broker, a topic of its own) and runs the README's Java and Python consumers, exactly
// as the README has them, against that topic: each prints three events, decoded with
// the report's .avsc, read read_committed, with a record timestamp (the write time)
// after the row's wv_event_time and within this test. The Python consumer also reads a
// topic a second worker writes in the Confluent wire format with the real Schema
// Registry (WOLKVOX_TEST_REGISTRY, basic auth), fetching the writer schema by the ID
// each value carries: the subject's ID.
func TestConsumerExamples(t *testing.T) {
	brokers := testKafka(t)
	started := time.Now().Add(-time.Second)
	connect, sim := builtBinaries(t)
	simAddr := freeAddr(t)
	s := start(t, exec.Command(sim, "--addr", simAddr))
	waitHTTP(t, s, "http://"+simAddr+"/_sim/stats", 200, 20*time.Second)
	topic := exampleWorker(t, connect, brokers, simAddr, "", nil)
	args := []string{brokers, topic, "schemas/avro/diagram_13.avsc"}
	set, err := schemas.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	sc, _ := set.Lookup("diagram_13")

	t.Run("java", func(t *testing.T) {
		requireTool(t, "java", "the README's Java consumer")
		requireTool(t, "mvn", "the README's Java consumer (its classpath comes from Maven Central)")
		libs, fresh := cacheDir(t, "consumer-java", "deploy/check/testdata/consumers/pom.xml")
		if fresh {
			run(t, 5*time.Minute, nil, "mvn", "-B", "-q", "-f", "deploy/check/testdata/consumers/pom.xml",
				"dependency:copy-dependencies", "-DincludeScope=runtime", "-DoutputDirectory="+libs)
			markComplete(t, libs)
		}
		src := filepath.Join(t.TempDir(), "ConsumeWolkvox.java")
		if err := os.WriteFile(src, []byte(readmeCode(t, "## Consume the topics", "java")), 0o644); err != nil {
			t.Fatal(err)
		}
		out := run(t, 2*time.Minute, nil, "java", append([]string{"-cp", filepath.Join(libs, "*"), src}, args...)...)
		checkConsumed(t, out, started, "")
	})

	t.Run("python", func(t *testing.T) {
		py := pythonConsumer(t)
		out := run(t, 2*time.Minute, nil, py[0], append(py[1:], args...)...)
		checkConsumed(t, out, started, fmt.Sprintf("fingerprint:%016x", sc.Fingerprint))
	})

	t.Run("python confluent", func(t *testing.T) {
		reg := testRegistry(t)
		py := pythonConsumer(t)
		topic := exampleWorker(t, connect, brokers, simAddr,
			fmt.Sprintf("schema_registry: {url: %q, username: %q, password: \"${SR_PASSWORD}\"}\n", reg.URL, reg.User),
			[]string{"SR_PASSWORD=" + reg.Password})
		status, body := reg.do(t, http.MethodGet, "/subjects/"+url.PathEscape(topic+"-value")+"/versions/latest", "")
		var latest struct{ ID int }
		if err := json.Unmarshal([]byte(body), &latest); status != http.StatusOK || err != nil || latest.ID == 0 {
			t.Fatalf("GET the subject's latest version: %d %s", status, body)
		}
		env := append(os.Environ(), "SCHEMA_REGISTRY_USER="+reg.User, "SCHEMA_REGISTRY_PASSWORD="+reg.Password)
		out := run(t, 2*time.Minute, env, py[0], append(py[1:], brokers, topic, "schemas/avro/diagram_13.avsc", reg.URL)...)
		checkConsumed(t, out, started, "id:"+strconv.Itoa(latest.ID))
	})
}

// exampleWorker starts the worker binary with deploy/examples/simulator.yaml (extra
// YAML prepended, env added) as a connector of its own, waits until it delivered
// diagram_13 rows, and returns that topic.
func exampleWorker(t *testing.T, connect, brokers, simAddr, extra string, env []string) string {
	t.Helper()
	rest := freeAddr(t)
	name := "consumers-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	cfg := string(readFile(t, "deploy/examples/simulator.yaml"))
	cfg = strings.Replace(cfg, "base_url: http://127.0.0.1:8089", "base_url: http://"+simAddr, 1)
	cfg = strings.Replace(cfg, "- name: simulator", "- name: "+name, 1)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(extra+cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(connect, "run", "--config", path, "--brokers", brokers, "--rest-address", rest)
	cmd.Env = append(os.Environ(), env...)
	w := start(t, cmd)
	rows := regexp.MustCompile(`(?m)^wolkvox_connect_rows_total\{connector="` + name + `",report="diagram_13"\} ([1-9]\d*)`)
	deadline := time.Now().Add(6 * time.Minute) // just after midnight in Bogota, the first interval
	for !rows.MatchString(waitHTTP(t, w, "http://"+rest+"/metrics", 200, 30*time.Second)) {
		if time.Now().After(deadline) {
			t.Fatal("the worker delivered no diagram_13 rows")
		}
		time.Sleep(time.Second)
	}
	return "wolkvox." + name + ".diagram_13"
}

// pythonConsumer is the README's Python consumer, in a virtual environment of the
// repository's .cache with testdata/consumers/requirements.txt from PyPI: the
// interpreter and the program's path.
func pythonConsumer(t *testing.T) []string {
	t.Helper()
	py := requireTool(t, "python3", "the README's Python consumer")
	venv, fresh := cacheDir(t, "consumer-python", "deploy/check/testdata/consumers/requirements.txt")
	if fresh {
		run(t, time.Minute, nil, py, "-m", "venv", "--clear", venv)
		run(t, 5*time.Minute, nil, filepath.Join(venv, "bin", "pip"), "install", "-q", "-r", "deploy/check/testdata/consumers/requirements.txt")
		markComplete(t, venv)
	}
	src := filepath.Join(t.TempDir(), "consume_wolkvox.py")
	if err := os.WriteFile(src, []byte(readmeCode(t, "## Consume the topics", "python")), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{filepath.Join(venv, "bin", "python"), src}
}

// checkConsumed checks a consumer's three lines.
// A wantSchema other than "" is the writer schema every line must name.
func checkConsumed(t *testing.T, out string, started time.Time, wantSchema string) {
	t.Helper()
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		m := consumerLine.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("not an event line: %q", line)
			continue
		}
		n++
		written, err := parseWritten(m[2])
		if err != nil {
			t.Errorf("%q: written: %v", line, err)
			continue
		}
		event, err := time.Parse(time.RFC3339, m[3])
		if err != nil {
			t.Errorf("%q: event_time: %v", line, err)
			continue
		}
		if m[5] != wantSchema {
			t.Errorf("%q: writer schema %q, want %q", line, m[5], wantSchema)
		}
		if m[4] != "diagram_13" {
			t.Errorf("%q: report %q, want diagram_13 (the wolkvox.report header)", line, m[4])
		}
		if written.Before(started) || written.After(time.Now()) {
			t.Errorf("%q: the record timestamp %s is not the write time (this test ran from %s)", line, written, started)
		}
		if !event.Before(written) {
			t.Errorf("%q: wv_event_time %s is not before the write time %s", line, event, written)
		}
	}
	if n != 3 {
		t.Errorf("%d events printed, want 3:\n%s", n, out)
	}
}

// parseWritten reads Java's Instant (RFC 3339) or Python's milliseconds.
func parseWritten(s string) (time.Time, error) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms), nil
	}
	return time.Parse(time.RFC3339Nano, s)
}
