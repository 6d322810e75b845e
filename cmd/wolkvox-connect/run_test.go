package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wolkvox-connect/wolkvox-connect/source/config"
)

// TestRunRefuses checks what run does before it touches Kafka or Wolkvox: every
// mistake stops it with an exit code and a message that says what to do.
func TestRunRefuses(t *testing.T) {
	noBroker := filepath.Join(t.TempDir(), "no-broker.yaml")
	data, err := os.ReadFile(configdata + "minimal.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(noBroker, bytes.Replace(data, []byte(`kafka: {brokers: ["127.0.0.1:9092"]}`), nil, 1), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		code int
		want []string // in stderr
	}{
		{"no config", []string{"run"}, nil, 2, []string{"--config is required", "deploy/examples", "wolkvox-connect demo"}},
		{"no broker points to demo", []string{"run", "--config", noBroker}, map[string]string{"WOLKVOX_TOKEN": "t"}, 1,
			[]string{"kafka.brokers: is empty", "run: wolkvox-connect demo"}},
		{"quota plan does not fit", []string{"run", "--config", configdata + "quota.bad.yaml"}, map[string]string{"WOLKVOX_TOKEN": "t"}, 1,
			[]string{"daily_quota", "576", "500"}},
		{"bad --brokers are checked like the file's", []string{"run", "--config", noBroker, "--brokers", "kafka-1"}, map[string]string{"WOLKVOX_TOKEN": "t"}, 1,
			[]string{"kafka.brokers[0]", "kafka-1"}},
		{"bad log level", []string{"run", "--config", configdata + "minimal.good.yaml", "--log-level", "loud"}, map[string]string{"WOLKVOX_TOKEN": "t"}, 2,
			[]string{"--log-level", "debug, info, warn or error"}},
		{"unset token variable", []string{"run", "--config", configdata + "minimal.good.yaml"}, nil, 1, []string{"WOLKVOX_TOKEN"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			env := &environment{stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return tt.env[k] }}
			code := runMain(context.Background(), env, tt.args)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, stderr.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
		})
	}
}

// TestBrokersOverride: --brokers wins over WOLKVOX_KAFKA_BROKERS, which wins over the
// file, and either supplies brokers to a file that has none.
func TestBrokersOverride(t *testing.T) {
	noBroker := filepath.Join(t.TempDir(), "no-broker.yaml")
	data, err := os.ReadFile(configdata + "minimal.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(noBroker, bytes.Replace(data, []byte(`kafka: {brokers: ["127.0.0.1:9092"]}`), nil, 1), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, file, flag, env string
		want                  string
	}{
		{"file", configdata + "minimal.good.yaml", "", "", "127.0.0.1:9092"},
		{"env over file", configdata + "minimal.good.yaml", "", "k-env:9092", "k-env:9092"},
		{"flag over env", configdata + "minimal.good.yaml", "k-flag:9092", "k-env:9092", "k-flag:9092"},
		{"env for a file without brokers", noBroker, "", "a:1, b:2", "a:1,b:2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{"WOLKVOX_TOKEN": "t", "WOLKVOX_KAFKA_BROKERS": tt.env}
			env := &environment{stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string { return vars[k] }}
			o := overrides{config: tt.file, brokers: tt.flag}
			s, err := o.load(env)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(s.Kafka.Brokers, ","); got != tt.want {
				t.Errorf("brokers %q, want %q", got, tt.want)
			}
		})
	}
}

// TestValidateAndRunAgree runs validate and run's loading (the settings, then the
// worker and REST API built from them, everything run does before any I/O) over every
// file of source/config/testdata and both examples: whatever run refuses validate reports, and the
// other way round, with the same fields.
func TestValidateAndRunAgree(t *testing.T) {
	files, err := filepath.Glob(configdata + "*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	examples, err := filepath.Glob("../../deploy/examples/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	envs := []struct {
		name string
		env  map[string]string
	}{
		{"env", testEnv},
		{"no env", nil},
		{"bad rest address from the environment", withEnv(config.EnvRESTAddress, "nowhere")},
		{"bad log level from the environment", withEnv(config.EnvLogLevel, "loud")},
		{"open rest address from the environment", withEnv(config.EnvRESTAddress, "0.0.0.0:8083")},
	}
	for _, file := range append(files, examples...) {
		for _, e := range envs {
			t.Run(filepath.Base(file)+"/"+e.name, func(t *testing.T) {
				code, out, _ := runCLI(t, e.env, "validate", "--config", file)
				env := &environment{stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string { return e.env[k] }}
				o := overrides{config: file}
				s, runErr := o.load(env)
				if runErr == nil {
					_, runErr = prepareRun(s, io.Discard)
				}
				switch {
				case code == 0 && runErr != nil:
					t.Fatalf("validate accepts the file, run refuses it: %v", runErr)
				case code != 0 && runErr == nil:
					t.Fatalf("run accepts the file, validate refuses it:\n%s", out)
				case code != 0 && code != 1:
					t.Fatalf("validate exit %d", code)
				}
				var ce *config.Error
				if runErr != nil && !errors.As(runErr, &ce) {
					t.Fatalf("run refuses with %v (%T), not a configuration problem validate would list with its field", runErr, runErr)
				}
				if ce != nil {
					for _, p := range ce.Problems {
						if !strings.Contains(out, p.FieldError.Error()) {
							t.Errorf("validate does not report run's %q:\n%s", p.FieldError.Error(), out)
						}
					}
				}
				if s != nil {
					for _, w := range s.Warnings {
						if !strings.Contains(out, "warning: "+w.Field) {
							t.Errorf("validate does not show the warning on %s:\n%s", w.Field, out)
						}
					}
				}
			})
		}
	}
}

func withEnv(k, v string) map[string]string {
	env := maps.Clone(testEnv)
	env[k] = v
	return env
}

// TestRunWarns: run logs the warnings validate prints, here a REST API open to the
// network without a token; it starts anyway.
func TestRunWarns(t *testing.T) {
	var log bytes.Buffer
	env := &environment{stdout: io.Discard, stderr: &log, getenv: getenv}
	o := overrides{config: configdata + "minimal.good.yaml", restAddress: ":8083"}
	s, err := o.load(env)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Warnings) != 1 || s.Warnings[0].Field != "rest.address" || !strings.Contains(s.Warnings[0].Problem, "--rest-address") {
		t.Fatalf("warnings %v, want one on rest.address naming --rest-address", s.Warnings)
	}
}
