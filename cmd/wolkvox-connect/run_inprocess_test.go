package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/wolkvox-connect/wolkvox-connect/schemas"
	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/connectortest"
	"github.com/wolkvox-connect/wolkvox-connect/source/simulator"
)

// inProcess is the run command started in this test process (runMain, as main calls
// it) against kfake and the simulator, with its log in a buffer.
type inProcess struct {
	t     *testing.T
	name  string   // the connector's name
	seeds []string // kfake's
	logs  *connectortest.Buffer
	api   restClient
	// done is closed when run returns, with its exit code in exit.
	done chan struct{}
	exit int
}

// runOptions shape the in-process run: extra YAML (top-level blocks, keys of the kafka
// block), the log format, the token given to the connector, flags after run --config
// FILE, and environment.
type runOptions struct {
	yaml      string
	kafka     string // "key: value, ..." added to kafka: {brokers: [...]}
	logFormat string
	token     string
	args      []string
	env       map[string]string
	noWaitAPI bool   // do not wait for the REST API (the run may end first)
	baseURL   string // a fake Wolkvox instead of the simulator
}

// startRun writes a configuration reading diagram_13 from a simulator, three hours
// back, into kfake, and runs `run` with it until the test ends.
func startRun(t *testing.T, o runOptions) *inProcess {
	t.Helper()
	seeds := kafkatest.Fake(t)
	if o.baseURL == "" {
		o.baseURL = connectortest.StartSimulator(t, simulator.Seed(3), simulator.Location(bogotaLoc()), simulator.Reports("diagram_13")).URL()
	}
	name := kafkatest.Topic(t)
	cfg := fmt.Sprintf(`kafka: {brokers: [%s]%s}
topics: {template: "%s.{report}", offsets: %s.offsets, dead_letter: %s.dlq}
rest: {address: "127.0.0.1:0"}
log: {level: info, format: %s}
%s
connectors:
  - name: %s
    server: %q
    token: ${WOLKVOX_TOKEN}
    daily_quota: 1000
    base_url: %s
    defaults: {start: %q}
    reports: [{api: diagram_13}]
`, strings.Join(seeds, ", "), map[bool]string{true: ", " + o.kafka}[o.kafka != ""], name, name, name, cmpOr(o.logFormat, "text"), o.yaml,
		name, simulator.DefaultServer, o.baseURL, time.Now().Add(-3*time.Hour).Format(time.RFC3339))
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"WOLKVOX_TOKEN": cmpOr(o.token, simulator.DefaultToken)}
	for k, v := range o.env {
		vars[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &inProcess{t: t, name: name, seeds: seeds, logs: &connectortest.Buffer{}, done: make(chan struct{})}
	env := &environment{stdout: p.logs, stderr: p.logs, getenv: func(k string) string { return vars[k] }}
	go func() {
		defer close(p.done)
		p.exit = runMain(ctx, env, append([]string{"run", "--config", path}, o.args...))
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			t.Errorf("run did not stop within 30 s of its context's end")
		}
		if t.Failed() {
			t.Logf("run's output (last 8 KiB):\n%s", connectortest.Tail(p.logs.String(), 8<<10))
		}
	})
	if !o.noWaitAPI {
		waitFor(t, "the REST API to listen", 30*time.Second, func() bool {
			if p.exited() {
				t.Fatalf("run ended with exit %d before its REST API listened", p.exit)
			}
			m := listenRE.FindStringSubmatch(p.logs.String())
			if m != nil {
				p.api = restClient{t: t, base: "http://" + m[1]}
			}
			return m != nil
		})
	}
	return p
}

// exited reports whether run has returned.
func (p *inProcess) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// listenRE finds the REST address in text and JSON logs alike.
var listenRE = regexp.MustCompile(`REST API listening.*?"?address"?[=:]"?([0-9.]+:[0-9]+)`)

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// echoingRegistry starts a schema registry answering every request with status and a
// body quoting the request's Authorization header and the password ($SR_PASSWORD, which
// it expects to be password), and returns the schema_registry block that points at it.
func echoingRegistry(t *testing.T, status int, user string) string {
	t.Helper()
	registry := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, pass, _ := r.BasicAuth()
		fmt.Fprintf(w, `{"error_code":%d,"message":"refused %s (Authorization: %s), password %s"}`,
			status*100+1, r.URL.Path, r.Header.Get("Authorization"), pass)
	}))
	t.Cleanup(registry.Close)
	return fmt.Sprintf("schema_registry: {url: %q, username: %s, password: \"${SR_PASSWORD}\"}", registry.URL, user)
}

// TestRegistrySecretsRedacted: a schema registry that refuses the credentials (401) or
// fails (500) and echoes the request's Authorization header and the password in its
// answer; neither the password nor its Basic credentials appear in the logs (text or
// JSON) or in the REST status, and a 401 fails the report saying the registry refused
// the credentials (issue D6).
func TestRegistrySecretsRedacted(t *testing.T) {
	const user, password = "connect", "Regpass9Secret7word"
	basic := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	tests := []struct {
		name, format string
		status       int
		wantState    string
		wantError    string // in the report's last_error
	}{
		{"401 text logs", "text", http.StatusUnauthorized, "FAILED", schemas.ErrRegistryAuth.Error()},
		{"401 json logs", "json", http.StatusUnauthorized, "FAILED", schemas.ErrRegistryAuth.Error()},
		{"500 text logs", "text", http.StatusInternalServerError, "BACKING_OFF", "[REDACTED]"},
		{"500 json logs", "json", http.StatusInternalServerError, "BACKING_OFF", "[REDACTED]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startRun(t, runOptions{
				logFormat: tt.format,
				yaml:      echoingRegistry(t, tt.status, user),
				env:       map[string]string{"SR_PASSWORD": password},
			})
			var status string
			waitFor(t, "the report to read "+tt.wantState, 60*time.Second, func() bool {
				body := p.api.do("GET", "/connectors/"+p.name+"/status", 200)
				var st statusDoc
				if err := json.Unmarshal(body, &st); err != nil {
					t.Fatal(err)
				}
				status = string(body)
				return len(st.Reports) == 1 && st.Reports[0].State == tt.wantState && strings.Contains(status, `"last_error":"`)
			})
			if !strings.Contains(status, tt.wantError) {
				t.Errorf("status lacks %q:\n%s", tt.wantError, status)
			}
			readyz := string(p.api.do("GET", "/readyz", map[bool]int{true: 503, false: 200}[tt.wantState == "FAILED"]))
			logs := p.logs.String()
			for what, out := range map[string]string{"logs": logs, "status": status, "readyz": readyz} {
				for _, secret := range []string{password, basic} {
					if strings.Contains(out, secret) {
						t.Errorf("%s show %q:\n%s", what, secret, connectortest.Tail(out, 4<<10))
					}
				}
			}
			if !strings.Contains(logs, "[REDACTED]") && tt.status == http.StatusInternalServerError {
				t.Errorf("the logs never quote the registry's answer: the test proves nothing")
			}
		})
	}
}

// fakeWolkvox answers every diagram_13 call with body(window end) until the test ends;
// a nil body holds the call open without answering.
func fakeWolkvox(t *testing.T, body func(end time.Time) string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		end, err := time.ParseInLocation("20060102150405", r.URL.Query().Get("date_end"), bogotaLoc())
		if err != nil || r.URL.Query().Get("api") != "diagram_13" {
			http.Error(w, `{"code":400,"error":"BAD REQUEST","msg":"SOME PARAMETERS ARE REQUIRED"}`, http.StatusBadRequest)
			return
		}
		if body == nil {
			<-r.Context().Done()
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, body(end))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// d13Body is a diagram_13 answer of n rows dated date, each with a field of pad bytes.
func d13Body(n int, date time.Time, pad int) string {
	rows := make([]map[string]string, n)
	for i := range rows {
		rows[i] = map[string]string{"conn_id": fmt.Sprintf("c%d.%d", date.Unix(), i), "second_event": "3", "cod_opc_menu": "1",
			"date": date.In(bogotaLoc()).Format(time.DateTime), "customer_id": "1", "channel": "voice", "attempt": "1",
			"telephone": "3001234567", "note": strings.Repeat("x", pad)}
	}
	b, err := json.Marshal(map[string]any{"code": "200", "error": nil, "msg": fmt.Sprintf("%d records were found", n), "data": rows})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestLimitsReachTheWorker runs `run` with each limits key set below what the fake
// Wolkvox sends, and finds in the REST status that the worker applied it: with the
// defaults none of these answers would trip anything.
func TestLimitsReachTheWorker(t *testing.T) {
	tests := []struct {
		name   string
		limits string
		body   func(end time.Time) string
		holds  func(report map[string]any) bool
	}{
		{"max_body_bytes", "limits: {max_body_bytes: 1MiB}",
			func(end time.Time) string { return d13Body(2, end.Add(-time.Minute), 600<<10) },
			func(r map[string]any) bool {
				s, _ := r["last_error"].(string)
				return strings.Contains(s, "MaxBodyBytes")
			}},
		{"max_row_bytes", "limits: {max_row_bytes: 64KiB}",
			func(end time.Time) string { return d13Body(1, end.Add(-time.Minute), 100<<10) },
			func(r map[string]any) bool { n, _ := r["dead_letters"].(float64); return n >= 1 }},
		{"future_tolerance", "limits: {future_tolerance: 1m}",
			func(end time.Time) string { return d13Body(1, time.Now().Add(20*time.Minute), 0) },
			func(r map[string]any) bool { n, _ := r["future_rows"].(float64); return n >= 1 }},
		{"stall_timeout", "limits: {stall_timeout: 30s}", nil,
			func(r map[string]any) bool { b, _ := r["stalled"].(bool); return b }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := startRun(t, runOptions{yaml: tt.limits, baseURL: fakeWolkvox(t, tt.body)})
			var last string
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("last status: %s", last)
				}
			})
			waitFor(t, tt.name+" to show in the status", 60*time.Second, func() bool {
				body := p.api.do("GET", "/connectors/"+p.name+"/status", 200)
				last = string(body)
				var st struct {
					Reports []map[string]any `json:"reports"`
				}
				if err := json.Unmarshal(body, &st); err != nil {
					t.Fatal(err)
				}
				return len(st.Reports) == 1 && tt.holds(st.Reports[0])
			})
		})
	}
}

// TestExitOnFailure: with --exit-on-failure (or WOLKVOX_EXIT_ON_FAILURE=true) run ends
// with exit code 3 and the reason once its only connector FAILED on a token Wolkvox
// refuses; without it the worker runs on, the connector FAILED in its status.
func TestExitOnFailure(t *testing.T) {
	const wrong = "Wrong-Token-0123456789"
	tests := []struct {
		name string
		args []string
		env  map[string]string
		code int // -1: still running
	}{
		{"flag", []string{"--exit-on-failure"}, nil, exitAllFailed},
		{"environment", nil, map[string]string{envExitOnFailure: "true"}, exitAllFailed},
		{"flag false over the environment", []string{"--exit-on-failure=false"}, map[string]string{envExitOnFailure: "true"}, -1},
		{"neither", nil, nil, -1},
		{"environment not a boolean", nil, map[string]string{envExitOnFailure: "sometimes"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startRun(t, runOptions{token: wrong, args: tt.args, env: tt.env, noWaitAPI: tt.code >= 0})
			if tt.code < 0 {
				waitFor(t, "the REST API to listen", 30*time.Second, func() bool { return listenRE.MatchString(p.logs.String()) })
				p.api = restClient{t: t, base: "http://" + listenRE.FindStringSubmatch(p.logs.String())[1]}
				waitFor(t, "the connector to fail", 30*time.Second, func() bool { return p.api.status(p.name).Connector.State == "FAILED" })
				time.Sleep(time.Second) // an exiting worker ends at once
				if p.exited() {
					t.Fatalf("run ended (exit %d) without --exit-on-failure", p.exit)
				}
				return
			}
			select {
			case <-p.done:
			case <-time.After(45 * time.Second):
				t.Fatal("run did not end")
			}
			out := p.logs.String()
			if p.exit != tt.code {
				t.Errorf("exit %d, want %d", p.exit, tt.code)
			}
			wantText := "wolkvox-connect run: connector: every connector failed"
			if tt.code == 2 {
				wantText = envExitOnFailure + `="sometimes": use true or false`
			}
			if !strings.Contains(out, wantText) {
				t.Errorf("output lacks %q", wantText)
			}
			if tt.code == exitAllFailed && !strings.Contains(out, p.name+": ") {
				t.Errorf("the error does not name the connector")
			}
			if strings.Contains(out, wrong) {
				t.Errorf("the output shows the token")
			}
			if t.Failed() {
				t.Logf("output:\n%s", connectortest.Tail(out, 4<<10))
			}
		})
	}
}

// TestMetricsBuildInfo: /metrics of a running worker carries the build's version.
func TestMetricsBuildInfo(t *testing.T) {
	saved := version
	t.Cleanup(func() { version = saved }) // registered first, so run after run has stopped
	version = "v9.8.7-test"
	p := startRun(t, runOptions{})
	metrics := string(p.api.do("GET", "/metrics", 200))
	if !regexp.MustCompile(`(?m)^wolkvox_connect_build_info\{[^}]*version="v9\.8\.7-test"[^}]*\} 1$`).MatchString(metrics) {
		t.Errorf("/metrics has no build_info with the version:\n%s", grepLines(metrics, "build_info"))
	}
}

// TestBackfillRedacts: backfill logs through the same Redactor as run: a registry
// failing with an answer that quotes the password and the Basic credentials shows
// neither on backfill's stderr.
func TestBackfillRedacts(t *testing.T) {
	const user, password = "connect", "Backfill9Secret7word"
	basic := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	seeds := kafkatest.Fake(t)
	srv := fakeWolkvox(t, func(end time.Time) string { return d13Body(1, end.Add(-time.Minute), 0) })
	name := kafkatest.Topic(t)
	cfg := fmt.Sprintf(`kafka: {brokers: [%s]}
topics: {template: "%s.{report}", offsets: %s.offsets, dead_letter: %s.dlq}
%s
connectors:
  - {name: %s, server: "0040", token: tok-backfill, daily_quota: 1000, base_url: %q, reports: [{api: diagram_13}]}
`, strings.Join(seeds, ","), name, name, name, echoingRegistry(t, http.StatusInternalServerError, user), name, srv)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	from := time.Now().Add(-48 * time.Hour).Truncate(time.Hour)
	logs := &connectortest.Buffer{}
	env := &environment{stdout: logs, stderr: logs, getenv: func(k string) string { return map[string]string{"SR_PASSWORD": password}[k] }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- runMain(ctx, env, []string{"backfill", "--config", path, "--report", "diagram_13",
			"--from", from.Format(time.RFC3339), "--to", from.Add(time.Hour).Format(time.RFC3339)})
	}()
	waitFor(t, "backfill to log the registry's answer", 30*time.Second, func() bool { return strings.Contains(logs.String(), "refused") })
	cancel()
	<-done
	out := logs.String()
	for _, secret := range []string{password, basic} {
		if strings.Contains(out, secret) {
			t.Errorf("backfill's output shows %q:\n%s", secret, connectortest.Tail(out, 4<<10))
		}
	}
}

// TestTransactionalIDPrefix: with kafka.transactional_id_prefix, the connector's windows
// commit under that prefix and its name, and nothing of it holds the default ID, so a
// deployment of another prefix with a connector of the same name is never fenced by it.
func TestTransactionalIDPrefix(t *testing.T) {
	const prefix = "tenant-a."
	p := startRun(t, runOptions{kafka: "transactional_id_prefix: " + prefix})
	waitFor(t, "a window to be committed", 60*time.Second, func() bool {
		st := p.api.status(p.name)
		return len(st.Reports) == 1 && st.Reports[0].Rows > 0
	})
	ids, err := kadm.NewClient(kafkatest.Client(t, p.seeds)).ListTransactions(context.Background(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ids[prefix+p.name]; !ok {
		t.Errorf("no transactional ID %s among %v", prefix+p.name, ids.TransactionalIDs())
	}
	for _, id := range ids.TransactionalIDs() {
		if strings.HasPrefix(id, source.DefaultTxnIDPrefix) {
			t.Errorf("transactional ID %s has the default prefix", id)
		}
	}
}
