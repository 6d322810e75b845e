package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
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

// TestServe starts the command, calls its example curl's URL and stops it with ctx.
func TestServe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--token", "t1", "--speed", "0",
			"--start", "2026-03-10 15:00:00", "--log-level", "error"}, &out, io.Discard, ready)
	}()
	base := <-ready
	req, err := http.NewRequest(http.MethodGet, base+"/api/v2/reports_manager.php?api=diagram_13&date_ini=20260310130000&date_end=20260310135959", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("wolkvox-token", "t1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"conn_id"`)) {
		t.Errorf("status %d: %.200s", resp.StatusCode, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
	if !strings.Contains(out.String(), "curl -s -H 'wolkvox-token: t1' '"+base) {
		t.Errorf("no example curl in:\n%s", out.String())
	}
}
