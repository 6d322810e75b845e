package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kslog"

	"github.com/wolkvox-connect/wolkvox-connect/schemas"
	"github.com/wolkvox-connect/wolkvox-connect/sink"
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
	// The Kafka client's goroutines log while tail reports a data loss: one serialized
	// writer keeps their lines whole and the writer safe to share.
	stderr := console.New(env.stderr, false)
	// The logger exists before the file is read; the file's secrets join it then.
	red := source.NewRedactor()
	log := slog.New(red.Handler(quietLogger(stderr).Handler()))
	topic, kopts, dec, err := f.resolve(env, red, log)
	if err != nil {
		return err
	}
	follow := f.follow || !f.fromBeginning
	opts := []sink.ReaderOpt{sink.ReaderKafkaOpts(append(kopts, kgo.WithLogger(kslog.New(log)))...),
		sink.ListTimeout(tailListTimeout),
		// Records deleted or lost under tail: say so, and go on where they resume.
		sink.OnDataLoss(func(e *sink.DataLossError) { fmt.Fprintf(stderr, "tail: %v\n", e) })}
	if !f.fromBeginning {
		opts = append(opts, sink.FromEnd())
	}
	if follow {
		opts = append(opts, sink.Follow())
	}
	r, err := sink.NewReader([]string{topic}, opts...)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(env.stdout)
	enc.SetEscapeHTML(false)
	printed := 0
	var werr error
	err = r.Read(ctx, func(rec *kgo.Record) bool {
		if werr = enc.Encode(dec.DecodeRecord(ctx, rec)); werr != nil {
			return false
		}
		printed++
		return f.max == 0 || printed < f.max
	})
	switch {
	case ctx.Err() != nil:
		return nil // Ctrl-C is a normal stop
	case errors.Is(err, sink.ErrUnknownTopic):
		return fmt.Errorf("topic not found: %s does not exist on the cluster (has the connector written anything yet? is the topic template right?)", topic)
	case err != nil:
		return err
	case werr != nil:
		return fmt.Errorf("writing an event: %w", werr)
	case printed == 0 && !follow:
		fmt.Fprintf(stderr, "tail: %s has no committed event to show\n", topic)
	}
	return nil
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
// the decoder, which logs to log.
func (f *tailFlags) resolve(env *environment, red *source.Redactor, log *slog.Logger) (string, []kgo.Opt, *schemas.Decoder, error) {
	if f.config == "" {
		dopts := []schemas.Opt{schemas.WithLogger(log)}
		if f.registry != "" {
			dopts = append(dopts, schemas.RegistryURLs(f.registry))
		}
		dec, err := schemas.NewDecoder(dopts...)
		return f.topic, []kgo.Opt{kgo.SeedBrokers(f.brokers...)}, dec, err
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
	dec, err := s.Decoder(log, version)
	if err != nil {
		return "", nil, nil, err
	}
	topic := f.topic
	if topic == "" {
		c, err := s.Connector(f.connector)
		if err != nil {
			return "", nil, nil, lookupError(f.config, err)
		}
		rc, err := c.Config().Report(f.report)
		if err != nil {
			return "", nil, nil, lookupError(f.config, err)
		}
		topic = c.Topics()[rc.Key()]
	}
	return topic, kopts, dec, nil
}
