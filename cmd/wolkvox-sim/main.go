// Command wolkvox-sim serves a simulated Wolkvox Reports Manager API (package
// source/simulator) on a local address, with a virtual clock that can run faster than
// real time, a daily quota and injected faults, until SIGINT or SIGTERM.
//
//	go run ./cmd/wolkvox-sim --speed 60 --fault-503 0.05
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/wolkvox-connect/wolkvox-connect/source/simulator"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil)
	stop()
	switch {
	case err == nil, errors.Is(err, pflag.ErrHelp):
	case errors.Is(err, errUsage):
		fmt.Fprintf(os.Stderr, "wolkvox-sim: %v\nrun 'wolkvox-sim --help' for usage\n", err)
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "wolkvox-sim: %v\n", err)
		os.Exit(1)
	}
}

// errUsage marks a command-line mistake (exit status 2).
var errUsage = errors.New("usage")

// parseFlags parses the simulator's flags and --log-level.
func parseFlags(args []string, stderr io.Writer) (*simulator.Flags, string, error) {
	fs := pflag.NewFlagSet("wolkvox-sim", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	f := simulator.AddFlags(fs)
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "wolkvox-sim serves a simulated Wolkvox Reports Manager API.\n\nUsage: wolkvox-sim [flags]\n\nFlags:\n%s\nExample:\n  wolkvox-sim --speed 60 --quota 3000 --fault-503 0.05\n", fs.FlagUsages())
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil, "", err
		}
		return nil, "", fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() > 0 {
		return nil, "", fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	return f, *logLevel, nil
}

// run serves until ctx is done. ready, when not nil, receives the base URL once the
// server listens (tests use it).
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready chan<- string) error {
	f, logLevel, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("%w: --log-level: %w", errUsage, err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	var srv *simulator.Server
	opts, clock, loc, err := f.Opts(logger)
	if err == nil {
		srv, err = simulator.New(opts...)
	}
	if err != nil {
		if errors.Is(err, simulator.ErrInvalidConfig) {
			return fmt.Errorf("%w: %w", errUsage, err)
		}
		return err
	}
	if err := srv.Start(ctx); err != nil {
		return err
	}
	url := srv.URL()
	now := clock.Now().In(loc)
	end := now.Truncate(time.Hour)
	fmt.Fprintf(stdout, "wolkvox-sim listening on %s (virtual time %s, speed %g×)\n\n", url,
		now.Format(time.DateTime), f.Speed)
	fmt.Fprintf(stdout, "  curl -s -H 'wolkvox-token: %s' '%s%s?api=diagram_13&date_ini=%s&date_end=%s'\n",
		f.Tokens[0], url, simulator.ReportsPath, end.Add(-time.Hour).Format("20060102150405"), end.Add(-time.Second).Format("20060102150405"))
	fmt.Fprintf(stdout, "  curl -s %s/_sim/stats\n\n", url)
	fmt.Fprintln(stdout, strings.Repeat("-", 20), "Ctrl-C to stop")
	if ready != nil {
		ready <- url
	}
	<-ctx.Done()
	return srv.Close()
}
