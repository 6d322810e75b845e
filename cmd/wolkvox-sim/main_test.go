package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want error
	}{
		{"help", []string{"--help"}, pflag.ErrHelp},
		{"unknown flag", []string{"--nope"}, errUsage},
		{"stray argument", []string{"serve"}, errUsage},
		{"bad zone", []string{"--zone", "Mars/Olympus", "--addr", "127.0.0.1:0"}, errUsage},
		{"bad start", []string{"--start", "yesterday", "--addr", "127.0.0.1:0"}, errUsage},
		{"bad fault rate", []string{"--fault-500", "1.5", "--addr", "127.0.0.1:0"}, errUsage},
		{"bad reset hour", []string{"--reset-hour", "25", "--addr", "127.0.0.1:0"}, errUsage},
		{"bad log level", []string{"--log-level", "loud", "--addr", "127.0.0.1:0"}, errUsage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := run(context.Background(), tc.args, io.Discard, io.Discard, nil)
			if !errors.Is(err, tc.want) {
				t.Errorf("run(%q) = %v, want %v", tc.args, err, tc.want)
			}
		})
	}
}

// TestServe starts the command, calls the URL of the example curl it prints (the last
// hour of diagram_13 at its --start time) and stops it with ctx.
func TestServe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	var out bytes.Buffer // written by run before it sends on ready
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--token", "t1", "--speed", "0",
			"--start", "2026-03-10 15:20:00", "--log-level", "error"}, &out, io.Discard, ready)
	}()
	var base string
	select {
	case base = <-ready:
	case err := <-done:
		t.Fatalf("run returned before serving: %v", err)
	}
	m := regexp.MustCompile(`curl -s -H 'wolkvox-token: (\S+)' '(\S+)'`).FindStringSubmatch(out.String())
	if m == nil || m[1] != "t1" || !strings.HasPrefix(m[2], base+"/api/v2/reports_manager.php?") {
		t.Fatalf("no example curl against %s in:\n%s", base, out.String())
	}
	if want := "api=diagram_13&date_ini=20260310140000&date_end=20260310145959"; !strings.HasSuffix(m[2], want) {
		t.Errorf("example curl %s does not ask for %s", m[2], want)
	}
	req, err := http.NewRequest(http.MethodGet, m[2], nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("wolkvox-token", m[1])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"conn_id":"`)) {
		t.Errorf("status %d, %v: %.200s", resp.StatusCode, err, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}
