package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/plugin/kslog"

	"github.com/wolkvox-connect/wolkvox-connect/schemas"
	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/config"
	"github.com/wolkvox-connect/wolkvox-connect/source/console"
)

// tailListTimeout bounds tail's first step, listing the topic's offsets: an unreachable
// broker should fail the command, not leave it waiting silently.
const tailListTimeout = 30 * time.Second

// tailCommand is "wolkvox-connect tail".
func tailCommand() command {
	return command{
		name:    "tail",
		summary: "Print a report's events from Kafka as JSON lines, decoded from Avro",
		usage: "--config FILE [--connector NAME] --report REPORT [flags]\n" +
			"   or: wolkvox-connect tail --brokers HOST:PORT --topic TOPIC [--registry URL] [flags]\n\n" +
			"Reads the report's topic as a read_committed consumer without a group: it commits\n" +
			"nothing and disturbs no one. Each event is one line:\n" +
			`  {"topic":...,"partition":...,"offset":...,"key":...,"headers":{...},"value":{...}}` + "\n" +
			"value is the decoded Avro record as plain JSON: unions unwrapped, timestamps as\n" +
			"RFC 3339 strings in UTC, dates as YYYY-MM-DD. An event that cannot be decoded is\n" +
			`printed with "value":null, "error" and its bytes in "raw" (base64), and tail goes on.` + "\n\n" +
			"Without --from-beginning tail starts at the end and only shows events committed from\n" +
			"then on, so it waits for them as with --follow. With --from-beginning it stops at the\n" +
			"end of the topic, unless --follow. --max stops it earlier; Ctrl-C stops it any time.\n\n" +
			"REPORT is the api name (diagram_13) or the report key the connector shows\n" +
			"(act_3,cod_act=cod_act1). Both wire formats are decoded: single-object encoding with\n" +
			"the built-in schemas, and the Confluent format with the configured schema registry.",
		example: "wolkvox-connect tail --config worker.yaml --connector bogota --report diagram_13 --from-beginning --max 5",
		run:     runTail,
	}
}

// tailFlags are the tail command's flags once parsed.
type tailFlags struct {
	config, connector, report string
	topic, registry           string
	brokers                   []string
	fromBeginning, follow     bool
	max                       int
}

func runTail(ctx context.Context, env *environment, fs *pflag.FlagSet, args []string) error {
	var f tailFlags
	configFlag(fs, &f.config, "", "configuration file (YAML): Kafka, schema registry, topics and connectors")
	fs.StringVar(&f.connector, "connector", "", "connector whose report to read (optional when the file has one connector)")
	fs.StringVar(&f.report, "report", "", "report to read: api name or report key")
	fs.StringVar(&f.topic, "topic", "", "read this topic instead of a report's (with --brokers, or with --config for its Kafka settings)")
	fs.StringSliceVar(&f.brokers, "brokers", nil, "seed brokers host:port, comma-separated (without --config)")
	fs.StringVar(&f.registry, "registry", "", "schema registry URL for Confluent-framed events (without --config)")
	fs.BoolVar(&f.fromBeginning, "from-beginning", false, "start at the oldest event kept, instead of the end")
	fs.BoolVarP(&f.follow, "follow", "f", false, "keep waiting for new events after reaching the end")
	fs.IntVarP(&f.max, "max", "n", 0, "stop after this many events (0: no limit)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := f.check(fs); err != nil {
		return err
	}
	// The Kafka client's goroutines log while tail reports a skipped data loss: one
	// serialized writer keeps their lines whole and the writer safe to share.
	stderr := console.New(env.stderr, false)
	// The logger exists before the file is read; the file's secrets join it then.
	red := source.NewRedactor()
	log := slog.New(red.Handler(quietLogger(stderr).Handler()))
	topic, kopts, decOpts, err := f.resolve(env, red)
	if err != nil {
		return err
	}
	dec, err := schemas.NewDecoder(append(decOpts, schemas.WithLogger(log))...)
	if err != nil {
		return err
	}
	t := &tailer{
		out: env.stdout, stderr: stderr, log: log, kopts: kopts, topic: topic, dec: dec,
		fromBeginning: f.fromBeginning, follow: f.follow || !f.fromBeginning, max: f.max,
	}
	return t.run(ctx)
}

// check rejects flag combinations that do not name exactly one topic and one cluster.
func (f *tailFlags) check(fs *pflag.FlagSet) error {
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	case f.max < 0:
		return fmt.Errorf("%w: --max %d: give a positive count, or 0 for no limit", errUsage, f.max)
	case f.config == "" && len(f.brokers) == 0:
		return fmt.Errorf("%w: give --config FILE (and --report), or --brokers HOST:PORT and --topic", errUsage)
	case f.config != "" && len(f.brokers) > 0:
		return fmt.Errorf("%w: --brokers is for use without --config, whose kafka.brokers it would contradict; give one or the other", errUsage)
	case f.config != "" && f.registry != "":
		return fmt.Errorf("%w: --registry is for use without --config; set schema_registry.url in the file instead", errUsage)
	case f.config == "" && f.topic == "":
		return fmt.Errorf("%w: without --config, give the topic to read with --topic", errUsage)
	case f.config == "" && (f.connector != "" || f.report != ""):
		return fmt.Errorf("%w: --connector and --report need --config; without one, give --topic", errUsage)
	case f.topic != "" && (f.connector != "" || f.report != ""):
		return fmt.Errorf("%w: give either --topic or --connector/--report, not both", errUsage)
	case f.config != "" && f.topic == "" && f.report == "":
		return fmt.Errorf("%w: --report is required with --config (or give --topic)", errUsage)
	}
	return nil
}

// resolve turns the flags into the topic to read, the client options to reach it and
// the decoder's options.
func (f *tailFlags) resolve(env *environment, red *source.Redactor) (string, []kgo.Opt, []schemas.Opt, error) {
	if f.config == "" {
		var dopts []schemas.Opt
		if f.registry != "" {
			dopts = append(dopts, schemas.RegistryURLs(f.registry))
		}
		return f.topic, []kgo.Opt{kgo.SeedBrokers(f.brokers...)}, dopts, nil
	}
	s, err := config.Load(f.config, env.getenv)
	if err != nil {
		return "", nil, nil, err
	}
	s.HideSecrets(red)
	kopts, err := s.Kafka.Opts()
	if err != nil {
		return "", nil, nil, err
	}
	ropts, err := s.SchemaRegistry.Opts(version)
	if err != nil {
		return "", nil, nil, err
	}
	var dopts []schemas.Opt
	if ropts != nil {
		cl, err := sr.NewClient(ropts...)
		if err != nil {
			return "", nil, nil, fmt.Errorf("schema registry client: %w", err)
		}
		dopts = append(dopts, schemas.Registry(cl))
	}
	topic := f.topic
	if topic == "" {
		c, err := connectorByFlag(s, f.config, f.connector)
		if err != nil {
			return "", nil, nil, err
		}
		rc, err := reportByFlag(c, f.config, f.report)
		if err != nil {
			return "", nil, nil, err
		}
		topic = c.Topics()[rc.Key()]
	}
	return topic, kopts, dopts, nil
}

// quietLogger is the logger of the one-shot commands (tail, offsets): warnings and errors
// only, on stderr, so that the Kafka client's routine messages do not drown the output.
func quietLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// connectorByFlag is the connector --connector names in the file s was loaded from
// (an empty name picks a file's only connector), with the fix for the flag.
func connectorByFlag(s *config.Settings, file, name string) (*source.Connector, error) {
	c, err := s.Connector(name)
	var unknown *config.UnknownConnectorError
	if errors.As(err, &unknown) {
		return nil, fmt.Errorf("%w: %s %v (fix --connector)", errUsage, file, err)
	}
	return c, err
}

// reportByFlag is the report of c that --report names, with the fix for the flag.
func reportByFlag(c *source.Connector, file, key string) (source.ReportConfig, error) {
	rc, err := c.Config().Report(key)
	var unknown *source.UnknownReportError
	if errors.As(err, &unknown) && !unknown.Ambiguous {
		return rc, fmt.Errorf("%w: %s: %v (fix --report, or add the report to the file)", errUsage, file, err)
	}
	if err != nil {
		return rc, fmt.Errorf("%w: %v", errUsage, err)
	}
	return rc, nil
}

// errTopicNotFound is returned by tail for a topic the cluster does not have.
var errTopicNotFound = errors.New("topic not found")

// tailer reads one topic and prints its events. It owns its Kafka clients for the
// duration of run, which closes them before returning.
type tailer struct {
	out, stderr   io.Writer
	log           *slog.Logger
	kopts         []kgo.Opt
	topic         string
	dec           *schemas.Decoder
	fromBeginning bool
	follow        bool
	max           int
}

// tailEvent is one printed line. Field order is the line's.
type tailEvent struct {
	Topic     string            `json:"topic"`
	Partition int32             `json:"partition"`
	Offset    int64             `json:"offset"`
	Key       *string           `json:"key"` // null for a record without a key
	Headers   map[string]string `json:"headers"`
	Value     any               `json:"value"`
	Error     string            `json:"error,omitempty"`
	Raw       []byte            `json:"raw,omitempty"`
}

// run prints events until --max, the end (without follow), or ctx is cancelled, which
// is a normal stop (Ctrl-C) and returns nil.
//
// The end of a partition is its last stable offset when tail starts: under
// read_committed nothing past it can be read yet. Control records are kept so that a
// partition ending in a commit marker is seen to end. A partition whose last records
// before that offset belong to an aborted transaction whose marker lies beyond it (two
// producers' transactions interleaved) never shows its end; the connector has one
// producer per topic, so this only happens with foreign writers, and --max or Ctrl-C
// still stop tail.
func (t *tailer) run(ctx context.Context) error {
	start, remaining, err := t.offsets(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	if !t.follow && len(remaining) == 0 {
		fmt.Fprintf(t.stderr, "tail: %s has no committed event to show\n", t.topic)
		return nil
	}
	cl, err := kgo.NewClient(append(slices.Clone(t.kopts),
		kgo.WithLogger(kslog.New(t.log)),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{t.topic: start}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
	)...)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()

	enc := json.NewEncoder(t.out)
	enc.SetEscapeHTML(false)
	printed := 0
	for t.follow || len(remaining) > 0 {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err := t.fetchErrors(fetches); err != nil {
			return err
		}
		for it := fetches.RecordIter(); !it.Done(); {
			r := it.Next()
			if end, ok := remaining[r.Partition]; ok && r.Offset+1 >= end {
				delete(remaining, r.Partition)
			}
			if r.Attrs.IsControl() {
				continue
			}
			if err := enc.Encode(t.event(ctx, r)); err != nil {
				return fmt.Errorf("writing an event: %w", err)
			}
			printed++
			if t.max > 0 && printed >= t.max {
				return nil
			}
		}
	}
	return nil
}

// offsets lists where to start in each partition and, for each partition with events
// between that start and its end, the end (exclusive).
func (t *tailer) offsets(ctx context.Context) (map[int32]kgo.Offset, map[int32]int64, error) {
	cl, err := kgo.NewClient(append(slices.Clone(t.kopts), kgo.WithLogger(kslog.New(t.log)))...)
	if err != nil {
		return nil, nil, fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(ctx, tailListTimeout)
	defer cancel()
	starts, err := adm.ListStartOffsets(ctx, t.topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		if errors.Is(err, kerr.UnknownTopicOrPartition) {
			return nil, nil, fmt.Errorf("%w: %s does not exist on the cluster (has the connector written anything yet? is the topic template right?)", errTopicNotFound, t.topic)
		}
		return nil, nil, fmt.Errorf("listing the offsets of %s: %w", t.topic, err)
	}
	ends, err := adm.ListCommittedOffsets(ctx, t.topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("listing the committed offsets of %s: %w", t.topic, err)
	}
	start := map[int32]kgo.Offset{}
	remaining := map[int32]int64{}
	starts.Each(func(s kadm.ListedOffset) {
		e, ok := ends.Lookup(s.Topic, s.Partition)
		if !ok {
			return
		}
		if !t.fromBeginning {
			// The last stable offset, not the high watermark: events of a transaction
			// open now are shown once it commits.
			start[s.Partition] = kgo.NewOffset().At(e.Offset)
			return
		}
		start[s.Partition] = kgo.NewOffset().At(s.Offset)
		if e.Offset > s.Offset {
			remaining[s.Partition] = e.Offset
		}
	})
	if len(start) == 0 {
		return nil, nil, fmt.Errorf("%w: %s has no partitions", errTopicNotFound, t.topic)
	}
	return start, remaining, nil
}

// fetchErrors returns the first fetch error that ends tail. Data loss (the log was
// truncated under tail) is reported and skipped: the client resumes where it can.
func (t *tailer) fetchErrors(fetches kgo.Fetches) error {
	var fatal error
	fetches.EachError(func(topic string, p int32, err error) {
		var lost *kgo.ErrDataLoss
		if errors.As(err, &lost) {
			fmt.Fprintf(t.stderr, "tail: %v\n", err)
			return
		}
		if fatal == nil {
			fatal = fmt.Errorf("fetching %s/%d: %w", topic, p, err)
		}
	})
	return fatal
}

// event builds the printed form of one record.
func (t *tailer) event(ctx context.Context, r *kgo.Record) tailEvent {
	ev := tailEvent{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Headers: make(map[string]string, len(r.Headers))}
	if r.Key != nil {
		k := string(r.Key)
		ev.Key = &k
	}
	// A repeated header keeps its last value, as most consumers' header maps do.
	for _, h := range r.Headers {
		ev.Headers[h.Key] = string(h.Value)
	}
	if r.Value == nil {
		return ev // a tombstone: "value":null with no error
	}
	decoded, err := t.dec.Decode(ctx, r.Value)
	if err != nil {
		ev.Error, ev.Raw = err.Error(), r.Value
		return ev
	}
	ev.Value = decoded
	return ev
}
