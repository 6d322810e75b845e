package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/wolkvox-connect/wolkvox-connect/schemas"
)

// runSchemasCLI runs the CLI as main does and returns its exit code and outputs.
func runSchemasCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := &environment{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
	code = runMain(context.Background(), env, args)
	return code, out.String(), errOut.String()
}

const fixtures = "../../schemas/testdata/compat/"

func TestSchemasCommand(t *testing.T) {
	avsc, err := os.ReadFile("../../schemas/avro/diagram_13.avsc")
	if err != nil {
		t.Fatal(err)
	}
	// The kept v1, not the current file: a doc-only change rewrites the current
	// schema but adds no version, and then the two differ.
	v1, err := os.ReadFile("../../schemas/avro/history/diagram_13.v1.avsc")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		args        []string
		code        int
		stdout      []string // substrings, in no particular order
		stderr      []string
		exactStdout string
	}{
		{name: "list", args: []string{"schemas", "list"}, stdout: []string{"REPORT", "diagram_13  ", "com.wolkvox.reports.Diagram13", "com.wolkvox.reports.Diagram1_3", "chat_3"}},
		{name: "show", args: []string{"schemas", "show", "diagram_13"}, exactStdout: string(avsc)},
		{name: "show v1", args: []string{"schemas", "show", "diagram_13", "--version", "1"}, exactStdout: string(v1)},
		{name: "show canonical", args: []string{"schemas", "show", "chat_3", "--canonical"}, stdout: []string{`{"name":"com.wolkvox.reports.Chat3","type":"record","fields":[{"name":"wv_operation","type":"string"}`}},
		{name: "show missing version", args: []string{"schemas", "show", "chat_3", "--version", "9"}, code: 2, stderr: []string{"versions 1 to 1"}},
		{name: "show unknown report", args: []string{"schemas", "show", "nope"}, code: 2, stderr: []string{`no schema for report "nope"`}},
		{name: "show without report", args: []string{"schemas", "show"}, code: 2, stderr: []string{"exactly one REPORT"}},
		{name: "check", args: []string{"schemas", "check"}, stdout: []string{"ok: 104 schemas, 104 kept versions"}},
		{name: "check compatible evolution", args: []string{"schemas", "check", "--dir", fixtures + "evolved"}, stdout: []string{"ok: 1 schemas, 2 kept versions"}},
		{name: "check new field without default", args: []string{"schemas", "check", "--dir", fixtures + "newfield"}, code: 1, stderr: []string{"report diagram_13 v1", "Diagram13.queue_position", "field added without a default"}},
		{name: "check type change", args: []string{"schemas", "check", "--dir", fixtures + "typechange"}, code: 1, stderr: []string{"Diagram13.second_event", "writer's long cannot be read as any of the reader's null | string"}},
		{name: "check stale history", args: []string{"schemas", "check", "--dir", fixtures + "stale"}, code: 1, stderr: []string{"go generate ./schemas"}},
		{name: "check missing dir", args: []string{"schemas", "check", "--dir", "/nonexistent"}, code: 2, stderr: []string{"--dir", "/nonexistent"}},
		{name: "no action", args: []string{"schemas"}, code: 2, stderr: []string{"missing action"}},
		{name: "unknown action", args: []string{"schemas", "drop"}, code: 2, stderr: []string{`unknown action "drop"`}},
		{name: "help", args: []string{"schemas", "--help"}, stdout: []string{"list|show|check", "Example:", "wolkvox-connect schemas show diagram_13"}},
		{name: "list help", args: []string{"schemas", "list", "--help"}, stdout: []string{"--json", "Example:", "schemas list --json"}},
		{name: "show help", args: []string{"schemas", "show", "--help"}, stdout: []string{"--canonical", "--version", "Example:"}},
		{name: "check help", args: []string{"schemas", "check", "--help"}, stdout: []string{"--dir", "BACKWARD", "Example:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runSchemasCLI(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out, errOut)
			}
			if tt.exactStdout != "" && out != tt.exactStdout {
				t.Errorf("stdout differs from the .avsc file:\n%s", out)
			}
			for _, s := range tt.stdout {
				if !strings.Contains(out, s) {
					t.Errorf("stdout lacks %q:\n%s", s, out)
				}
			}
			for _, s := range tt.stderr {
				if !strings.Contains(errOut, s) {
					t.Errorf("stderr lacks %q:\n%s", s, errOut)
				}
			}
		})
	}
}

func TestSchemasListJSON(t *testing.T) {
	code, out, errOut := runSchemasCLI(t, "schemas", "list", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rows []struct {
		Report, Record, Fingerprint string
		Versions                    int
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 104 {
		t.Fatalf("%d reports listed, want 104", len(rows))
	}
	set, err := schemas.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		sc, ok := set.Lookup(r.Report)
		if !ok || r.Record != sc.Name || r.Fingerprint != fmt.Sprintf("%016x", sc.Fingerprint) || r.Versions != len(sc.Versions) || r.Versions < 1 {
			t.Errorf("row %+v does not describe the embedded schema of %q", r, r.Report)
		}
	}
}
