package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/wolkvox-connect/wolkvox-connect/source/config"
	"github.com/wolkvox-connect/wolkvox-connect/source/wolkvox"
)

// probeTimeout bounds one token_info call of validate --probe: the endpoint is small,
// and a user waiting at a prompt would rather see a timeout than the API's 60 s.
const probeTimeout = 30 * time.Second

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
			fmt.Fprintf(env.stdout, "%s:%s\n", path, problemLine(p))
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
		fmt.Fprintf(env.stdout, "%s:%s\n", path, strings.Replace(problemLine(w), w.Field+":", "warning: "+w.Field+":", 1))
	}
	fmt.Fprintf(env.stdout, "config OK: %s (%d connector(s), %d report(s))\n", path, len(s.Connectors), reports)
	printPlans(env.stdout, s)
	if !*probe {
		return nil
	}
	if failed := probeTokens(ctx, env.stdout, s); len(failed) > 0 {
		return fmt.Errorf("%s: the configuration is valid, but %d %w: %s", path, len(failed), errProbeFailed, strings.Join(failed, "; "))
	}
	return nil
}

// problemLine is one problem as "LINE: field: problem (fix: ...)", LINE empty when
// unknown, so that "file:line:" reads as a compiler's position.
func problemLine(p config.Problem) string {
	if p.Line == 0 {
		return " " + p.FieldError.Error()
	}
	return fmt.Sprintf("%d: %s", p.Line, p.FieldError.Error())
}

// printPlans prints the steady-state calls a day of each token group.
func printPlans(w io.Writer, s *config.Settings) {
	for _, g := range s.TokenGroups() {
		first := s.Connectors[g.Connectors[0]].Config
		p := s.QuotaPlan(g)
		fmt.Fprintf(w, "\nquota plan for %s (resets at %02d:00 %s):\n%s\n", g.Label(s), g.QuotaResetHour, first.Location, p)
		fmt.Fprintf(w, "  fits: %.0f calls a day left for catching up and retries\n", float64(p.Budget)-p.Total)
	}
}

// probeTokens calls token_info once per connector and prints the outcome; it returns
// one line per probe that failed or showed a quota the token does not have: the
// connector and why. Every secret of s is hidden from the errors it prints.
func probeTokens(ctx context.Context, w io.Writer, s *config.Settings) []string {
	var failed []string
	red := s.Redactor()
	fmt.Fprintln(w)
	for i := range s.Connectors {
		c := &s.Connectors[i]
		name := c.Config.Name
		info, err := probeOne(ctx, c)
		if err != nil {
			failed = append(failed, fmt.Sprintf("connector %s (%s): %s", name, probeClass(err), red.Redact(probeReason(err))))
			fmt.Fprintf(w, "probe %s: FAILED (%s): %s\n  fix: %s\n", name, probeClass(err), red.Redact(err.Error()), probeFix(err))
			continue
		}
		fmt.Fprintf(w, "probe %s: token_limit %d, token_use_today %d (%d left today)\n", name, info.Limit, info.UsedToday, info.Remaining())
		if info.Limit > 0 && c.Config.DailyQuota > info.Limit {
			failed = append(failed, fmt.Sprintf("connector %s: daily_quota %d is above the token's limit of %d", name, c.Config.DailyQuota, info.Limit))
			fmt.Fprintf(w, "connectors[%d].daily_quota: %d is above the token's limit of %d calls a day (fix: set daily_quota: %d)\n", i, c.Config.DailyQuota, info.Limit, info.Limit)
		}
	}
	return failed
}

func probeOne(ctx context.Context, c *config.Connector) (wolkvox.TokenInfo, error) {
	cl, err := wolkvox.NewClient(append(c.SourceOpts(), wolkvox.CallTimeout(probeTimeout))...)
	if err != nil {
		return wolkvox.TokenInfo{}, fmt.Errorf("building the client: %w", err)
	}
	defer cl.CloseIdleConnections()
	return cl.TokenInfo(ctx)
}

// probeReason is the part of a failed probe's error a user acts on: the network error
// ("dial tcp 127.0.0.1:1: connect: connection refused") or the API's answer, without
// the chain of wrappers the full error, printed above it, carries.
func probeReason(err error) string {
	var re *wolkvox.ResponseError
	var op *net.OpError
	switch {
	case errors.As(err, &re) && re.StatusCode != 0:
		return re.Error()
	case errors.As(err, &op):
		return op.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer within %s", probeTimeout)
	}
	return err.Error()
}

// probeClass is the wolkvox.Class of a failed probe; a failure before any call (a bad
// option) is "config".
func probeClass(err error) wolkvox.Class {
	var re *wolkvox.ResponseError
	switch {
	case errors.As(err, &re):
		return re.Class
	case errors.Is(err, wolkvox.ErrInvalidOption):
		return "config"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return wolkvox.ClassCanceled
	}
	return wolkvox.ClassTransient
}

// probeFix says what to do about a failed probe, by the class of its error.
func probeFix(err error) string {
	class := probeClass(err)
	switch {
	case errors.Is(err, wolkvox.ErrInvalidOption):
		return "correct the connector's server, token or base_url"
	case class == wolkvox.ClassInvalidToken:
		return "check the token (a new one from the Wolkvox manager?) and that server is the operation's wv number"
	case class == wolkvox.ClassQuotaExhausted:
		return "the token's calls for today are spent; wait for the daily reset, or raise the licenses"
	case class == wolkvox.ClassBadRequest:
		return "check server (and base_url): this host does not serve information.php?api=token_info"
	case class == wolkvox.ClassTooManyRequests:
		return "another program is calling with this token right now; try again, and keep max_in_flight within the token's limit"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "the API did not answer in time; check the network path to the server and try again"
	}
	return "a transient failure (maintenance, network): try again later; check base_url if you set one"
}
