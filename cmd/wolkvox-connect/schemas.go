package main

import (
	"context"
	"fmt"
	"os"

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
		actions: schemasActions(),
	}
}

// schemasActions are the schemas actions.
func schemasActions() []command {
	return []command{
		{name: "schemas list", summary: "List every report's Avro record name, fingerprint (CRC-64-AVRO, hex) and number of kept versions", usage: "[--json] [--dir DIR]", example: "wolkvox-connect schemas list --json",
			run: schemasRun(0, func(fs *pflag.FlagSet, env *environment) schemasAction {
				asJSON := fs.Bool("json", false, "print JSON instead of a table")
				return func(set *schemas.Set, _ []string) error {
					if *asJSON {
						return writeJSON(env.stdout, set.Summaries())
					}
					return set.WriteTable(env.stdout)
				}
			})},
		{name: "schemas show", summary: "Print a report's Avro schema", usage: "REPORT [--version N] [--canonical] [--dir DIR]", example: "wolkvox-connect schemas show diagram_13 --version 1",
			run: schemasRun(1, func(fs *pflag.FlagSet, env *environment) schemasAction {
				version := fs.Int("version", 0, "print kept version N instead of the current schema")
				canonical := fs.Bool("canonical", false, "print the Parsing Canonical Form (what the fingerprint is computed over)")
				return func(set *schemas.Set, args []string) error {
					sc, ok := set.Lookup(args[0])
					if !ok {
						return fmt.Errorf("%w: no schema for report %q (see 'wolkvox-connect schemas list')", errUsage, args[0])
					}
					text, err := sc.Show(*version, *canonical)
					if err != nil {
						return fmt.Errorf("%w: %v", errUsage, err)
					}
					_, err = fmt.Fprint(env.stdout, text)
					return err
				}
			})},
		{name: "schemas check", summary: "Check that every report's schema can read data written with each of its kept versions (BACKWARD compatibility); exits 1 on failure", usage: "[--dir DIR]", example: "wolkvox-connect schemas check --dir schemas/avro",
			run: schemasRun(0, func(_ *pflag.FlagSet, env *environment) schemasAction {
				return func(set *schemas.Set, _ []string) error { return set.WriteCheck(env.stdout) }
			})},
	}
}

// schemasAction is what a schemas action does with the schema set and its arguments.
type schemasAction func(set *schemas.Set, args []string) error

// schemasRun is the run of a schemas action taking nargs arguments: --dir, its own
// flags (which flags adds, returning what it does) and the schema set.
func schemasRun(nargs int, flags func(*pflag.FlagSet, *environment) schemasAction) func(context.Context, *environment, *pflag.FlagSet, []string) error {
	return func(_ context.Context, env *environment, fs *pflag.FlagSet, args []string) error {
		dir := fs.String("dir", "", "read schemas from this directory (laid out like schemas/avro) instead of the built-in ones")
		run := flags(fs, env)
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		switch {
		case nargs == 1 && fs.NArg() != 1:
			return fmt.Errorf("%w: want exactly one REPORT", errUsage)
		case nargs == 0 && fs.NArg() > 0:
			return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
		}
		load := schemas.Embedded
		if *dir != "" {
			if _, err := os.Stat(*dir); err != nil {
				return fmt.Errorf("%w: --dir: %w", errUsage, err)
			}
			load = func() (*schemas.Set, error) { return schemas.Load(os.DirFS(*dir)) }
		}
		set, err := load()
		if err != nil {
			return err
		}
		return run(set, fs.Args())
	}
}
