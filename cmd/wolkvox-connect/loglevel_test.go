package main

import (
	"bytes"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRunLogLevelAtRunTime: run's REST API changes run's log level: a debug line the
// configured level (info) drops is written once PUT /admin/loggers/root set DEBUG, and
// dropped again after INFO.
func TestRunLogLevelAtRunTime(t *testing.T) {
	env := &environment{stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string { return testEnv[k] }}
	o := overrides{config: "../../deploy/examples/one-operation.yaml"}
	s, err := o.load(env)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	parts, err := prepareRun(s, &out)
	if err != nil {
		t.Fatal(err)
	}
	put := func(level string) {
		t.Helper()
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("PUT", "/admin/loggers/root", strings.NewReader(`{"level":"`+level+`"}`))
		if s.REST.Token.IsSet() {
			req.Header.Set("Authorization", "Bearer "+s.REST.Token.Reveal())
		}
		parts.api.Handler().ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("PUT %s: HTTP %d %s", level, rec.Code, rec.Body)
		}
	}
	for _, step := range []struct {
		set    string
		logged bool
	}{{"", false}, {"DEBUG", true}, {"INFO", false}} {
		if step.set != "" {
			put(step.set)
		}
		out.Reset()
		parts.log.Debug("probe", "step", step.set)
		if got := strings.Contains(out.String(), "probe"); got != step.logged {
			t.Errorf("after %q a debug line logged: %v, want %v\n%s", step.set, got, step.logged, out.String())
		}
	}
}
