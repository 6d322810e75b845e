package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/wolkvox-connect/wolkvox-connect/source/config"
)

// The in-process tests read configuration files with a virtual clock, as the testclock
// build of the binary does; TestProductionRefusesClock runs a build without it.
func init() { config.AllowVirtualClock() }

// configdata holds the configuration files of source/config's tests; the command
// tests read them too.
const configdata = "../../source/config/testdata/"

// testEnv is the environment the configdata and example files are checked with, as in
// source/config's tests.
var testEnv = map[string]string{
	"WOLKVOX_TOKEN":      "tok-env-secret-1",
	"WOLKVOX_TOKEN_CO":   "tok-co-secret-2",
	"WOLKVOX_TOKEN_PE":   "tok-pe-secret-3",
	"SR_PASSWORD":        "sr-pass-secret-4",
	"WOLKVOX_REST_TOKEN": "rest-secret-5",
	"REST_SUFFIX":        "suffix-secret-6",
}

func getenv(name string) string { return testEnv[name] }

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

// helpArgs are the argument lists that ask every command and action for its help.
func helpArgs() [][]string {
	var all [][]string
	for _, c := range commands() {
		all = append(all, []string{c.name, "--help"})
	}
	for _, a := range append(offsetsActions(), schemasActions()...) {
		all = append(all, append(strings.Fields(a.name), "--help"))
	}
	return all
}

// TestHelpGoesToStdout: help asked for is output, so "run --help | less" shows it; it
// exits 0 and writes nothing to stderr, for every command and action.
func TestHelpGoesToStdout(t *testing.T) {
	cases := append(helpArgs(), []string{"help"}, []string{"--help"}, []string{"-h"}, nil, []string{"help", "run"}, []string{"run", "-h"})
	for _, args := range cases {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, out, errOut := runCLI(t, nil, args...)
			if code != 0 || errOut != "" || !strings.Contains(out, "wolkvox-connect") || !strings.Contains(out, "Usage:") {
				t.Errorf("exit %d, want 0 with the help on stdout and nothing on stderr\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
		})
	}
}

// TestHelpUnknownCommand: help about a command that does not exist is a usage error.
func TestHelpUnknownCommand(t *testing.T) {
	code, out, errOut := runCLI(t, nil, "help", "nope")
	checkCLI(t, code, out, errOut, 2, nil, []string{`unknown command "nope"`, "Commands:"})
}

var flagLineRE = regexp.MustCompile(`^\s+(?:-([a-zA-Z]), )?--([a-z][a-z0-9-]*)`)

// TestShortFlagsAgree: a short flag means the same long flag in every command, and
// every command that takes --config takes -c.
func TestShortFlagsAgree(t *testing.T) {
	short := map[string]string{} // long name → short letter, "" for none
	where := map[string]string{} // long name → the command it was first seen in
	configs := 0
	for _, args := range helpArgs() {
		cmd := strings.Join(args[:len(args)-1], " ")
		_, out, _ := runCLI(t, nil, args...)
		_, flags, _ := strings.Cut(out, "\nFlags:\n")
		flags, _, _ = strings.Cut(flags, "\nExample:")
		for line := range strings.Lines(flags) {
			m := flagLineRE.FindStringSubmatch(line)
			if m == nil || m[2] == "help" {
				continue
			}
			letter, long := m[1], m[2]
			if long == "config" {
				configs++
				if letter != "c" {
					t.Errorf("%s: --config has no -c", cmd)
				}
			}
			if prev, seen := short[long]; seen && prev != letter {
				t.Errorf("--%s is -%s in %s but -%s in %s", long, prev, where[long], letter, cmd)
			}
			if _, seen := short[long]; !seen {
				short[long], where[long] = letter, cmd
			}
		}
	}
	byLetter := map[string]string{}
	for long, letter := range short {
		if other, dup := byLetter[letter]; dup && letter != "" {
			t.Errorf("-%s means both --%s and --%s", letter, other, long)
		}
		byLetter[letter] = long
	}
	if configs < 7 {
		t.Errorf("--config found in %d commands, want run, backfill, validate, tail and the three offsets actions", configs)
	}
}

// TestShortConfigFlag: -c works wherever --config does, run included.
func TestShortConfigFlag(t *testing.T) {
	tests := []struct {
		args []string
		want string // on stderr: the command got past flag parsing and read the file
	}{
		{[]string{"run", "-c", "testdata/nope.yaml"}, "testdata/nope.yaml"},
		{[]string{"backfill", "-c", "testdata/nope.yaml"}, "testdata/nope.yaml"},
		{[]string{"validate", "-c", "testdata/nope.yaml"}, "testdata/nope.yaml"},
		{[]string{"offsets", "list", "-c", "testdata/nope.yaml"}, "testdata/nope.yaml"},
		{[]string{"tail", "-c", "testdata/nope.yaml", "--report", "diagram_13"}, "testdata/nope.yaml"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := runCLI(t, nil, tt.args...)
			checkCLI(t, code, out, errOut, 1, nil, []string{"no such file", tt.want})
		})
	}
}
