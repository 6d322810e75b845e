package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/wolkvox-connect/wolkvox-connect/source/connector"
)

func init() {
	register(command{
		name:    "backfill",
		summary: "Re-read a past range of one report into its topic, without moving the live offset or repeating what is there",
		usage:   "--config FILE --connector NAME --report KEY --from TIME --to TIME [--topic TOPIC]",
		example: "wolkvox-connect backfill --config deploy/examples/one-operation.yaml --connector bogota --report diagram_13 --from 2026-11-01 --to 2026-11-08",
		run:     runBackfill,
	})
}

func runBackfill(ctx context.Context, env *environment, fs *pflag.FlagSet, args []string) error {
	var o overrides
	o.register(fs, env, false)
	name := fs.String("connector", "", "the connector whose report to re-read (required when the file has several)")
	report := fs.String("report", "", `the report's key as 'wolkvox-connect offsets list' shows it, e.g. "act_3,cod_act=cod_act1" (required)`)
	fromFlag := fs.String("from", "", `start of the range: RFC 3339, or a date "2026-11-01" (midnight in the connector's zone) (required)`)
	toFlag := fs.String("to", "", "end of the range, same forms (required)")
	topic := fs.String("topic", "", "write to this topic instead of the report's own")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	s, err := o.load(env)
	if err != nil {
		return err
	}
	cs, err := pickConnector(s, *name)
	if err != nil {
		return err
	}
	cfg := connectorConfig(cs)
	i := slices.IndexFunc(cfg.Reports, func(r connector.ReportConfig) bool { return r.Key() == *report || r.API == *report })
	if *report == "" || i < 0 {
		var keys []string
		for _, r := range cfg.Reports {
			keys = append(keys, r.Key())
		}
		return fmt.Errorf("%w: --report %q is not a report of connector %s; it reads: %s", errUsage, *report, cfg.Name, strings.Join(keys, ", "))
	}
	cfg.Reports = cfg.Reports[i : i+1]
	from, err := parseInstant(*fromFlag, cfg.Location)
	if err != nil {
		return fmt.Errorf("%w: --from: %v", errUsage, err)
	}
	to, err := parseInstant(*toFlag, cfg.Location)
	if err != nil {
		return fmt.Errorf("%w: --to: %v", errUsage, err)
	}
	if !from.Before(to) {
		return fmt.Errorf("%w: --from %s is not before --to %s", errUsage, *fromFlag, *toFlag)
	}
	log := s.Log.Logger(env.stderr)
	opts, _, err := connectorOpts(s, log)
	if err != nil {
		return err
	}
	c, err := connector.New(cfg, append(opts, connector.Backfill(from, to, *topic))...)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	bar := progress{w: env.stderr, tty: isTTY(env.stderr), from: from, to: to}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			st := c.Status()
			bar.draw(st, true)
			if err != nil {
				return err
			}
			if ctx.Err() != nil {
				return fmt.Errorf("interrupted: run the same command again to resume where it stopped")
			}
			r := st.Reports[0]
			if r.State == connector.StateFailed {
				return fmt.Errorf("report %s failed: %s", r.Key, r.LastError)
			}
			fmt.Fprintf(env.stdout, "backfilled %s %s..%s into %s: %d rows written, %d already there, %d dead letters, %d calls\n",
				r.Key, from.Format(time.RFC3339), to.Format(time.RFC3339), r.Topic, r.Rows, r.Duplicates, r.DeadLetters, r.Calls)
			return nil
		case <-tick.C:
			bar.draw(c.Status(), false)
		}
	}
}

// pickConnector finds the named connector, or the only one.
func pickConnector(s *Settings, name string) (*ConnectorSettings, error) {
	var names []string
	for i := range s.Connectors {
		if s.Connectors[i].Config.Name == name || (name == "" && len(s.Connectors) == 1) {
			return &s.Connectors[i], nil
		}
		names = append(names, s.Connectors[i].Config.Name)
	}
	return nil, fmt.Errorf("%w: --connector %q: the configuration has %s", errUsage, name, strings.Join(names, ", "))
}

// parseInstant reads RFC 3339 or a date, midnight in loc.
func parseInstant(v string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", v, loc); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither RFC 3339 (2026-11-01T08:00:00-05:00) nor a date (2026-11-01)", v)
}

// progress draws a backfill's progress: a bar redrawn in place on a terminal, a line
// every few seconds elsewhere.
type progress struct {
	w        io.Writer
	tty      bool
	from, to time.Time
	last     time.Time
}

func (p *progress) draw(st connector.Status, final bool) {
	if len(st.Reports) == 0 {
		return
	}
	r := st.Reports[0]
	frac := 0.0
	if r.Cursor.After(p.from) {
		frac = min(float64(r.Cursor.Sub(p.from))/float64(p.to.Sub(p.from)), 1)
	}
	const width = 30
	filled := int(frac * width)
	line := fmt.Sprintf("[%s%s] %3.0f%% %s up to %s, %d rows, %d calls, %s",
		strings.Repeat("#", filled), strings.Repeat(".", width-filled), 100*frac, r.Key,
		r.Cursor.Format("2006-01-02 15:04"), r.Rows, r.Calls, r.State)
	switch {
	case p.tty:
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		if final {
			fmt.Fprintln(p.w)
		}
	case final || time.Since(p.last) >= 5*time.Second:
		fmt.Fprintln(p.w, line)
		p.last = time.Now()
	}
}

// isTTY reports whether w is a character device (a terminal), where redrawing in
// place works.
func isTTY(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
