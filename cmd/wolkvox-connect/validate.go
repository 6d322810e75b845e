package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/wolkvox-connect/wolkvox-connect/source/config"
)

// validateCommand is "wolkvox-connect validate".
func validateCommand() command {
	return command{
		name:    "validate",
		summary: "Check a configuration file and print its daily call plan per token",
		usage:   "--config FILE [--probe]",
		example: "WOLKVOX_TOKEN=... wolkvox-connect validate --config deploy/examples/one-operation.yaml --probe",
		run:     runValidate,
	}
}

// errProblems is returned by validate when the configuration or its quota plan has
// problems; they are printed before it, one per line.
var errProblems = errors.New("configuration has problems")

// errProbeFailed is returned by validate --probe when the file is valid but a probe
// failed: the API could not be reached, refused the token, or showed a smaller quota.
var errProbeFailed = errors.New("probe failed")

// runValidate prints every problem of the file, one per line with its line number,
// field, problem and fix, and fails; or prints "config OK" and each token's quota plan.
// With --probe it then makes one token_info call per connector (one call of each
// token's budget) and prints the token's limit and use, or the classified error.
func runValidate(ctx context.Context, env *environment, fs *pflag.FlagSet, args []string) error {
	var path string
	configFlag(fs, &path, env.getenv("WOLKVOX_CONNECT_CONFIG"), "configuration file (YAML; env WOLKVOX_CONNECT_CONFIG); see deploy/examples")
	probe := fs.Bool("probe", false, "also call token_info once per connector (costs one call each) to check server and token")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case path == "":
		return fmt.Errorf("%w: --config FILE is required (or WOLKVOX_CONNECT_CONFIG)", errUsage)
	case fs.NArg() > 0:
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	s, err := config.Load(path, env.getenv)
	var ce *config.Error
	if errors.As(err, &ce) {
		for _, p := range ce.Problems {
			fmt.Fprintln(env.stdout, p.At(path))
		}
		return fmt.Errorf("%s: %d problem(s): %w", path, len(ce.Problems), errProblems)
	}
	if err != nil {
		return err
	}
	reports := 0
	for _, c := range s.Connectors {
		reports += len(c.Config.Reports)
	}
	for _, w := range s.Warnings {
		fmt.Fprintln(env.stdout, w.WarningAt(path))
	}
	fmt.Fprintf(env.stdout, "config OK: %s (%d connector(s), %d report(s))\n", path, len(s.Connectors), reports)
	s.WritePlans(env.stdout)
	if !*probe {
		return nil
	}
	if failed := probeTokens(ctx, env.stdout, s); len(failed) > 0 {
		return fmt.Errorf("%s: the configuration is valid, but %d %w: %s", path, len(failed), errProbeFailed, strings.Join(failed, "; "))
	}
	return nil
}

// probeTokens calls token_info once per connector and prints the outcome; it returns
// one line per probe that failed or showed a quota the token does not have: the
// connector and why.
func probeTokens(ctx context.Context, w io.Writer, s *config.Settings) []string {
	var failed []string
	fmt.Fprintln(w)
	for i, p := range s.Probe(ctx) {
		if p.Err != nil {
			failed = append(failed, fmt.Sprintf("connector %s (%s): %s", p.Connector, p.Class, p.Reason))
			fmt.Fprintf(w, "probe %s: FAILED (%s): %s\n  fix: %s\n", p.Connector, p.Class, p.Text, p.Fix)
			continue
		}
		fmt.Fprintf(w, "probe %s: token_limit %d, token_use_today %d (%d left today)\n", p.Connector, p.Info.Limit, p.Info.UsedToday, p.Info.Remaining())
		if p.OverLimit() {
			failed = append(failed, fmt.Sprintf("connector %s: daily_quota %d is above the token's limit of %d", p.Connector, p.DailyQuota, p.Info.Limit))
			fmt.Fprintf(w, "connectors[%d].daily_quota: %d is above the token's limit of %d calls a day (fix: set daily_quota: %d)\n", i, p.DailyQuota, p.Info.Limit, p.Info.Limit)
		}
	}
	return failed
}
