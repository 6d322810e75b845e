package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/wolkvox-connect/wolkvox-connect/offsets"
	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/config"
)

// offsetsStopped is what every offsets --help and every write says: positions may only
// be changed while the connector does not run, and the write enforces it by fencing.
const offsetsStopped = "Change positions only while the worker is stopped, or the connector is stopped\n" +
	"through the worker's REST API. The write uses the connector's transactional ID\n" +
	"(--transactional-id-prefix + connector name, as the worker does), which fences an\n" +
	"instance still running: its next commit fails and it stops instead of overwriting\n" +
	"the new position. Restart it to continue from there."

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
		run:     runOffsets,
	}
}

// errNotConfirmed is returned by offsets set and reset without --yes, after printing
// what they would write.
var errNotConfirmed = errors.New("nothing written: run again with --yes to write it")

// offsetsActions describes the actions for their --help; runOffsets does the work.
func offsetsActions() []command {
	return []command{
		{name: "offsets list", summary: "List the stored position of every report, per connector", usage: "--config FILE [--connector NAME] [--json] [--now RFC3339]\n\n" +
			"Shows, for each configured report, its key, the time of the newest row delivered\n" +
			"(LAST_SEEN), where the next read starts before the lookback (WINDOW_END), how many\n" +
			"delivered rows it remembers to recognise them when re-read (SEEN) and how far the\n" +
			"cursor is behind now (LAG). Positions stored for reports the file no longer lists\n" +
			"are shown too. Times are in the connector's time zone (UTC in --json).",
			example: "wolkvox-connect offsets list --config worker.yaml --json"},
		{name: "offsets set", summary: "Move one report's cursor", usage: "--config FILE --connector NAME --report KEY --window-end RFC3339 [--yes]\n\n" +
			"Writes a position with the given window_end and an empty set of seen rows (the\n" +
			"last_seen time is kept). The connector's next read starts where its own plan puts it\n" +
			"(window_end minus the lookback for detail reports; aligned to a bucket for bucketed\n" +
			"reports; the bucket window_end is in for range reports), as printed: rows it had\n" +
			"already delivered from there on are delivered again\n" +
			"and, when the cursor moves forward, rows between the old cursor and that start are\n" +
			"skipped. Without --yes it only prints the change and these consequences.\n\n" + offsetsStopped,
			example: "wolkvox-connect offsets set --config worker.yaml --connector bogota --report act_3,cod_act=cod_act1 --window-end 2026-11-01T08:00:00-05:00 --yes"},
		{name: "offsets reset", summary: "Delete positions: reports restart from their configured start", usage: "--config FILE --connector NAME (--report KEY | --all) [--yes]\n\n" +
			"Writes a tombstone for the report's position (--all: for every position stored for\n" +
			"the connector, those of reports the file no longer lists included). The report then\n" +
			"starts over at its configured start, or now minus its lookback, and rows delivered\n" +
			"since then are delivered again. Without --yes it only prints what it would reset.\n\n" + offsetsStopped,
			example: "wolkvox-connect offsets reset --config worker.yaml --connector bogota --report diagram_13 --yes"},
	}
}

// offsetsFlags are the flags every offsets action takes.
type offsetsFlags struct {
	config, connector, txnPrefix, now string
	timeout                           time.Duration
}

func runOffsets(ctx context.Context, env *environment, fs *pflag.FlagSet, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		return fmt.Errorf("%w: missing action: list, set or reset", errUsage)
	}
	actions := offsetsActions()
	i := slices.IndexFunc(actions, func(a command) bool { return a.name == "offsets "+args[0] })
	if i < 0 {
		return fmt.Errorf("%w: unknown action %q: want list, set or reset", errUsage, args[0])
	}
	afs := newFlagSet(env, actions[i])
	var f offsetsFlags
	configFlag(afs, &f.config, env.getenv("WOLKVOX_CONNECT_CONFIG"), "configuration file (YAML) of the worker (env WOLKVOX_CONNECT_CONFIG)")
	afs.DurationVar(&f.timeout, "timeout", time.Minute, "give up after this long (an unreachable cluster)")
	var run func(context.Context, *offsetsSession) error
	switch args[0] {
	case "list":
		afs.StringVar(&f.connector, "connector", "", "list only this connector (default: all of the file's, and any other in the topic)")
		afs.StringVar(&f.now, "now", "", "compute the lag against this RFC 3339 instant instead of the current time")
		asJSON := afs.Bool("json", false, "print JSON instead of tables, for scripts")
		run = func(ctx context.Context, o *offsetsSession) error { return o.list(ctx, *asJSON) }
	case "set":
		afs.StringVar(&f.connector, "connector", "", "the connector (optional when the file has one)")
		afs.StringVar(&f.txnPrefix, "transactional-id-prefix", source.DefaultTxnIDPrefix, "the worker's transactional ID prefix")
		afs.StringVar(&f.now, "now", "", "refuse a window end after this RFC 3339 instant instead of the current time")
		report := afs.String("report", "", "the report key as 'offsets list' shows it (an api name read once is enough)")
		windowEnd := afs.String("window-end", "", "the new cursor, RFC 3339 (2026-11-01T08:00:00-05:00)")
		yes := afs.Bool("yes", false, "write the position (without it, only show the change)")
		run = func(ctx context.Context, o *offsetsSession) error { return o.set(ctx, *report, *windowEnd, *yes) }
	case "reset":
		afs.StringVar(&f.connector, "connector", "", "the connector (optional when the file has one)")
		afs.StringVar(&f.txnPrefix, "transactional-id-prefix", source.DefaultTxnIDPrefix, "the worker's transactional ID prefix")
		report := afs.String("report", "", "the report key as 'offsets list' shows it")
		all := afs.Bool("all", false, "reset every position stored for the connector")
		yes := afs.Bool("yes", false, "write the tombstones (without it, only show what would be reset)")
		run = func(ctx context.Context, o *offsetsSession) error { return o.reset(ctx, *report, *all, *yes) }
	}
	if err := parseFlags(afs, args[1:]); err != nil {
		return err
	}
	o, err := f.session(env, afs)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	return run(ctx, o)
}

// offsetsSession is one offsets action's resolved inputs.
type offsetsSession struct {
	env       *environment
	settings  *config.Settings
	file      string
	connector string // --connector as given; may be empty
	txnPrefix string
	now       time.Time
	store     func(txnID string) (*offsets.Store, error)
}

func (f *offsetsFlags) session(env *environment, fs *pflag.FlagSet) (*offsetsSession, error) {
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	case f.config == "":
		return nil, fmt.Errorf("%w: --config FILE is required (or WOLKVOX_CONNECT_CONFIG)", errUsage)
	case f.timeout <= 0:
		return nil, fmt.Errorf("%w: --timeout must be positive", errUsage)
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
	kopts, err := s.Kafka.Opts()
	if err != nil {
		return nil, err
	}
	log := slog.New(s.Redactor().Handler(quietLogger(env.stderr).Handler()))
	store := func(txnID string) (*offsets.Store, error) {
		opts := []offsets.Opt{offsets.KafkaOpts(kopts...), offsets.Logger(log)}
		if txnID != "" {
			opts = append(opts, offsets.TransactionalID(txnID))
		}
		return offsets.NewStore(s.Topics.Offsets, opts...)
	}
	return &offsetsSession{env: env, settings: s, file: f.config, connector: f.connector, txnPrefix: f.txnPrefix, now: now, store: store}, nil
}

// offsetsRow is one report's line in offsets list.
type offsetsRow struct {
	Connector  string     `json:"connector"`
	Server     string     `json:"server"`
	Report     string     `json:"report"`
	Configured bool       `json:"configured"`
	Stored     bool       `json:"stored"`
	LastSeen   *time.Time `json:"last_seen,omitempty"`
	WindowEnd  *time.Time `json:"window_end,omitempty"`
	Seen       int        `json:"seen"`
	LagSeconds *int64     `json:"lag_seconds,omitempty"`
	Error      string     `json:"error,omitempty"`

	loc *time.Location
}

// offsetsReportKey is the report key the connector shows for an offsets key.
func offsetsReportKey(k offsets.Key) string {
	rc := source.ReportConfig{API: k.Report, Params: k.Params}
	return rc.Key()
}

func (o *offsetsSession) list(ctx context.Context, asJSON bool) error {
	var conns []*source.Connector
	if o.connector != "" {
		rc, err := connectorByFlag(o.settings, o.file, o.connector)
		if err != nil {
			return err
		}
		conns = append(conns, rc)
	} else {
		for i := range o.settings.Connectors {
			rc, err := connectorByFlag(o.settings, o.file, o.settings.Connectors[i].Config.Name)
			if err != nil {
				return err
			}
			conns = append(conns, rc)
		}
	}
	store, err := o.store("")
	if err != nil {
		return err
	}
	entries, err := store.List(ctx)
	if err != nil {
		return fmt.Errorf("reading %s: %w", store.Topic(), err)
	}
	stored := map[string]offsets.Entry{}
	for _, e := range entries {
		stored[e.Key.String()] = e
	}

	var rows []offsetsRow
	used := map[string]bool{}
	for _, c := range conns {
		for i := range c.Config().Reports {
			r := &c.Config().Reports[i]
			enc := source.OffsetKey(c.Config(), *r).String()
			row := offsetsRow{Connector: c.Config().Name, Server: c.Config().Server, Report: r.Key(), Configured: true, loc: c.Config().Location}
			if e, ok := stored[enc]; ok {
				o.fill(&row, e)
				used[enc] = true
			}
			rows = append(rows, row)
		}
	}
	// Positions no configured report owns: reports removed from the file, another
	// server, or connectors of other files sharing the topic.
	var orphans []offsetsRow
	for _, e := range entries {
		enc := e.Key.String()
		if used[enc] || (o.connector != "" && e.Key.Connector != o.connector) {
			continue
		}
		row := offsetsRow{Connector: e.Key.Connector, Server: e.Key.Server, Report: offsetsReportKey(e.Key), loc: time.UTC}
		for _, c := range conns {
			if c.Config().Name == e.Key.Connector {
				row.loc = c.Config().Location
			}
		}
		o.fill(&row, e)
		orphans = append(orphans, row)
	}
	rows = append(rows, orphans...)
	// One section per connector: the file's in file order, then the others by name;
	// within one, configured reports first, in file order.
	rank := map[string]int{}
	for i, c := range conns {
		rank[c.Config().Name] = i
	}
	slices.SortStableFunc(rows, func(a, b offsetsRow) int {
		ra, okA := rank[a.Connector]
		rb, okB := rank[b.Connector]
		switch {
		case okA && okB:
			return cmp.Compare(ra, rb)
		case okA != okB:
			if okA {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.Connector, b.Connector)
	})
	if asJSON {
		if rows == nil {
			rows = []offsetsRow{}
		}
		return writeJSON(o.env.stdout, rows)
	}
	return o.printRows(o.env.stdout, store.Topic(), rows)
}

// fill copies a stored entry into row; lag is now minus window_end.
func (o *offsetsSession) fill(row *offsetsRow, e offsets.Entry) {
	row.Stored = true
	if e.Err != nil {
		row.Error = e.Err.Error()
		return
	}
	p := e.Position
	row.Seen = len(p.Seen)
	if !p.LastSeen.IsZero() {
		t := p.LastSeen.UTC()
		row.LastSeen = &t
	}
	if !p.WindowEnd.IsZero() {
		t := p.WindowEnd.UTC()
		row.WindowEnd = &t
		lag := int64(o.now.Sub(t) / time.Second)
		row.LagSeconds = &lag
	}
}

func (o *offsetsSession) printRows(w io.Writer, topic string, rows []offsetsRow) error {
	if len(rows) == 0 {
		_, err := fmt.Fprintf(w, "no reports and no positions in %s\n", topic)
		return err
	}
	fmt.Fprintf(w, "positions in %s, lag against %s\n", topic, o.now.Format(time.RFC3339))
	for start := 0; start < len(rows); {
		end := start + 1
		for end < len(rows) && rows[end].Connector == rows[start].Connector {
			end++
		}
		name := rows[start].Connector
		header := "\nconnector " + name
		server := ""
		if i := slices.IndexFunc(o.settings.Connectors, func(c config.Connector) bool { return c.Config.Name == name }); i >= 0 {
			c := &o.settings.Connectors[i].Config
			server = c.Server
			header += fmt.Sprintf(" (server %s, %s)", c.Server, c.Location)
		} else {
			header += " (not in " + o.file + ")"
		}
		fmt.Fprintln(w, header+":")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  REPORT\tLAST_SEEN\tWINDOW_END\tSEEN\tLAG\tNOTE")
		for _, r := range rows[start:end] {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", r.Report, offsetsTime(r.LastSeen, r.loc), offsetsTime(r.WindowEnd, r.loc),
				offsetsSeen(r), offsetsLag(r.LagSeconds), offsetsNote(r, server))
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("writing the list: %w", err)
		}
		start = end
	}
	return nil
}

func offsetsTime(t *time.Time, loc *time.Location) string {
	if t == nil {
		return "-"
	}
	return t.In(loc).Format(time.RFC3339)
}

func offsetsSeen(r offsetsRow) string {
	if !r.Stored || r.Error != "" {
		return "-"
	}
	return fmt.Sprint(r.Seen)
}

func offsetsLag(s *int64) string {
	if s == nil {
		return "-"
	}
	return (time.Duration(*s) * time.Second).String()
}

// offsetsNote explains a row that is not a plain stored position of a configured
// report; configured is the file's server for the row's connector ("" when the file
// does not have the connector).
func offsetsNote(r offsetsRow, configured string) string {
	var notes []string
	switch {
	case !r.Stored:
		notes = append(notes, "no position yet: starts at its configured start")
	case !r.Configured && configured != "" && r.Server != configured:
		notes = append(notes, fmt.Sprintf("not in the configuration (server %s; the file has %s)", r.Server, configured))
	case !r.Configured:
		notes = append(notes, "not in the configuration")
	}
	if r.Error != "" {
		notes = append(notes, "unreadable: "+r.Error)
	}
	return strings.Join(notes, "; ")
}

// current returns the stored position of key, and whether there is one. An unreadable
// position counts as present, with its error.
func (o *offsetsSession) current(ctx context.Context, key offsets.Key) (offsets.Entry, bool, error) {
	store, err := o.store("")
	if err != nil {
		return offsets.Entry{}, false, err
	}
	entries, err := store.List(ctx)
	if err != nil {
		return offsets.Entry{}, false, fmt.Errorf("reading %s: %w", store.Topic(), err)
	}
	enc := key.String()
	i := slices.IndexFunc(entries, func(e offsets.Entry) bool { return e.Key.String() == enc })
	if i < 0 {
		return offsets.Entry{}, false, nil
	}
	return entries[i], true, nil
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
	if we.After(o.now) {
		return fmt.Errorf("%w: --window-end %s is in the future (now is %s): the connector would skip everything until then", errUsage, windowEnd, o.now.Format(time.RFC3339))
	}
	c, err := connectorByFlag(o.settings, o.file, o.connector)
	if err != nil {
		return err
	}
	rcv, err := reportByFlag(c, o.file, report)
	if err != nil {
		return err
	}
	rc := &rcv
	key := source.OffsetKey(c.Config(), *rc)
	old, had, err := o.current(ctx, key)
	if err != nil {
		return err
	}
	loc := c.Config().Location
	at := func(t time.Time) string { return t.In(loc).Format(time.RFC3339) }
	w := o.env.stdout
	pos := offsets.Position{WindowEnd: we.UTC()}
	fmt.Fprintf(w, "connector %s, report %s\n  offsets key %s in %s\n", c.Config().Name, rc.Key(), key, o.settings.Topics.Offsets)
	switch {
	case !had:
		fmt.Fprintf(w, "  current: no position (the report would start at %s)\n", offsetsStart(rc, loc))
	case old.Err != nil:
		fmt.Fprintf(w, "  current: unreadable: %v\n", old.Err)
	default:
		pos.LastSeen = old.Position.LastSeen
		fmt.Fprintf(w, "  current: window_end %s, last_seen %s, %d seen rows\n", orDash(offsetsFormat(old.Position.WindowEnd, loc)), orDash(offsetsFormat(old.Position.LastSeen, loc)), len(old.Position.Seen))
	}
	fmt.Fprintf(w, "  new:     window_end %s, last_seen %s, no seen rows\n", at(we), orDash(offsetsFormat(pos.LastSeen, loc)))
	next, err := source.NextRead(*rc, we, loc)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nThe next read starts at %s (%s).\n", at(next), nextReadRule(rc))
	if had && old.Err == nil && !old.Position.WindowEnd.IsZero() {
		oldEnd := old.Position.WindowEnd
		if oldEnd.After(next) {
			fmt.Fprintf(w, "warning: rows from %s to %s were already delivered and will be delivered again: the seen rows that recognised them are dropped.\n", at(next), at(oldEnd))
		}
		if next.After(oldEnd) {
			fmt.Fprintf(w, "warning: rows from %s to %s have not been read and will be skipped.\n", at(oldEnd), at(next))
		}
	}
	fmt.Fprintf(w, "\n%s\n", offsetsStopFirst(c.Config().Name, o.txnPrefix))
	if !yes {
		return errNotConfirmed
	}
	txnID := source.TransactionalID(o.txnPrefix, c.Config().Name)
	store, err := o.store(txnID)
	if err != nil {
		return err
	}
	if err := store.Set(ctx, key, pos); err != nil {
		return offsetsWriteError(store.Topic(), err)
	}
	fmt.Fprintf(w, "\nwritten with transactional ID %s.\n%s\n", txnID, offsetsFencedNote(c.Config().Name))
	return nil
}

// nextReadRule says, in words, how the engine's NextRead placed the next read.
func nextReadRule(rc *source.ReportConfig) string {
	rep, _ := catalog.Lookup(rc.API) // the configuration was validated
	switch rep.Kind {
	case catalog.RangeAggregate:
		return fmt.Sprintf("the start of the %s bucket window_end is in", rc.Bucket)
	case catalog.Bucketed:
		return fmt.Sprintf("window_end minus the lookback of %s, aligned down to a bucket of the report, within its day", rc.Lookback)
	}
	return fmt.Sprintf("window_end minus the lookback of %s", rc.Lookback)
}

// offsetsWriteError adds the fix to a write into an offsets topic that does not exist.
func offsetsWriteError(topic string, err error) error {
	if errors.Is(err, kerr.UnknownTopicOrPartition) {
		return fmt.Errorf("%w (the offsets topic %s does not exist: the worker creates it when it starts; check topics.offsets)", err, topic)
	}
	return err
}

// offsetsStopFirst is said before a write: the connector must not be running.
func offsetsStopFirst(name, prefix string) string {
	return "Stop " + name + " first (stop the worker, or the connector through the worker's REST API). The write\n" +
		"uses its transactional ID " + source.TransactionalID(prefix, name) + ", which fences an instance still running."
}

// offsetsFencedNote explains what the write did to a running instance.
func offsetsFencedNote(name string) string {
	return "A running instance of " + name + " with that ID is now fenced: its next commit fails and it stops\n" +
		"instead of overwriting this. Restart the connector (or the worker) to continue from here."
}

func offsetsFormat(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format(time.RFC3339)
}

// offsetsStart describes where a report without a position starts.
func offsetsStart(rc *source.ReportConfig, loc *time.Location) string {
	if rc.Start.IsZero() {
		return fmt.Sprintf("the current time minus its lookback of %s", rc.Lookback)
	}
	return "its configured start, " + rc.Start.In(loc).Format(time.RFC3339)
}

func (o *offsetsSession) reset(ctx context.Context, report string, all, yes bool) error {
	switch {
	case report == "" && !all:
		return fmt.Errorf("%w: give --report KEY, or --all to reset every report of the connector", errUsage)
	case report != "" && all:
		return fmt.Errorf("%w: give --report KEY or --all, not both", errUsage)
	}
	c, err := connectorByFlag(o.settings, o.file, o.connector)
	if err != nil {
		return err
	}
	store, err := o.store("")
	if err != nil {
		return err
	}
	entries, err := store.List(ctx)
	if err != nil {
		return fmt.Errorf("reading %s: %w", store.Topic(), err)
	}
	mine := slices.DeleteFunc(entries, func(e offsets.Entry) bool { return e.Key.Connector != c.Config().Name })

	// The keys to reset, each with the configured report it belongs to (nil: a report
	// the file no longer lists).
	type target struct {
		key   offsets.Key
		rc    *source.ReportConfig
		entry offsets.Entry
	}
	var targets []target
	configured := func(k offsets.Key) *source.ReportConfig {
		for i := range c.Config().Reports {
			if source.OffsetKey(c.Config(), c.Config().Reports[i]).String() == k.String() {
				return &c.Config().Reports[i]
			}
		}
		return nil
	}
	w := o.env.stdout
	if all {
		for _, e := range mine {
			targets = append(targets, target{key: e.Key, rc: configured(e.Key), entry: e})
		}
	} else {
		rcv, rerr := reportByFlag(c, o.file, report)
		rc := &rcv
		if rerr != nil {
			// A position the file no longer owns is reset by the key 'offsets list' shows.
			i := slices.IndexFunc(mine, func(e offsets.Entry) bool { return offsetsReportKey(e.Key) == report })
			if i < 0 {
				return rerr
			}
			targets = append(targets, target{key: mine[i].Key, entry: mine[i]})
		} else {
			key := source.OffsetKey(c.Config(), *rc)
			i := slices.IndexFunc(mine, func(e offsets.Entry) bool { return e.Key.String() == key.String() })
			if i < 0 {
				fmt.Fprintf(w, "connector %s, report %s has no stored position: it already starts at %s. Nothing to reset.\n", c.Config().Name, rc.Key(), offsetsStart(rc, c.Config().Location))
				return nil
			}
			targets = append(targets, target{key: key, rc: rc, entry: mine[i]})
		}
	}
	if len(targets) == 0 {
		fmt.Fprintf(w, "connector %s has no stored position. Nothing to reset.\n", c.Config().Name)
		return nil
	}
	fmt.Fprintf(w, "connector %s: reset %d position(s) in %s\n", c.Config().Name, len(targets), o.settings.Topics.Offsets)
	for _, t := range targets {
		was := "unreadable"
		if t.entry.Err == nil {
			was = fmt.Sprintf("window_end %s, %d seen rows", orDash(offsetsFormat(t.entry.Position.WindowEnd, c.Config().Location)), len(t.entry.Position.Seen))
		}
		then := "not in the configuration: if it is added again, it starts at its configured start"
		if t.rc != nil {
			then = "restarts at " + offsetsStart(t.rc, c.Config().Location)
		}
		fmt.Fprintf(w, "  %s (%s): %s\n", offsetsReportKey(t.key), was, then)
	}
	fmt.Fprintln(w, "warning: rows delivered since that start will be delivered again.")
	fmt.Fprintf(w, "\n%s\n", offsetsStopFirst(c.Config().Name, o.txnPrefix))
	if !yes {
		return errNotConfirmed
	}
	txnID := source.TransactionalID(o.txnPrefix, c.Config().Name)
	txStore, err := o.store(txnID)
	if err != nil {
		return err
	}
	for i, t := range targets {
		if err := txStore.Reset(ctx, t.key); err != nil {
			return fmt.Errorf("%d of %d reset: %w", i, len(targets), offsetsWriteError(txStore.Topic(), err))
		}
	}
	fmt.Fprintf(w, "\n%d tombstone(s) written with transactional ID %s.\n%s\n", len(targets), txnID, offsetsFencedNote(c.Config().Name))
	return nil
}
