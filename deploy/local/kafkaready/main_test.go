package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestWaitReady(t *testing.T) {
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	tests := []struct {
		name    string
		seeds   func(t *testing.T) []string
		alive   func() bool
		timeout time.Duration
		want    error // nil: ready
	}{
		{
			name:    "kfake serves metadata and transactions",
			seeds:   func(t *testing.T) []string { return kafkatest.Fake(t) },
			timeout: 30 * time.Second,
		},
		{
			name:    "nothing listens: gives up at the deadline",
			seeds:   func(*testing.T) []string { return []string{"127.0.0.1:1"} },
			timeout: 500 * time.Millisecond,
			want:    context.DeadlineExceeded,
		},
		{
			name:    "broker process gone: gives up at once",
			seeds:   func(*testing.T) []string { return []string{"127.0.0.1:1"} },
			alive:   func() bool { return false },
			timeout: time.Minute,
			want:    errBrokerExited,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), tt.timeout)
			defer cancel()
			err := waitReady(ctx, discard, tt.seeds(t), tt.alive)
			if !errors.Is(err, tt.want) { // errors.Is(nil, nil) is true
				t.Fatalf("waitReady = %v; want %v", err, tt.want)
			}
		})
	}
}

func TestRunExitCodes(t *testing.T) {
	tests := []struct {
		name   string
		args   func(t *testing.T) []string
		code   int
		stderr string
	}{
		{name: "ready", args: func(t *testing.T) []string { return []string{"-addr", kafkatest.Fake(t)[0], "-timeout", "30s"} }, code: 0},
		{name: "missing -addr", args: func(*testing.T) []string { return nil }, code: 2, stderr: "-addr is required"},
		{name: "bad flag", args: func(*testing.T) []string { return []string{"-nope"} }, code: 2, stderr: "flag provided but not defined"},
		{name: "not ready", args: func(*testing.T) []string { return []string{"-addr", "127.0.0.1:1", "-timeout", "300ms"} }, code: 1, stderr: "127.0.0.1:1 not ready after"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if code := run(t.Context(), tt.args(t), &stderr); code != tt.code || !strings.Contains(stderr.String(), tt.stderr) {
				t.Fatalf("run = %d, stderr %q; want %d and stderr containing %q", code, stderr.String(), tt.code, tt.stderr)
			}
		})
	}
}
