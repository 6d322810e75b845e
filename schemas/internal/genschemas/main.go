// Command genschemas writes the Avro schemas of every catalog report into schemas/avro:
// <api>.avsc (current) and, when the wire form (the Parsing Canonical Form) changed, a new
// history/<api>.v<N>.avsc. It never rewrites or deletes a history file, and removes the
// current schema of a report that left the catalog (its history stays).
//
// Run it through go generate in the schemas directory: go generate ./schemas
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/linkedin/goavro/v2"

	"github.com/wolkvox-connect/wolkvox-connect/schemas"
	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
)

func main() {
	dir := flag.String("dir", schemas.Dir, "directory to write the schemas into")
	flag.Parse()
	if err := run(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "genschemas:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, "history"), 0o755); err != nil {
		return err
	}
	keep := map[string]bool{}
	written, versions := 0, 0
	for i := range catalog.All() {
		rep := &catalog.All()[i]
		text, err := schemas.Generate(rep)
		if err != nil {
			return err
		}
		if _, err := goavro.NewCodec(string(text)); err != nil {
			return fmt.Errorf("generated schema of %s does not compile: %w", rep.API, err)
		}
		canon, err := schemas.CanonicalForm(string(text))
		if err != nil {
			return err
		}
		file := rep.API + ".avsc"
		keep[file] = true
		if err := writeIfChanged(filepath.Join(dir, file), text); err != nil {
			return err
		}
		written++
		added, err := recordHistory(dir, rep.API, text, canon)
		if err != nil {
			return err
		}
		if added {
			versions++
		}
	}
	old, err := filepath.Glob(filepath.Join(dir, "*.avsc"))
	if err != nil {
		return err
	}
	for _, f := range old {
		if !keep[filepath.Base(f)] {
			if err := os.Remove(f); err != nil {
				return err
			}
		}
	}
	fmt.Printf("genschemas: %d schemas in %s, %d new history versions\n", written, dir, versions)
	return nil
}

// recordHistory appends text as the next version of api unless the last kept version
// has the same canonical form (a doc-only change does not make a new version).
func recordHistory(dir, api string, text []byte, canonical string) (bool, error) {
	last := 0
	for n := 1; ; n++ {
		if _, err := os.Stat(historyFile(dir, api, n)); err != nil {
			break
		}
		last = n
	}
	if last > 0 {
		prev, err := os.ReadFile(historyFile(dir, api, last))
		if err != nil {
			return false, err
		}
		prevCanon, err := schemas.CanonicalForm(string(prev))
		if err != nil {
			return false, fmt.Errorf("history %s: %w", historyFile(dir, api, last), err)
		}
		if prevCanon == canonical {
			return false, nil
		}
	}
	return true, os.WriteFile(historyFile(dir, api, last+1), text, 0o644)
}

func historyFile(dir, api string, n int) string {
	return filepath.Join(dir, "history", fmt.Sprintf("%s.v%d.avsc", api, n))
}

func writeIfChanged(path string, b []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, b) {
		return nil
	}
	return os.WriteFile(path, b, 0o644)
}
