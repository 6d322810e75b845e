package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/config"
	"github.com/wolkvox-connect/wolkvox-connect/source/console"
)

// backfillCommand is "wolkvox-connect backfill".
func backfillCommand() command {
	return command{
		name:    "backfill",
		summary: "Re-read a past range of one report into its topic, without moving the live offset or repeating what is there",
		usage:   "--config FILE --connector NAME --report KEY --from TIME --to TIME [--topic TOPIC]",
		example: "wolkvox-connect backfill --config deploy/examples/one-operation.yaml --connector bogota --report diagram_13 --from 2026-11-01 --to 2026-11-08",
		run:     runBackfill,
	}
}

func runBackfill(ctx context.Context, env *environment, fs *pflag.FlagSet, args []string) error {
	var o overrides
	o.register(fs, env, false)
	name := fs.String("connector", "", "the connector whose report to re-read (required when the file has several)")
	report := fs.String("report", "", `the report's key as 'wolkvox-connect offsets list' shows it, e.g. "act_3,cod_act=cod_act1" (required)`)
	fromFlag := fs.String("from", "", `start of the range: RFC 3339, a date "2026-11-01" (midnight in the connector's zone) or "today" (required)`)
	toFlag := fs.String("to", "", "end of the range, same forms (required)")
	topic := fs.String("topic", "", "write to this topic instead of the report's own")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	s, err := o.load(env)
	if err != nil {
		return err
	}
	if *report == "" {
		return fmt.Errorf("%w: --report KEY is required ('wolkvox-connect offsets list' shows the keys)", errUsage)
	}
	conn, err := s.Connector(*name)
	if err != nil {
		return lookupError(o.config, err)
	}
	rc, err := conn.Config().Report(*report)
	if err != nil {
		return lookupError(o.config, err)
	}
	cfg := conn.Config()
	cfg.Reports = []source.ReportConfig{rc}
	now := time.Now()
	var bounds [2]time.Time
	for i, fv := range []struct{ flag, value string }{{"--from", *fromFlag}, {"--to", *toFlag}} {
		t, err := config.ParseInstant(fv.value, cfg.Location, now)
		if problem := config.CheckInstant(t, now); err == nil && problem != "" {
			err = fmt.Errorf("%s; give a time between %s and a year from now", problem, config.EarliestStart.Format(time.DateOnly))
		}
		if err != nil {
			return fmt.Errorf("%w: %s: %v", errUsage, fv.flag, err)
		}
		bounds[i] = t
	}
	from, to := bounds[0], bounds[1]
	if !from.Before(to) {
		return fmt.Errorf("%w: --from %s is not before --to %s", errUsage, *fromFlag, *toFlag)
	}
	// The progress bar and the log share stderr through one console, so that they never
	// write at once nor cut into each other's lines.
	term := console.New(env.stderr, console.IsTerminal(env.stderr, env.getenv))
	log, red := s.Logger(term)
	opts, err := s.WorkerOpts(log, red, version)
	if err != nil {
		return err
	}
	c, err := source.New(cfg, append(opts, source.Backfill(from, to, *topic))...)
	if err != nil {
		return err
	}
	bar := progress{from: from, to: to, loc: cfg.Location}
	status := func() (string, bool) {
		bp, _ := c.BackfillProgress()
		return bar.line(c.Status(), bp) + "\n", false
	}
	err = red.Error(term.Watch(ctx, 500*time.Millisecond, c.Run, status))
	st := c.Status()
	bp, _ := c.BackfillProgress()
	if bp.Finished == len(st.Reports) {
		term.Keep()
		r := st.Reports[0]
		fmt.Fprintf(env.stdout, "backfill of %s %s..%s into %s was already done: its progress, stored under %s, reached the range's end, so nothing was read.\n"+
			"To read the range again, reset that progress and run this command again:\n"+
			"  wolkvox-connect offsets reset --config %s --connector %s --report '%s' --transactional-id-prefix %s --yes\n",
			r.Key, from.Format(time.RFC3339), to.Format(time.RFC3339), r.Topic, strings.Join(bp.Keys, ", "),
			o.config, cfg.Name, bp.Keys[0], c.TransactionalIDPrefix())
		return err
	}
	term.Show(bar.line(st, bp) + "\n")
	term.Keep()
	switch r := st.Reports[0]; {
	case err != nil:
		return err
	case ctx.Err() != nil:
		return fmt.Errorf("interrupted: run the same command again to resume where it stopped")
	case r.State == source.StateFailed:
		return fmt.Errorf("report %s failed: %s", r.Key, r.LastError)
	default:
		fmt.Fprintf(env.stdout, "backfilled %s %s..%s into %s: %s written, %s, %s; %s already in the topic before, %s read again and skipped (already written)\n",
			r.Key, from.Format(time.RFC3339), to.Format(time.RFC3339), r.Topic, plural(r.Rows, "row"), plural(r.DeadLetters, "dead letter"),
			plural(r.Calls, "call"), plural(bp.Seeded, "event"), plural(r.Duplicates, "row"))
		return nil
	}
}

// plural is "1 call", "2 calls", "0 calls".
func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// progress is a backfill's progress bar. Times are in the connector's zone, with their
// offset, as --from and --to are read.
type progress struct {
	from, to time.Time
	loc      *time.Location
}

// progressTime is how the bar shows an instant: local to the operation, with its offset.
const progressTime = "2006-01-02 15:04 -07:00"

// line is the bar for the status of a backfill's one report.
func (p *progress) line(st source.Status, bp source.BackfillProgress) string {
	if len(st.Reports) == 0 {
		return ""
	}
	r := st.Reports[0]
	if bp.Seeding {
		// Before the first call: reading what the topic holds, so none of it is written twice.
		return fmt.Sprintf("reading what %s holds first: %s so far", r.Topic, plural(bp.Seeded, "event"))
	}
	frac := 0.0
	if r.Cursor.After(p.from) {
		frac = min(float64(r.Cursor.Sub(p.from))/float64(p.to.Sub(p.from)), 1)
	}
	const width = 30
	filled := int(frac * width)
	return fmt.Sprintf("[%s%s] %3.0f%% %s up to %s, %s, %s, %s",
		strings.Repeat("#", filled), strings.Repeat(".", width-filled), 100*frac, r.Key,
		r.Cursor.In(p.loc).Format(progressTime), plural(r.Rows, "row"), plural(r.Calls, "call"), r.State)
}
