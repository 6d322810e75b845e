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

	"github.com/wolkvox-connect/wolkvox-connect/schemas"
	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
	"github.com/wolkvox-connect/wolkvox-connect/source/simulator"
)

// inProcess is the run command started in this test process (runMain, as main calls
// it) against kfake and the simulator, with its log in a buffer.
type inProcess struct {
	t    *testing.T
	name string // the connector's name
	logs *syncBuffer
	api  restClient
	// done is closed when run returns, with its exit code in exit.
	done chan struct{}
	exit int
}

// runOptions shape the in-process run: extra YAML (top-level blocks), the log format,
// the token given to the connector, flags after run --config FILE, and environment.
type runOptions struct {
	yaml      string
	logFormat string
	token     string
	args      []string
	env       map[string]string
	noWaitAPI bool // do not wait for the REST API (the run may end first)
}

// startRun writes a configuration reading diagram_13 from a simulator, three hours
// back, into kfake, and runs `run` with it until the test ends.
func startRun(t *testing.T, o runOptions) *inProcess {
	t.Helper()
	seeds := kafkatest.Fake(t)
	sim, err := simulator.New(simulator.Seed(3), simulator.Location(bogotaLoc()), simulator.Reports("diagram_13"))
	if err != nil {
		t.Fatal(err)
	}
	simCtx, simCancel := context.WithCancel(context.Background())
	t.Cleanup(simCancel)
	if err := sim.Start(simCtx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	name := kafkatest.Topic(t)
	cfg := fmt.Sprintf(`kafka: {brokers: [%s]}
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
`, strings.Join(seeds, ", "), name, name, name, cmpOr(o.logFormat, "text"), o.yaml,
		name, simulator.DefaultServer, sim.URL(), time.Now().Add(-3*time.Hour).Format(time.RFC3339))
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"WOLKVOX_TOKEN": cmpOr(o.token, simulator.DefaultToken)}
	for k, v := range o.env {
		vars[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &inProcess{t: t, name: name, logs: &syncBuffer{}, done: make(chan struct{})}
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
			t.Logf("run's output (last 8 KiB):\n%s", tail(p.logs.String(), 8<<10))
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
			registry := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				fmt.Fprintf(w, `{"error_code":%d,"message":"refused %s (Authorization: %s), password %s"}`,
					tt.status*100+1, r.URL.Path, r.Header.Get("Authorization"), password)
			}))
			defer registry.Close()
			p := startRun(t, runOptions{
				logFormat: tt.format,
				yaml:      fmt.Sprintf("schema_registry: {url: %q, username: %s, password: \"${SR_PASSWORD}\"}", registry.URL, user),
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
						t.Errorf("%s show %q:\n%s", what, secret, tail(out, 4<<10))
					}
				}
			}
			if !strings.Contains(logs, "[REDACTED]") && tt.status == http.StatusInternalServerError {
				t.Errorf("the logs never quote the registry's answer: the test proves nothing")
			}
		})
	}
}
