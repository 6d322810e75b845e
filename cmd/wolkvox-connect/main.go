// Command wolkvox-connect streams every report of a Wolkvox contact-center operation into
// Kafka, exactly once. Run "wolkvox-connect help" for the subcommands.
//
// This package only wires: each subcommand lives in its own file, listed in [commands];
// the configuration file is read by source/config, and the work is done by the source,
// schemas, sink and offsets packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/wolkvox-connect/wolkvox-connect/source"
)

// version is set at build time: go build -ldflags "-X main.version=v1.2.3" (make build,
// the Dockerfile). A build without it (go install ...@v1.2.3, a plain go build) takes the
// version the go command recorded instead: see resolveVersion.
var version = "dev"

// command is one subcommand. run receives the arguments after the subcommand's name.
type command struct {
	name    string
	summary string
	// usage is the line after "wolkvox-connect <name>", and example a command that works.
	usage   string
	example string
	// run registers its flags on fs (whose --help shows usage and example), parses args
	// with parseFlags and does the work.
	run func(ctx context.Context, env *environment, fs *pflag.FlagSet, args []string) error
	// actions, when set, are the command's own subcommands ("offsets list"), each named
	// after it; the first argument picks one, and run is not used.
	actions []command
}

// environment is what a subcommand may touch of the process, so tests can run them.
type environment struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

// commands are the subcommands (help lists them by name).
func commands() []command {
	return []command{
		runCommand(), validateCommand(), demoCommand(), backfillCommand(), offsetsCommand(),
		tailCommand(), reportsCommand(), schemasCommand(), versionCommand(), replayCommand(),
	}
}

// errUsage marks an error that is the user's to fix on the command line: it is printed
// with the subcommand's usage and exits 2.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	env := &environment{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	code := runMain(ctx, env, os.Args[1:])
	stop()
	os.Exit(code)
}

// runMain dispatches to a subcommand and returns the process exit code.
func runMain(ctx context.Context, env *environment, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			c, ok := lookupCommand(args[1])
			if !ok {
				fmt.Fprintf(env.stderr, "wolkvox-connect help: unknown command %q\n\n", args[1])
				printHelp(env.stderr)
				return 2
			}
			return execute(ctx, env, c, []string{"--help"})
		}
		printHelp(env.stdout)
		return 0
	}
	if args[0] == "--version" {
		args[0] = "version"
	}
	c, ok := lookupCommand(args[0])
	if !ok {
		fmt.Fprintf(env.stderr, "wolkvox-connect: unknown command %q\n\n", args[0])
		printHelp(env.stderr)
		return 2
	}
	return execute(ctx, env, c, args[1:])
}

func execute(ctx context.Context, env *environment, c command, args []string) int {
	err := c.dispatch(ctx, env, args)
	switch {
	case err == nil, errors.Is(err, pflag.ErrHelp):
		return 0
	case errors.Is(err, source.ErrAllConnectorsFailed):
		fmt.Fprintf(env.stderr, "wolkvox-connect %s: %v\n", c.name, err)
		return exitAllFailed
	case errors.Is(err, errUsage):
		fmt.Fprintf(env.stderr, "wolkvox-connect %s: %v\nrun 'wolkvox-connect %s --help' for usage\n", c.name, err, c.name)
		return 2
	default:
		fmt.Fprintf(env.stderr, "wolkvox-connect %s: %v\n", c.name, err)
		return 1
	}
}

// dispatch runs c, or the action of c that args name first.
func (c command) dispatch(ctx context.Context, env *environment, args []string) error {
	if len(c.actions) == 0 {
		return c.run(ctx, env, newFlagSet(env, c), args)
	}
	names := make([]string, len(c.actions))
	for i, a := range c.actions {
		names[i] = strings.TrimPrefix(a.name, c.name+" ")
	}
	want := strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if err := parseFlags(newFlagSet(env, c), args); err != nil {
			return err
		}
		return fmt.Errorf("%w: missing action: %s", errUsage, want)
	}
	i := slices.Index(names, args[0])
	if i < 0 {
		return fmt.Errorf("%w: unknown action %q: want %s", errUsage, args[0], want)
	}
	a := c.actions[i]
	return a.run(ctx, env, newFlagSet(env, a), args[1:])
}

func lookupCommand(name string) (command, bool) {
	all := commands()
	i := slices.IndexFunc(all, func(c command) bool { return c.name == name })
	if i < 0 {
		return command{}, false
	}
	return all[i], true
}

func printHelp(w io.Writer) {
	fmt.Fprintf(w, "wolkvox-connect %s streams Wolkvox contact-center reports into Kafka, exactly once.\n\n", version)
	fmt.Fprintln(w, "Usage: wolkvox-connect <command> [flags]")
	fmt.Fprintln(w, "\nCommands:")
	sorted := commands()
	slices.SortFunc(sorted, func(a, b command) int { return strings.Compare(a.name, b.name) })
	for _, c := range sorted {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'wolkvox-connect <command> --help' for a command's flags and an example.")
}

// newFlagSet returns a flag set whose --help prints the command's usage and example to
// stdout: help asked for is the output, so "run --help | less" shows it. Parse errors
// go to stderr (execute prints them); with ContinueOnError pflag calls Usage only
// for --help.
//
// Short flags are the same in every command: -c is --config wherever there is one (see
// configFlag), and no letter means two things (TestShortFlagsAgree checks it).
func newFlagSet(env *environment, c command) *pflag.FlagSet {
	fs := pflag.NewFlagSet(c.name, pflag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.stdout, "%s\n\nUsage: wolkvox-connect %s %s\n", c.summary, c.name, c.usage)
		if fs.HasFlags() {
			fmt.Fprintf(env.stdout, "\nFlags:\n%s", fs.FlagUsages())
		}
		if c.example != "" {
			fmt.Fprintf(env.stdout, "\nExample:\n  %s\n", c.example)
		}
	}
	return fs
}

// configFlag registers --config (-c) on fs, defaulting to def.
func configFlag(fs *pflag.FlagSet, into *string, def, usage string) {
	fs.StringVarP(into, "config", "c", def, usage)
}

// parseFlags parses args, turning a parse failure into errUsage.
func parseFlags(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}
