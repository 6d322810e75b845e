package main

import (
	"bytes"
	"strings"
	"testing"
)

// runCLI runs the CLI as main does, seeing only the environment variables in env, and
// returns its exit code and outputs.
func runCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	e := &environment{stdout: &out, stderr: &errOut, getenv: func(k string) string { return env[k] }}
	code = runMain(t.Context(), e, args)
	return code, out.String(), errOut.String()
}

// checkCLI fails t unless a command exited with wantCode and its stdout and stderr hold
// every string of wantOut and wantErr; on failure it logs both outputs.
func checkCLI(t *testing.T, code int, out, errOut string, wantCode int, wantOut, wantErr []string) {
	t.Helper()
	if code != wantCode {
		t.Errorf("exit %d, want %d", code, wantCode)
	}
	for _, s := range wantOut {
		if !strings.Contains(out, s) {
			t.Errorf("stdout lacks %q", s)
		}
	}
	for _, s := range wantErr {
		if !strings.Contains(errOut, s) {
			t.Errorf("stderr lacks %q", s)
		}
	}
	if t.Failed() {
		t.Logf("stdout:\n%s\nstderr:\n%s", out, errOut)
	}
}
