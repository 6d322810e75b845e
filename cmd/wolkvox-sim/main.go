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

// options are the parsed flags.
type options struct {
	addr, server, start, zone, logLevel string
	tokens, reports                     []string
	seed                                int64
	quota, resetHour                    int
	speed, rate, lateFraction, editFrac float64
	lenient                             float64
	lateMax, editMax                    time.Duration
	faults                              simulator.Faults
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := pflag.NewFlagSet("wolkvox-sim", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8089", "address to listen on")
	fs.StringArrayVar(&o.tokens, "token", []string{simulator.DefaultToken}, "valid token (repeat for several)")
	fs.StringVar(&o.server, "server", simulator.DefaultServer, "server number the tokens belong to")
	fs.Int64Var(&o.seed, "seed", 0, "seed of the data set and of fault decisions")
	fs.IntVar(&o.quota, "quota", 1000, "calls per token per day (licenses × 1000)")
	fs.IntVar(&o.resetHour, "reset-hour", 0, "local hour at which daily quotas reset")
	fs.StringVar(&o.zone, "zone", "America/Bogota", "the operation's time zone")
	fs.Float64Var(&o.speed, "speed", 1, "virtual clock speed, × real time (0 freezes it)")
	fs.StringVar(&o.start, "start", "", `virtual start time, "YYYY-MM-DD HH:MM:SS" local or RFC 3339 (default now)`)
	fs.Float64Var(&o.rate, "rate", 2, "business-hours rows (events) per minute per report")
	fs.StringSliceVar(&o.reports, "reports", nil, "serve only these reports (others answer 404)")
	fs.Float64Var(&o.lateFraction, "late-fraction", 0.1, "fraction of rows that appear late")
	fs.DurationVar(&o.lateMax, "late-max", 15*time.Minute, "longest delay of a late row")
	fs.Float64Var(&o.editFrac, "edit-fraction", 0.05, "fraction of detail rows edited after they appear")
	fs.DurationVar(&o.editMax, "edit-max", 30*time.Minute, "longest delay between two versions of a row")
	fs.Float64Var(&o.lenient, "lenient", 0, "fraction of values sent as JSON numbers or null")
	fs.Float64Var(&o.faults.Status500, "fault-500", 0, "rate of 500 answers")
	fs.Float64Var(&o.faults.Status502, "fault-502", 0, "rate of 502 HTML answers")
	fs.Float64Var(&o.faults.Status503, "fault-503", 0, "rate of 503 answers")
	fs.Float64Var(&o.faults.Forbidden, "fault-403", 0, "rate of undocumented 403 answers")
	fs.Float64Var(&o.faults.MaintenanceRate, "fault-maintenance", 0, "rate of maintenance 403 answers")
	fs.Float64Var(&o.faults.HTML200, "fault-html200", 0, "rate of HTML error pages with status 200")
	fs.Float64Var(&o.faults.HTML500, "fault-html500", 0, "rate of HTML error pages with status 500")
	fs.Float64Var(&o.faults.Truncate, "fault-truncate", 0, "rate of bodies cut mid-JSON")
	fs.Float64Var(&o.faults.Hang, "fault-hang", 0, "rate of calls that hang until the client gives up")
	fs.DurationVar(&o.faults.Latency, "latency", 0, "real time added to every call")
	fs.DurationVar(&o.faults.RetryAfter, "retry-after", 0, "Retry-After sent with injected errors")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "wolkvox-sim serves a simulated Wolkvox Reports Manager API.\n\nUsage: wolkvox-sim [flags]\n\nFlags:\n%s\nExample:\n  wolkvox-sim --speed 60 --quota 3000 --fault-503 0.05\n", fs.FlagUsages())
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	return o, nil
}

// simOpts turns the flags into simulator options, and returns the virtual clock and the
// operation's zone they use.
func (o *options) simOpts(logger *slog.Logger) ([]simulator.Opt, *simulator.VirtualClock, *time.Location, error) {
	loc, err := time.LoadLocation(o.zone)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: --zone: %w", errUsage, err)
	}
	start := time.Now()
	if o.start != "" {
		if start, err = time.ParseInLocation("2006-01-02 15:04:05", o.start, loc); err != nil {
			if start, err = time.Parse(time.RFC3339, o.start); err != nil {
				return nil, nil, nil, fmt.Errorf("%w: --start %q is neither \"YYYY-MM-DD HH:MM:SS\" nor RFC 3339", errUsage, o.start)
			}
		}
	}
	clock := simulator.NewVirtualClock(start)
	clock.SetSpeed(o.speed)
	opts := []simulator.Opt{
		simulator.Addr(o.addr), simulator.Seed(o.seed), simulator.DailyQuota(o.quota),
		simulator.QuotaResetHour(o.resetHour), simulator.Location(loc), simulator.WithClock(clock),
		simulator.DefaultRowsPerMinute(o.rate), simulator.LateRows(o.lateFraction, o.lateMax),
		simulator.Edits(o.editFrac, o.editMax), simulator.Lenient(o.lenient),
		simulator.WithFaults(o.faults), simulator.Logger(logger),
	}
	for _, t := range o.tokens {
		opts = append(opts, simulator.Token(t, o.server))
	}
	if len(o.reports) > 0 {
		opts = append(opts, simulator.Reports(o.reports...))
	}
	return opts, clock, loc, nil
}

// run serves until ctx is done. ready, when not nil, receives the base URL once the
// server listens (tests use it).
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready chan<- string) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("%w: --log-level: %w", errUsage, err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	opts, clock, loc, err := o.simOpts(logger)
	if err != nil {
		return err
	}
	srv, err := simulator.New(opts...)
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
		now.Format("2006-01-02 15:04:05"), o.speed)
	fmt.Fprintf(stdout, "  curl -s -H 'wolkvox-token: %s' '%s%s?api=diagram_13&date_ini=%s&date_end=%s'\n",
		o.tokens[0], url, simulator.ReportsPath, end.Add(-time.Hour).Format("20060102150405"), end.Add(-time.Second).Format("20060102150405"))
	fmt.Fprintf(stdout, "  curl -s %s/_sim/stats\n\n", url)
	fmt.Fprintln(stdout, strings.Repeat("-", 20), "Ctrl-C to stop")
	if ready != nil {
		ready <- url
	}
	<-ctx.Done()
	return srv.Close()
}
