package restapi

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestRequestLog: one debug line per request, with method, path and status, and never
// the bearer token.
func TestRequestLog(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := New(newFake(), BearerToken("log-token"), Logger(log))
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
