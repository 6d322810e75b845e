package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/pflag"

	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/config"
)

// offsetsStopped is what every offsets --help and every write says: positions may only
// be changed while the connector does not run, and the write enforces it by fencing.
const offsetsStopped = "Change positions only while the worker is stopped, or the connector is stopped\n" +
	"through the worker's REST API. The write uses the connector's transactional ID\n" +
	"(the file's kafka.transactional_id_prefix + connector name, as the worker does),\n" +
	"which fences an instance still running: its next commit fails and it stops\n" +
	"instead of overwriting the new position. Restart it to continue from there."

// offsetsCommand is "wolkvox-connect offsets".
func offsetsCommand() command {
	return command{
		name:    "offsets",
		summary: "List, set or reset the stored positions (offsets) of the reports",
		usage: "list|set|reset --config FILE [flags]\n\n" +
			"  list    every report's position: last row seen, cursor, rows remembered, lag\n" +
			"  set     move one report's cursor (window_end); needs --yes\n" +
			"  reset   delete positions, so reports restart from their configured start; needs --yes\n\n" +
			offsetsStopped + "\n\n" +
			"Run 'wolkvox-connect offsets ACTION --help' for an action's flags.",
		example: "wolkvox-connect offsets list --config worker.yaml --connector bogota",
		actions: offsetsActions(),
	}
}

// errNotConfirmed is returned by offsets set and reset without --yes, after printing
// what they would write.
var errNotConfirmed = errors.New("nothing written: run again with --yes to write it")

// offsetsActions are the offsets actions.
func offsetsActions() []command {
	return []command{
		{name: "offsets list", summary: "List the stored position of every report, per connector", usage: "--config FILE [--connector NAME] [--json] [--now RFC3339]\n\n" +
			"Shows, for each configured report, its key, the time of the newest row delivered\n" +
			"(LAST_SEEN), where the next read starts before the lookback (WINDOW_END), how many\n" +
			"delivered rows it remembers to recognise them when re-read (SEEN) and how far the\n" +
			"cursor is behind now (LAG). Positions stored for reports the file no longer lists\n" +
			"are shown too. Times are in the connector's time zone (UTC in --json).",
			example: "wolkvox-connect offsets list --config worker.yaml --json",
			run: offsetsRun(func(fs *pflag.FlagSet, f *offsetsFlags) offsetsAction {
				fs.StringVar(&f.connector, "connector", "", "list only this connector (default: all of the file's, and any other in the topic)")
				fs.StringVar(&f.now, "now", "", "compute the lag against this RFC 3339 instant instead of the current time")
				asJSON := fs.Bool("json", false, "print JSON instead of tables, for scripts")
				return func(ctx context.Context, o *offsetsSession) error { return o.list(ctx, *asJSON) }
			})},
		{name: "offsets set", summary: "Move one report's cursor", usage: "--config FILE --connector NAME --report KEY --window-end RFC3339 [--yes]\n\n" +
			"Writes a position with the given window_end and an empty set of seen rows (the\n" +
			"last_seen time is kept). The connector's next read starts where its own plan puts it\n" +
			"(window_end minus the lookback for detail reports; aligned to a bucket for bucketed\n" +
			"reports; the bucket window_end is in for range reports), as printed: rows it had\n" +
			"already delivered from there on are delivered again\n" +
			"and, when the cursor moves forward, rows between the old cursor and that start are\n" +
			"skipped. Without --yes it only prints the change and these consequences.\n\n" + offsetsStopped,
			example: "wolkvox-connect offsets set --config worker.yaml --connector bogota --report act_3,cod_act=cod_act1 --window-end 2026-11-01T08:00:00-05:00 --yes",
			run: offsetsRun(func(fs *pflag.FlagSet, f *offsetsFlags) offsetsAction {
				f.writeFlags(fs)
				fs.StringVar(&f.now, "now", "", "refuse a window end after this RFC 3339 instant instead of the current time")
				report := fs.String("report", "", "the report key as 'offsets list' shows it (an api name read once is enough)")
				windowEnd := fs.String("window-end", "", "the new cursor, RFC 3339 (2026-11-01T08:00:00-05:00)")
				yes := fs.Bool("yes", false, "write the position (without it, only show the change)")
				return func(ctx context.Context, o *offsetsSession) error { return o.set(ctx, *report, *windowEnd, *yes) }
			})},
		{name: "offsets reset", summary: "Delete positions: reports restart from their configured start", usage: "--config FILE --connector NAME (--report KEY | --all) [--yes]\n\n" +
			"Writes a tombstone for the report's position (--all: for every position stored for\n" +
			"the connector, those of reports the file no longer lists included). The report then\n" +
			"starts over at its configured start, or now minus its lookback, and rows delivered\n" +
			"since then are delivered again. Without --yes it only prints what it would reset.\n\n" + offsetsStopped,
			example: "wolkvox-connect offsets reset --config worker.yaml --connector bogota --report diagram_13 --yes",
			run: offsetsRun(func(fs *pflag.FlagSet, f *offsetsFlags) offsetsAction {
				f.writeFlags(fs)
				report := fs.String("report", "", "the report key as 'offsets list' shows it")
				all := fs.Bool("all", false, "reset every position stored for the connector")
				yes := fs.Bool("yes", false, "write the tombstones (without it, only show what would be reset)")
				return func(ctx context.Context, o *offsetsSession) error { return o.reset(ctx, *report, *all, *yes) }
			})},
	}
}

// offsetsFlags are the flags every offsets action takes.
type offsetsFlags struct {
	config, connector, txnPrefix, now string
	timeout                           time.Duration
}

// offsetsAction is what an offsets action does once its session is ready.
type offsetsAction func(context.Context, *offsetsSession) error

// offsetsRun is an offsets action's run: the flags every action takes, its own (which
// flags adds, returning what it does), the session and the timeout.
func offsetsRun(flags func(*pflag.FlagSet, *offsetsFlags) offsetsAction) func(context.Context, *environment, *pflag.FlagSet, []string) error {
	return func(ctx context.Context, env *environment, fs *pflag.FlagSet, args []string) error {
		var f offsetsFlags
		configFlag(fs, &f.config, env.getenv("WOLKVOX_CONNECT_CONFIG"), "configuration file (YAML) of the worker (env WOLKVOX_CONNECT_CONFIG)")
		fs.DurationVar(&f.timeout, "timeout", time.Minute, "give up after this long (an unreachable cluster)")
		run := flags(fs, &f)
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		o, err := f.session(env, fs)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(ctx, f.timeout)
		defer cancel()
		return run(ctx, o)
	}
}

// writeFlags are the flags of the actions that write.
func (f *offsetsFlags) writeFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.connector, "connector", "", "the connector (optional when the file has one)")
	fs.StringVar(&f.txnPrefix, "transactional-id-prefix", "", "the transactional ID prefix to write with (default: the file's kafka.transactional_id_prefix, or "+source.DefaultTxnIDPrefix+"): a backfill's is that + backfill-")
}

// offsetsSession is one offsets action's resolved inputs: the settings and a worker
// built from them but not run, whose connectors are all stopped, to plan and apply
// changes with the engine's own rules.
type offsetsSession struct {
	env      *environment
	settings *config.Settings
	file     string
	// connector is --connector as given; may be empty.
	connector string
	now       time.Time
	worker    *source.Worker
}

func (f *offsetsFlags) session(env *environment, fs *pflag.FlagSet) (*offsetsSession, error) {
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	case f.config == "":
		return nil, fmt.Errorf("%w: --config FILE is required (or WOLKVOX_CONNECT_CONFIG)", errUsage)
	case f.timeout <= 0:
		return nil, fmt.Errorf("%w: --timeout must be positive", errUsage)
	case f.txnPrefix != "" && !config.ValidTxnPrefix(f.txnPrefix):
		return nil, fmt.Errorf("%w: --transactional-id-prefix %q: %s", errUsage, f.txnPrefix, config.TxnPrefixFix)
	}
	now := time.Now()
	if f.now != "" {
		t, err := time.Parse(time.RFC3339, f.now)
		if err != nil {
			return nil, fmt.Errorf("%w: --now %q is not an RFC 3339 instant such as 2026-11-01T08:00:00-05:00", errUsage, f.now)
		}
		now = t
	}
	s, err := config.Load(f.config, env.getenv)
	if err != nil {
		return nil, err
	}
	red := s.Redactor()
	log := slog.New(red.Handler(quietLogger(env.stderr).Handler()))
	kopts, err := s.Kafka.Opts()
	if err != nil {
		return nil, err
	}
	dest := s.Destination(kopts...)
	if f.txnPrefix != "" {
		dest.TransactionalIDPrefix = f.txnPrefix
	}
	w, err := newWorker(s, log, red, source.WriteTo(dest))
	if err != nil {
		return nil, err
	}
	return &offsetsSession{env: env, settings: s, file: f.config, connector: f.connector, now: now, worker: w}, nil
}

func (o *offsetsSession) list(ctx context.Context, asJSON bool) error {
	if o.connector != "" {
		if _, err := o.settings.Connector(o.connector); err != nil {
			return lookupError(o.file, err)
		}
	}
	positions, err := o.worker.ListPositions(ctx, o.connector, o.now)
	if err != nil {
		return err
	}
	if asJSON {
		rows := []source.PositionRow{}
		for _, p := range positions {
			rows = append(rows, p.Row(o.now))
		}
		return writeJSON(o.env.stdout, rows)
	}
	return source.WritePositions(o.env.stdout, o.settings.Topics.Offsets, positions, o.now, "not in "+o.file)
}

func (o *offsetsSession) set(ctx context.Context, report, windowEnd string, yes bool) error {
	switch {
	case report == "":
		return fmt.Errorf("%w: --report KEY is required ('wolkvox-connect offsets list' shows the keys)", errUsage)
	case windowEnd == "":
		return fmt.Errorf("%w: --window-end RFC3339 is required", errUsage)
	}
	we, err := time.Parse(time.RFC3339, windowEnd)
	if err != nil {
		return fmt.Errorf("%w: --window-end %q is not an RFC 3339 instant such as 2026-11-01T08:00:00-05:00", errUsage, windowEnd)
	}
	c, err := o.settings.Connector(o.connector)
	if err != nil {
		return lookupError(o.file, err)
	}
	plan, err := o.worker.PlanOffsetSet(ctx, c.Config().Name, report, we, o.now)
	if errors.Is(err, source.ErrFutureCursor) {
		return fmt.Errorf("%w: --window-end %s is in the future (now is %s): the connector would skip everything until then", errUsage, windowEnd, o.now.Format(time.RFC3339))
	}
	if err != nil {
		return lookupError(o.file, err)
	}
	plan.WritePreview(o.env.stdout)
	return o.apply(ctx, plan, yes, "written")
}

// apply says to stop the connector first and, with --yes, writes the plan.
func (o *offsetsSession) apply(ctx context.Context, plan *source.OffsetPlan, yes bool, done string) error {
	w := o.env.stdout
	fmt.Fprintf(w, "\nStop %s first (stop the worker, or the connector through the worker's REST API). The write\n"+
		"uses its transactional ID %s, which fences an instance still running.\n", plan.Connector, plan.TransactionalID)
	if !yes {
		return errNotConfirmed
	}
	if err := o.worker.ApplyOffsets(ctx, plan); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%s with transactional ID %s.\n"+
		"A running instance of %s with that ID is now fenced: its next commit fails and it stops\n"+
		"instead of overwriting this. Restart the connector (or the worker) to continue from here.\n", done, plan.TransactionalID, plan.Connector)
	return nil
}

func (o *offsetsSession) reset(ctx context.Context, report string, all, yes bool) error {
	switch {
	case report == "" && !all:
		return fmt.Errorf("%w: give --report KEY, or --all to reset every report of the connector", errUsage)
	case report != "" && all:
		return fmt.Errorf("%w: give --report KEY or --all, not both", errUsage)
	}
	c, err := o.settings.Connector(o.connector)
	if err != nil {
		return lookupError(o.file, err)
	}
	name := c.Config().Name
	var reports []string
	if !all {
		reports = []string{report}
	}
	plan, err := o.worker.PlanOffsetReset(ctx, name, reports, o.now)
	if err != nil {
		return lookupError(o.file, err)
	}
	w := o.env.stdout
	switch {
	case len(plan.Changes) == 0:
		fmt.Fprintf(w, "connector %s has no stored position. Nothing to reset.\n", name)
		return nil
	case plan.Changes[0].Before == nil:
		fmt.Fprintf(w, "connector %s, report %s has no stored position: it already starts at %s. Nothing to reset.\n", name, plan.Changes[0].Report, source.StartDescription(*plan.Changes[0].Config, plan.Location))
		return nil
	}
	plan.WritePreview(w)
	return o.apply(ctx, plan, yes, fmt.Sprintf("%d tombstone(s) written", len(plan.Changes)))
}
