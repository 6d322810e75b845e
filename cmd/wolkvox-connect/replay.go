package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wolkvox-connect/wolkvox-connect/sink"
	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/config"
	"github.com/wolkvox-connect/wolkvox-connect/source/console"
	"github.com/wolkvox-connect/wolkvox-connect/source/replay"
)

// replayCommand is "wolkvox-connect replay".
func replayCommand() command {
	return command{
		name:    "replay",
		summary: "Replay the latest version of each row of a past range from the topics, never calling Wolkvox",
		usage: "--config FILE [--connector NAME] (--report KEY | --all) --from TIME --to TIME\n" +
			"       [--format json|ocf] [--output FILE] | [--into TOPIC]\n\n" +
			"Reads each report's topic read_committed, twice: first to find each row's latest\n" +
			"version (by key: the highest offset on its partition), then to write those whose\n" +
			"event time (wv_event_time, or wv_window_start for rows without a time) lies in\n" +
			"[--from, --to): from included, to excluded, both in the connector's zone unless\n" +
			"they carry an offset. A row whose latest version is a tombstone is left out.\n" +
			"Memory grows with the number of distinct rows of a topic (50 to 100 bytes each),\n" +
			"not with the records read.\n\n" +
			"Outputs:\n" +
			"  --format json  JSON lines as tail prints them, to --output or stdout (any number of reports)\n" +
			"  --format ocf   an Avro object container file with the report's schema, to --output\n" +
			"                 (one report: a file holds one schema)\n" +
			"  --into TOPIC   the records as they are (key, value, headers) into TOPIC, in one\n" +
			"                 transaction: read_committed consumers see all or nothing; after a\n" +
			"                 crash, run the same command again (it aborts the old transaction)\n\n" +
			"A progress bar goes to stderr on a terminal, and the counts at the end: to stderr\n" +
			"when the rows go to stdout, to stdout otherwise.",
		example: "wolkvox-connect replay --config worker.yaml --connector bogota --report diagram_13 --from 2026-11-01 --to 2026-11-08 --format ocf --output diagram_13.avro",
		run:     runReplay,
	}
}

// replayFlags are the replay command's flags once parsed.
type replayFlags struct {
	connector, report, from, to string
	all                         bool
	format, output, into        string
	txnTimeout                  time.Duration
}

func runReplay(ctx context.Context, env *environment, fs *pflag.FlagSet, args []string) error {
	var o overrides
	var f replayFlags
	o.register(fs, env, false)
	fs.StringVar(&f.connector, "connector", "", "the connector whose reports to replay (required when the file has several)")
	fs.StringVar(&f.report, "report", "", `the report: api name or key as 'wolkvox-connect offsets list' shows it, e.g. "act_3,cod_act=cod_act1"`)
	fs.BoolVar(&f.all, "all", false, "replay every report of the connector, one after the other (json only)")
	fs.StringVar(&f.from, "from", "", `start of the event-time range, included: RFC 3339, a date "2026-11-01" (midnight in the connector's zone) or "today" (required)`)
	fs.StringVar(&f.to, "to", "", "end of the range, excluded, same forms (required)")
	fs.StringVar(&f.format, "format", "json", "json (JSON lines) or ocf (Avro object container file)")
	fs.StringVarP(&f.output, "output", "o", "", "file to write (created or truncated); json defaults to stdout, ocf requires it")
	fs.StringVar(&f.into, "into", "", "write the rows into this topic in one transaction instead of a file")
	fs.DurationVar(&f.txnTimeout, "transaction-timeout", replay.DefaultTransactionTimeout, "with --into: the transaction's timeout, at most the broker's transaction.max.timeout.ms")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := f.check(fs); err != nil {
		return err
	}
	s, err := o.load(env)
	if err != nil {
		return err
	}
	conn, err := s.Connector(f.connector)
	if err != nil {
		return lookupError(o.config, err)
	}
	cfg := conn.Config()
	rcs := cfg.Reports
	if !f.all {
		rc, err := cfg.Report(f.report)
		if err != nil {
			return lookupError(o.config, err)
		}
		rcs = []source.ReportConfig{rc}
	}
	topics := conn.Topics()
	reports := make([]replay.Report, len(rcs))
	for i, rc := range rcs {
		reports[i] = replay.Report{Key: rc.Key(), API: rc.API, Topic: topics[rc.Key()]}
	}
	from, to, err := replayRange(f.from, f.to, cfg.Location, time.Now())
	if err != nil {
		return err
	}

	term := console.New(env.stderr, console.IsTerminal(env.stderr, env.getenv))
	log, red := s.Logger(term)
	kopts, err := s.Kafka.Opts()
	if err != nil {
		return err
	}
	dec, err := s.Decoder(log, version)
	if err != nil {
		return err
	}
	// Where the rows go, and where the counts go: not into the rows.
	summary := env.stdout
	var out replay.Output
	var file *os.File
	var buf *bufio.Writer
	switch {
	case f.into != "":
		out = replay.ToTopic(f.into, replay.TransactionTimeout(f.txnTimeout),
			replay.TransactionalID(source.TransactionalID(conn.TransactionalIDPrefix(), cfg.Name+"-replay-"+f.into)))
	default:
		w := env.stdout
		if f.output != "" && f.output != "-" {
			if file, err = os.Create(f.output); err != nil {
				return err
			}
			defer file.Close()
			w = file
		} else {
			summary = env.stderr
		}
		buf = bufio.NewWriterSize(w, 64<<10)
		if f.format == "ocf" {
			out = replay.OCF(buf)
		} else {
			out = replay.JSONLines(buf)
		}
	}
	r, err := replay.New(reports, from, to, out, replay.KafkaOpts(append(kopts, kgo.WithLogger(sink.KafkaLogger(log)))...),
		replay.WithDecoder(dec), replay.WithLogger(log))
	if err != nil {
		return err
	}
	var counts replay.Counts
	err = red.Error(term.Watch(ctx, 500*time.Millisecond, func(ctx context.Context) error {
		var err error
		counts, err = r.Run(ctx)
		return err
	}, func() (string, bool) { return replayLine(r.Progress()) + "\n", false }))
	if buf != nil {
		if ferr := buf.Flush(); err == nil && ferr != nil {
			err = fmt.Errorf("writing %s: %w", cmp.Or(f.output, "stdout"), ferr)
		}
	}
	if file != nil {
		if cerr := file.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}
	term.Show(replayLine(r.Progress()) + "\n")
	term.Keep()
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("interrupted: %s; run the same command again", replayLeftover(f))
	case errors.Is(err, sink.ErrUnknownTopic):
		return fmt.Errorf("%w (has the connector written anything yet?)", err)
	case err != nil:
		return fmt.Errorf("%w; %s", err, replayLeftover(f))
	}
	dest := cmp.Or(f.output, "stdout")
	if f.into != "" {
		dest = f.into
	}
	var per []string
	for _, rep := range reports {
		per = append(per, fmt.Sprintf("%s %d", rep.Key, counts.ByReport[rep.Key]))
	}
	fmt.Fprintf(summary, "replayed %s..%s into %s: %s (%s); left out: %s outside the range, %s; %s in %s\n",
		from.Format(time.RFC3339), to.Format(time.RFC3339), dest, plural(counts.Written, "row"), strings.Join(per, ", "),
		plural(counts.OutOfRange, "row"), plural(counts.Deleted, "deleted row"), plural(counts.Keys, "distinct row"), plural(counts.Records, "record"))
	return nil
}

// replayLeftover says what a failed replay left behind.
func replayLeftover(f replayFlags) string {
	switch {
	case f.into != "":
		return "nothing of it was committed to " + f.into
	case f.output != "" && f.output != "-":
		return f.output + " is incomplete"
	}
	return "the output is incomplete"
}

// check rejects flag combinations that do not name the reports and one output.
func (f *replayFlags) check(fs *pflag.FlagSet) error {
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	case f.all == (f.report != ""):
		return fmt.Errorf("%w: give --report KEY or --all", errUsage)
	case f.from == "" || f.to == "":
		return fmt.Errorf("%w: --from and --to are required", errUsage)
	case f.format != "json" && f.format != "ocf":
		return fmt.Errorf("%w: --format %q: use json or ocf", errUsage, f.format)
	case f.into != "" && (fs.Changed("format") || f.output != ""):
		return fmt.Errorf("%w: --into writes to a topic: --format and --output are for files", errUsage)
	case f.into == "" && fs.Changed("transaction-timeout"):
		return fmt.Errorf("%w: --transaction-timeout is for --into", errUsage)
	case f.into != "" && f.txnTimeout <= 0:
		return fmt.Errorf("%w: --transaction-timeout must be positive", errUsage)
	case f.format == "ocf" && (f.output == "" || f.output == "-"):
		return fmt.Errorf("%w: --format ocf needs --output FILE", errUsage)
	case f.all && (f.format == "ocf" || f.into != ""):
		return fmt.Errorf("%w: --all replays several reports, which only --format json can hold in one output; give --report for ocf or --into", errUsage)
	}
	return nil
}

// replayRange reads --from and --to as backfill does, in loc.
func replayRange(fromFlag, toFlag string, loc *time.Location, now time.Time) (from, to time.Time, err error) {
	var bounds [2]time.Time
	for i, fv := range []struct{ flag, value string }{{"--from", fromFlag}, {"--to", toFlag}} {
		t, err := config.ParseInstant(fv.value, loc, now)
		if problem := config.CheckInstant(t, now); err == nil && problem != "" {
			err = fmt.Errorf("%s; give a time between %s and a year from now", problem, config.EarliestStart.Format(time.DateOnly))
		}
		if err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("%w: %s: %v", errUsage, fv.flag, err)
		}
		bounds[i] = t
	}
	if !bounds[0].Before(bounds[1]) {
		return time.Time{}, time.Time{}, fmt.Errorf("%w: --from %s is not before --to %s", errUsage, fromFlag, toFlag)
	}
	return bounds[0], bounds[1], nil
}

// replayLine is the progress bar of a replay.
func replayLine(p replay.Progress) string {
	if p.Report == "" {
		return "replay: starting"
	}
	frac := 0.0
	if p.Records > 0 {
		frac = min(float64(p.Read)/float64(p.Records), 1)
	}
	// Each report is read twice: indexing is the first half of its share, writing the second.
	done := float64(p.Index - 1)
	switch p.Phase {
	case replay.Indexing:
		done += frac / 2
	case replay.Writing:
		done += 0.5 + frac/2
	case replay.Done:
		done = float64(p.Of)
	}
	total := done / float64(max(p.Of, 1))
	const width = 30
	filled := int(total * width)
	return fmt.Sprintf("[%s%s] %3.0f%% %s (%d/%d) %s: %d of %d records read, %s written",
		strings.Repeat("#", filled), strings.Repeat(".", width-filled), 100*total, p.Report, p.Index, p.Of, p.Phase,
		p.Read, p.Records, plural(p.Written, "row"))
}
