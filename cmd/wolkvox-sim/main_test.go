package main

import (
	"bytes"
	"context"
	"encoding/json"
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

// TestFlagsReachServer: fault, quota and report flags change what the server answers.
func TestFlagsReachServer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--speed", "0", "--start", "2026-03-10 15:00:00",
			"--quota", "7", "--reports", "chat_3", "--fault-503", "1", "--retry-after", "2s", "--log-level", "error"},
			io.Discard, io.Discard, ready)
	}()
	var base string
	select {
	case base = <-ready:
	case err := <-done:
		t.Fatalf("run returned before serving: %v", err)
	}
	get := func(path string, token bool) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token {
			req.Header.Set("wolkvox-token", "sim-token")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, body
	}
	resp, body := get("/api/v2/reports_manager.php?api=chat_3&date_ini=20260310130000&date_end=20260310135959", true)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "2" {
		t.Errorf("--fault-503 1 --retry-after 2s: %d, Retry-After %q: %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	_, body = get("/_sim/stats", false)
	var stats struct {
		Tokens map[string]struct {
			QuotaLimit int `json:"quota_limit"`
			QuotaUsed  int `json:"quota_used"`
		} `json:"tokens"`
	}
	if err := json.Unmarshal(body, &stats); err != nil {
		t.Fatal(err)
	}
	if st := stats.Tokens["sim-token"]; st.QuotaLimit != 7 || st.QuotaUsed != 1 {
		t.Errorf("--quota 7 after one call: %+v", st)
	}
	_, body = get("/_sim/truth?api=chat_1&from=20260310130000&to=20260310140000", false)
	if !bytes.Contains(body, []byte("unknown report")) {
		t.Errorf("--reports chat_3 still serves chat_1's truth: %.200s", body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}
