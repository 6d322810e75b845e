package check

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// connectCall is one request of TestConnectREST and the Kafka Connect entity its answer
// must read as (a name ConnectRestCheck.java knows).
type connectCall struct {
	method, path, body string
	status             int
	entity             string
}

// TestConnectREST holds the REST API to Kafka Connect's own REST model: the worker
// (built from the repository, run against the local broker and the simulator, as a
// user runs it) is asked every route a Connect tool calls, and every answer is read by
// testdata/connectrest/ConnectRestCheck.java with Jackson into the entity classes of
// org.apache.kafka:connect-runtime, the version of the test broker (ServerInfo,
// ConnectorInfo, ConnectorStateInfo, TaskInfo, ConnectorStateInfo.TaskState,
// ConnectorOffsets, ActiveTopicsInfo, PluginInfo, LoggerLevel, Message, ErrorMessage).
// Unknown properties fail, except the extensions the package documentation of
// source/restapi lists, which the check removes by path first; scalars are not coerced
// (a number where Connect has a string fails, and the other way round); and the
// members Connect clients rely on must be present (name, connector.state, worker_id,
// tasks, type "source"...). A missing route fails on its status here, a mistyped or
// missing member in Java.
func TestConnectREST(t *testing.T) {
	brokers := testKafka(t)
	requireTool(t, "java", "Kafka Connect's REST entities reading the REST API")
	requireTool(t, "mvn", "Kafka Connect's REST entities reading the REST API (connect-runtime comes from Maven Central)")
	libs := connectRuntime(t)

	connect, sim := builtBinaries(t)
	simAddr, rest := freeAddr(t), freeAddr(t)
	s := start(t, exec.Command(sim, "--addr", simAddr))
	waitHTTP(t, s, "http://"+simAddr+"/_sim/stats", 200, 20*time.Second)
	name := "connectrest-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	cfg := string(readFile(t, "deploy/examples/simulator.yaml"))
	cfg = strings.Replace(cfg, "base_url: http://127.0.0.1:8089", "base_url: http://"+simAddr, 1)
	cfg = strings.Replace(cfg, "- name: simulator", "- name: "+name, 1)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	w := start(t, exec.Command(connect, "run", "--config", path, "--brokers", brokers, "--rest-address", rest))
	base := "http://" + rest
	// Rows delivered, so that active topics and offsets are not empty.
	rows := regexp.MustCompile(`(?m)^wolkvox_connect_rows_total\{connector="` + regexp.QuoteMeta(name) + `",report="diagram_13"\} ([1-9]\d*)`)
	deadline := time.Now().Add(6 * time.Minute)
	for !rows.MatchString(waitHTTP(t, w, base+"/metrics", 200, 30*time.Second)) {
		if time.Now().After(deadline) {
			t.Fatal("the worker delivered no diagram_13 rows")
		}
		time.Sleep(time.Second)
	}

	c := "/connectors/" + name
	calls := []connectCall{
		{"GET", "/", "", 200, "ServerInfo"},
		{"GET", "/connectors", "", 200, "Names"},
		{"GET", "/connectors?expand=status", "", 200, "ExpandStatus"},
		{"GET", "/connectors?expand=info", "", 200, "ExpandInfo"},
		{"GET", "/connectors?expand=status&expand=info", "", 200, "ExpandBoth"},
		{"GET", c, "", 200, "ConnectorInfo"},
		{"GET", c + "/config", "", 200, "Config"},
		{"GET", c + "/status", "", 200, "ConnectorStateInfo"},
		{"GET", c + "/tasks", "", 200, "TaskInfos"},
		{"GET", c + "/tasks/0/status", "", 200, "TaskState"},
		{"GET", c + "/tasks/4/status", "", 200, "TaskState"},
		{"GET", c + "/topics", "", 200, "ActiveTopicsNonEmpty"},
		{"GET", c + "/offsets", "", 200, "ConnectorOffsets"},
		{"GET", "/connector-plugins", "", 200, "PluginInfos"},
		{"GET", "/connector-plugins?connectorsOnly=false", "", 200, "PluginInfos"},
		{"GET", "/admin/loggers", "", 200, "Loggers"},
		{"GET", "/admin/loggers/root", "", 200, "LoggerLevel"},
		{"PUT", "/admin/loggers/root", `{"level":"DEBUG"}`, 200, "LoggerNames"},
		{"GET", "/admin/loggers/root", "", 200, "LoggerLevelModified"},
		{"PUT", "/admin/loggers/root?scope=cluster", `{"level":"INFO"}`, 204, ""},
		{"PUT", c + "/topics/reset", "", 202, ""},
		{"GET", c + "/topics", "", 200, "ActiveTopics"},
		{"POST", c + "/tasks/1/restart", "", 204, ""},
		{"POST", c + "/restart?includeTasks=true", "", 202, "ConnectorStateInfo"},
		{"POST", c + "/restart?includeTasks=true&onlyFailed=true", "", 202, "ConnectorStateInfo"},
		{"PUT", c + "/pause", "", 202, ""},
		{"PUT", c + "/resume", "", 202, ""},
		{"PUT", c + "/stop", "", 202, ""},
		{"GET", c + "/status", "", 200, "ConnectorStateInfo"},
		{"DELETE", c + "/offsets", "", 200, "Message"},
		{"PUT", c + "/resume", "", 202, ""},
		// Errors answer Connect's ErrorMessage.
		{"GET", "/connectors/nope", "", 404, "ErrorMessage"},
		{"GET", c + "/tasks/99/status", "", 404, "ErrorMessage"},
		{"POST", c + "/tasks/99/restart", "", 404, "ErrorMessage"},
		{"GET", "/admin/loggers/org.apache.kafka", "", 404, "ErrorMessage"},
		{"PUT", "/admin/loggers/root", `{"level":"LOUD"}`, 400, "ErrorMessage"},
		{"PUT", c + "/config", `{"server":"0041"}`, 405, "ErrorMessage"},
		{"POST", "/connectors", `{"name":"x","config":{}}`, 405, "ErrorMessage"},
		{"DELETE", c, "", 405, "ErrorMessage"},
	}
	dir := t.TempDir()
	var manifest []string
	for i, call := range calls {
		status, body := request(t, call.method, base+call.path, call.body)
		if status != call.status {
			t.Errorf("%s %s: HTTP %d, want %d: %s", call.method, call.path, status, call.status, body)
			continue
		}
		if call.entity == "" {
			if len(bytes.TrimSpace(body)) != 0 {
				t.Errorf("%s %s: HTTP %d with a body, Connect answers none: %s", call.method, call.path, status, body)
			}
			continue
		}
		file := filepath.Join(dir, fmt.Sprintf("r%d.json", i))
		if err := os.WriteFile(file, body, 0o644); err != nil {
			t.Fatal(err)
		}
		manifest = append(manifest, fmt.Sprintf("r%d\t%s\t%d\t%s\t%s", i, call.entity, status, name, file))
	}
	writeLines(t, filepath.Join(dir, "answers.tsv"), manifest)

	printed := connectRestCheck(t, libs, dir)
	for kind, lines := range printed {
		for id := range lines {
			if i, err := strconv.Atoi(strings.TrimPrefix(id, "r")); err != nil || i < 0 || i >= len(calls) {
				t.Fatalf("ConnectRestCheck printed %s for an unknown request %s", kind, id)
			}
		}
	}
	for _, line := range manifest {
		id, _, _ := strings.Cut(line, "\t")
		i, _ := strconv.Atoi(strings.TrimPrefix(id, "r"))
		call := calls[i]
		ok, good := printed["ok"][id]
		msg, bad := printed["error"][id]
		switch {
		case bad:
			t.Errorf("%s %s as %s: %s", call.method, call.path, call.entity, msg)
		case good:
			t.Logf("%s %s as %s: %s", call.method, call.path, call.entity, ok)
		default:
			t.Errorf("%s %s: ConnectRestCheck said nothing of its answer", call.method, call.path)
		}
	}
	t.Logf("%d requests, %d answers read with connect-runtime's entities", len(calls), len(manifest))
}

// request makes one request and returns the status and body.
func request(t *testing.T, method, url, body string) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, url, err)
	}
	return resp.StatusCode, b
}

// connectRuntime returns the directory holding connect-runtime's classpath, fetched
// with Maven once per version of testdata/connectrest/pom.xml.
func connectRuntime(t *testing.T) string {
	t.Helper()
	pom := "deploy/check/testdata/connectrest/pom.xml"
	libs, fresh := cacheDir(t, "connect-rest", pom)
	if fresh {
		run(t, 5*time.Minute, nil, "mvn", "-B", "-q", "-f", pom,
			"dependency:copy-dependencies", "-DincludeScope=runtime", "-DoutputDirectory="+libs)
		markComplete(t, libs)
	}
	return libs
}

// connectRestCheck runs ConnectRestCheck.java over dir's answers.tsv and returns what
// it printed, by kind ("ok" or "error") and request id.
func connectRestCheck(t *testing.T, libs, dir string) map[string]map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "java", "-cp", filepath.Join(libs, "*"),
		filepath.Join(repoRoot, "deploy/check/testdata/connectrest/ConnectRestCheck.java"), filepath.Join(dir, "answers.tsv"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("java ConnectRestCheck.java: %v\n%s", err, tail(stderr.String(), 40))
	}
	out := map[string]map[string]string{"ok": {}, "error": {}}
	sc := bufio.NewScanner(bytes.NewReader(stdout))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		kind, id, value, ok := cut3(sc.Text())
		if !ok || out[kind] == nil {
			t.Fatalf("ConnectRestCheck printed %q", sc.Text())
		}
		if _, dup := out[kind][id]; dup {
			t.Fatalf("ConnectRestCheck printed %s %s twice", kind, id)
		}
		out[kind][id] = value
	}
	return out
}
