package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/wolkvox-connect/wolkvox-connect/schemas"
)

// schemasCommand is "wolkvox-connect schemas".
func schemasCommand() command {
	return command{
		name:    "schemas",
		summary: "List, show and check the Avro schemas of the reports",
		usage: "list|show|check [flags]\n\n" +
			"  list          every report's record name, fingerprint and kept versions\n" +
			"  show REPORT   the report's .avsc (what a schema registry gets)\n" +
			"  check         prove every schema can read data written with its older versions\n\n" +
			"Run 'wolkvox-connect schemas ACTION --help' for an action's flags.",
		example: "wolkvox-connect schemas show diagram_13",
		run:     runSchemas,
	}
}

func runSchemas(_ context.Context, env *environment, fs *pflag.FlagSet, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		return fmt.Errorf("%w: missing action: list, show or check", errUsage)
	}
	actions := schemasActions()
	i := slices.IndexFunc(actions, func(a command) bool { return a.name == "schemas "+args[0] })
	if i < 0 {
		return fmt.Errorf("%w: unknown action %q: want list, show or check", errUsage, args[0])
	}
	a := actions[i]
	afs := newFlagSet(env, a)
	dir := afs.String("dir", "", "read schemas from this directory (laid out like schemas/avro) instead of the built-in ones")
	var run func(*schemas.Set, []string) error
	switch args[0] {
	case "list":
		asJSON := afs.Bool("json", false, "print JSON instead of a table")
		run = func(set *schemas.Set, rest []string) error { return schemasList(env, set, rest, *asJSON) }
	case "show":
		version := afs.Int("version", 0, "print kept version N instead of the current schema")
		canonical := afs.Bool("canonical", false, "print the Parsing Canonical Form (what the fingerprint is computed over)")
		run = func(set *schemas.Set, rest []string) error { return schemasShow(env, set, rest, *version, *canonical) }
	case "check":
		run = func(set *schemas.Set, rest []string) error { return schemasCheck(env, set, rest) }
	}
	if err := parseFlags(afs, args[1:]); err != nil {
		return err
	}
	set, err := loadSchemaSet(*dir)
	if err != nil {
		return err
	}
	return run(set, afs.Args())
}

// schemasActions describes the actions for their --help; runSchemas does the work.
func schemasActions() []command {
	return []command{
		{name: "schemas list", summary: "List every report's Avro record name, fingerprint (CRC-64-AVRO, hex) and number of kept versions", usage: "[--json] [--dir DIR]", example: "wolkvox-connect schemas list --json"},
		{name: "schemas show", summary: "Print a report's Avro schema", usage: "REPORT [--version N] [--canonical] [--dir DIR]", example: "wolkvox-connect schemas show diagram_13 --version 1"},
		{name: "schemas check", summary: "Check that every report's schema can read data written with each of its kept versions (BACKWARD compatibility); exits 1 on failure", usage: "[--dir DIR]", example: "wolkvox-connect schemas check --dir schemas/avro"},
	}
}

func loadSchemaSet(dir string) (*schemas.Set, error) {
	if dir == "" {
		return schemas.Embedded()
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("%w: --dir: %w", errUsage, err)
	}
	return schemas.Load(os.DirFS(dir))
}

func noArgs(args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, args[0])
	}
	return nil
}

func schemasList(env *environment, set *schemas.Set, args []string, asJSON bool) error {
	if err := noArgs(args); err != nil {
		return err
	}
	if asJSON {
		return writeJSON(env.stdout, set.Summaries())
	}
	return set.WriteTable(env.stdout)
}

func schemasShow(env *environment, set *schemas.Set, args []string, version int, canonical bool) error {
	if len(args) != 1 {
		return fmt.Errorf("%w: want exactly one REPORT", errUsage)
	}
	sc, ok := set.Lookup(args[0])
	if !ok {
		return fmt.Errorf("%w: no schema for report %q (see 'wolkvox-connect schemas list')", errUsage, args[0])
	}
	text, canon := sc.Text, sc.Canonical
	if version != 0 {
		v, ok := sc.Version(version)
		if !ok {
			return fmt.Errorf("%w: %s has versions 1 to %d, not %d", errUsage, sc.Report, len(sc.Versions), version)
		}
		text, canon = v.Text, v.Canonical
	}
	if canonical {
		_, err := fmt.Fprintln(env.stdout, canon)
		return err
	}
	_, err := fmt.Fprint(env.stdout, text)
	return err
}

func schemasCheck(env *environment, set *schemas.Set, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	return set.WriteCheck(env.stdout)
}
