package restapi

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/wolkvox-connect/wolkvox-connect/source"
)

// TestRequestLog: one debug line per request, with method, path and status, and never
// the bearer token.
func TestRequestLog(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := New(newFake(), BearerToken(source.NewSecret("log-token")), Logger(log))
	if err != nil {
		t.Fatal(err)
	}
	do(t, srv.Handler(), "GET", "/connectors/alpha/status", "", "log-token")
	do(t, srv.Handler(), "GET", "/connectors", "", "wrong-token")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{
		"level=DEBUG msg=request component=restapi method=GET path=/connectors/alpha/status status=200",
		"level=DEBUG msg=request component=restapi method=GET path=/connectors status=401",
	}
	if len(lines) != len(want) {
		t.Fatalf("%d log lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("line %d = %q, want it to contain %q", i, lines[i], w)
		}
	}
	if strings.Contains(buf.String(), "log-token") || strings.Contains(buf.String(), secretToken) {
		t.Errorf("a token reached the log:\n%s", buf.String())
	}
}

// TestActionLog: every action (pause, restart, offset changes...) is logged at info
// with who asked, what and the result; an error answer quoting a secret is redacted,
// in the answer and in the log.
func TestActionLog(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	fw := newFake()
	fw.stopErr = errors.New("broker said: SASL authentication failed for password hunter22")
	srv, err := New(fw, BearerToken(source.NewSecret("log-token")), Logger(log), Redact(source.NewRedactor("hunter22")))
	if err != nil {
		t.Fatal(err)
	}
	do(t, srv.Handler(), "GET", "/connectors/alpha/status", "", "log-token") // a read: not at info
	do(t, srv.Handler(), "PUT", "/connectors/alpha/pause", "", "log-token")
	a := do(t, srv.Handler(), "POST", "/connectors/alpha/restart", "", "log-token")
	do(t, srv.Handler(), "DELETE", "/connectors/alpha/offsets", "", "wrong-token")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{
		`msg="REST action" component=restapi method=PUT path=/connectors/alpha/pause status=202`,
		`msg="REST action" component=restapi method=POST path=/connectors/alpha/restart status=500`,
		`msg="REST action" component=restapi method=DELETE path=/connectors/alpha/offsets status=401`,
	}
	var actions []string
	for _, l := range lines {
		if strings.Contains(l, "REST action") {
			actions = append(actions, l)
		}
	}
	if len(actions) != len(want) {
		t.Fatalf("%d action lines, want %d:\n%s", len(actions), len(want), buf.String())
	}
	for i, w := range want {
		if !strings.Contains(actions[i], w) {
			t.Errorf("line %d = %q, want it to contain %q", i, actions[i], w)
		}
	}
	for i, w := range []string{`action="pause alpha" authenticated=true result=ok`, `action="restart alpha" authenticated=true result="refused: `, `action="reset offsets of alpha" authenticated=false result="refused: missing or invalid bearer token"`} {
		if !strings.Contains(actions[i], w) {
			t.Errorf("line %d = %q, want it to contain %q", i, actions[i], w)
		}
	}
	if strings.Contains(buf.String(), "hunter22") || strings.Contains(string(a.body), "hunter22") {
		t.Errorf("a secret reached the log or the answer:\n%s\n%s", buf.String(), a.body)
	}
	if !strings.Contains(string(a.body), source.Redacted) {
		t.Errorf("the error answer lost its text: %s", a.body)
	}
}
