package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wolkvox-connect/wolkvox-connect/schemas"
	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
)

// TestRunKeepsHistory runs the generator into a fresh directory and again over its own
// output: the first run writes every schema and its v1, a rerun adds nothing, a change of
// the wire form adds v2 (and keeps v1 byte for byte), a doc-only change adds nothing, and
// the current schema of a report that left the catalog is removed, its history kept.
func TestRunKeepsHistory(t *testing.T) {
	dir := t.TempDir()
	if err := run(dir); err != nil {
		t.Fatal(err)
	}
	n := len(catalog.All())
	current, _ := filepath.Glob(filepath.Join(dir, "*.avsc"))
	history, _ := filepath.Glob(filepath.Join(dir, "history", "*.v1.avsc"))
	if len(current) != n || len(history) != n {
		t.Fatalf("first run: %d current schemas and %d v1 files, want %d each", len(current), len(history), n)
	}
	rep, _ := catalog.Lookup("chat_3")
	want, err := schemas.Generate(rep)
	if err != nil {
		t.Fatal(err)
	}
	if got := read(t, dir, "chat_3.avsc"); !bytes.Equal(got, want) {
		t.Fatal("chat_3.avsc is not what Generate returns")
	}

	// An older wire form as v1, a doc-only edit of another report's v1, and a report
	// that is no longer in the catalog.
	older := strings.Replace(string(want), `"name": "wv_row_id"`, `"name": "wv_row_key"`, 1)
	write(t, dir, "history/chat_3.v1.avsc", older)
	docEdit := strings.Replace(string(read(t, dir, "history/act_3.v1.avsc")), `"doc": "`, `"doc": "Old words. `, 1)
	write(t, dir, "history/act_3.v1.avsc", docEdit)
	write(t, dir, "gone_1.avsc", strings.ReplaceAll(string(want), "chat_3", "gone_1"))
	write(t, dir, "history/gone_1.v1.avsc", strings.ReplaceAll(string(want), "chat_3", "gone_1"))
	if err := run(dir); err != nil {
		t.Fatal(err)
	}
	if got := string(read(t, dir, "history/chat_3.v1.avsc")); got != older {
		t.Error("the old chat_3 v1 was rewritten")
	}
	if got := read(t, dir, "history/chat_3.v2.avsc"); !bytes.Equal(got, want) {
		t.Error("a changed wire form did not add chat_3 v2 equal to the current schema")
	}
	if _, err := os.Stat(filepath.Join(dir, "history", "act_3.v2.avsc")); err == nil {
		t.Error("a doc-only difference added act_3 v2")
	}
	if _, err := os.Stat(filepath.Join(dir, "gone_1.avsc")); err == nil {
		t.Error("the current schema of a report that left the catalog was kept")
	}
	if _, err := os.Stat(filepath.Join(dir, "history", "gone_1.v1.avsc")); err != nil {
		t.Errorf("the history of a report that left the catalog was removed: %v", err)
	}
	all, _ := filepath.Glob(filepath.Join(dir, "history", "*.avsc"))
	if len(all) != n+2 {
		t.Errorf("%d history files, want %d (every v1, chat_3 v2, gone_1 v1)", len(all), n+2)
	}
}

func read(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func write(t *testing.T, dir, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
