package source

import (
	"cmp"
	"log/slog"
	"slices"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wolkvox-connect/wolkvox-connect/offsets"
	"github.com/wolkvox-connect/wolkvox-connect/schemas"
	"github.com/wolkvox-connect/wolkvox-connect/sink"
	"github.com/wolkvox-connect/wolkvox-connect/source/wolkvox"
)

// Default topic names.
const (
	DefaultTopicTemplate   = "wolkvox.{connector}.{report}"
	DefaultOffsetsTopic    = "wolkvox-connect-offsets"
	DefaultDeadLetterTopic = "wolkvox-connect-dlq"
	DefaultTxnIDPrefix     = "wolkvox-connect-"
)

// Opt configures a Connector.
type Opt interface{ apply(*options) }

type optFunc func(*options)

func (f optFunc) apply(o *options) { f(o) }

type options struct {
	dest              Destination
	extraKafkaOpts    []kgo.Opt
	sourceOpts        []wolkvox.Opt
	quota             *Quota
	producerMemory    *sink.Budget
	encoder           *schemas.Encoder
	converter         *schemas.Converter
	clock             Clock
	logger            *slog.Logger
	observer          Observer
	maxBackoff        time.Duration
	futureTolerance   time.Duration
	stallTimeout      time.Duration
	redactor          *Redactor
	exitWhenAllFailed bool
	assigned          bool
	backfill          *backfillSpec
	newBackoff        func() backoff.BackOff
}

func defaultOptions() options {
	o := options{
		converter:       &schemas.Converter{},
		clock:           WallClock{},
		logger:          slog.New(slog.DiscardHandler),
		maxBackoff:      5 * time.Minute,
		futureTolerance: DefaultFutureTolerance,
		stallTimeout:    DefaultStallTimeout,
	}
	o.newBackoff = func() backoff.BackOff {
		return backoff.NewExponentialBackOff(backoff.WithInitialInterval(5*time.Second),
			backoff.WithMaxInterval(o.maxBackoff), backoff.WithMaxElapsedTime(0))
	}
	return o
}

// Destination is the Kafka side of a worker, the engine's one collaborator for it:
// the cluster, the topics it writes and remembers in, the prefix of its transactional
// IDs, and how missing topics are created. Every connector opens its own transactional
// writer and offsets store from it (see writer and store). Fields left zero take the
// defaults (DefaultTopicTemplate, DefaultOffsetsTopic, DefaultDeadLetterTopic,
// DefaultTxnIDPrefix, the broker's partitions and replication), here and nowhere else.
type Destination struct {
	// Seeds are the bootstrap brokers (required); ClientOpts add TLS, SASL, hooks.
	Seeds      []string
	ClientOpts []kgo.Opt
	// TopicTemplate names each report's topic: {connector}, {server} and {report} are
	// replaced.
	TopicTemplate string
	// OffsetsTopic is the compacted topic positions are kept in; DeadLetterTopic
	// receives the rows that cannot be converted.
	OffsetsTopic, DeadLetterTopic string
	// TransactionalIDPrefix + a connector's name is its stable transactional ID.
	TransactionalIDPrefix string
	// NewTopics is how missing report, dead-letter and offsets topics are created.
	NewTopics sink.TopicSettings
}

// resolve applies opts over the defaults.
func resolve(opts []Opt) options {
	o := defaultOptions()
	for _, opt := range opts {
		opt.apply(&o)
	}
	o.dest = o.dest.withDefaults()
	o.dest.ClientOpts = append(slices.Clone(o.dest.ClientOpts), o.extraKafkaOpts...)
	return o
}

func (d Destination) withDefaults() Destination {
	d.TopicTemplate = cmp.Or(d.TopicTemplate, DefaultTopicTemplate)
	d.OffsetsTopic = cmp.Or(d.OffsetsTopic, DefaultOffsetsTopic)
	d.DeadLetterTopic = cmp.Or(d.DeadLetterTopic, DefaultDeadLetterTopic)
	d.TransactionalIDPrefix = cmp.Or(d.TransactionalIDPrefix, DefaultTxnIDPrefix)
	d.NewTopics.Partitions = cmp.Or(d.NewTopics.Partitions, -1)
	d.NewTopics.ReplicationFactor = cmp.Or(d.NewTopics.ReplicationFactor, -1)
	return d
}

// writer is the transactional writer of connector, logging to log; its buffered
// records draw on memory (nil: a budget of its own, sink.DefaultMaxBufferedBytes).
func (d Destination) writer(connector string, log *slog.Logger, memory *sink.Budget) (*sink.Writer, error) {
	opts := []sink.Opt{}
	if memory != nil {
		opts = append(opts, sink.SharedBudget(memory))
	}
	return sink.NewWriter(append(opts,
		sink.Seeds(d.Seeds...),
		sink.TransactionalID(TransactionalID(d.TransactionalIDPrefix, connector)),
		sink.KafkaOpts(d.ClientOpts...),
		sink.Logger(log),
		sink.Topics(d.NewTopics),
		sink.OffsetsTopic(d.OffsetsTopic),
		sink.DeadLetterTopic(d.DeadLetterTopic),
	)...)
}

// store is the offsets store; with a connector, it writes with the connector's
// transactional ID, so a change fences any instance of it still running.
func (d Destination) store(connector string, log *slog.Logger) (*offsets.Store, error) {
	opts := []offsets.Opt{offsets.Seeds(d.Seeds...), offsets.KafkaOpts(d.ClientOpts...), offsets.Logger(log)}
	if connector != "" {
		opts = append(opts, offsets.TransactionalID(TransactionalID(d.TransactionalIDPrefix, connector)))
	}
	return offsets.NewStore(d.OffsetsTopic, opts...)
}

// quota is the daily call budget of cfg's token, its count kept in the offsets topic
// under the token's own transactional ID (QuotaTransactionalID), shared by every
// process that writes to this destination with the token: a backfill's too, whose
// connectors' IDs differ.
func (d Destination) quota(cfg Config, log *slog.Logger) (*Quota, error) {
	store, err := d.store("", log)
	if err != nil {
		return nil, err
	}
	hash := offsets.TokenHash(cfg.Token.Reveal())
	ledger, err := offsets.NewLedger(store, hash, QuotaTransactionalID(d.TransactionalIDPrefix, hash))
	if err != nil {
		return nil, err
	}
	return NewQuota(cfg.DailyQuota, cfg.QuotaResetHour, cfg.withDefaults().Location, KeptIn(ledger))
}

// readOpts are the client options of a reader of the destination's topics.
func (d Destination) readOpts() []kgo.Opt {
	return append([]kgo.Opt{kgo.SeedBrokers(d.Seeds...)}, d.ClientOpts...)
}

// WriteTo sets where the connectors write. Required: Seeds at least. The last one
// given wins.
func WriteTo(d Destination) Opt { return optFunc(func(o *options) { o.dest = d }) }

// KafkaOpts adds client options to the destination's, wherever WriteTo is given
// (metrics hooks, say).
func KafkaOpts(opts ...kgo.Opt) Opt {
	return optFunc(func(o *options) { o.extraKafkaOpts = append(o.extraKafkaOpts, opts...) })
}

// SourceOpts are passed to the Wolkvox client after the connector's own: its limits
// (MaxBodyBytes, MaxRowBytes, a RowCap lowered in tests with the simulator's). The
// engine builds each connector's client itself, from the Config (server, token, zone,
// base URL) and the token group's Limiter, since it installs its own call hook; this is
// the one way in for the rest.
func SourceOpts(opts ...wolkvox.Opt) Opt {
	return optFunc(func(o *options) { o.sourceOpts = append(o.sourceOpts, opts...) })
}

// SharedQuota makes the connector spend from q, shared with every connector that uses
// the same token. Default: a quota of its own from Config.DailyQuota.
func SharedQuota(q *Quota) Opt { return optFunc(func(o *options) { o.quota = q }) }

// DefaultProducerMemory is the memory a Worker's connectors' buffered records take at
// most, all together, unless ProducerMemory says otherwise: the producers' buffers and
// the in-memory part of their transactions' spools. A window's rows stream into its
// transaction, so this is what stands between a fast answer and a slower Kafka; beyond
// it rows wait in a spool file. It is what one connector's producer buffers on its own
// (sink.DefaultMaxBufferedBytes), so a lone connector is as fast as without a shared
// bound, and twenty now share it. BenchmarkWorkerProcess, twenty connectors catching up
// one 60,000-row window each at once: 16 MiB, 253 MiB peak RSS and 18.3 CPU s; 32 MiB,
// 287 MiB and 17.1 s; with no shared bound (16 MiB each), 628 MiB and 14.2 s.
const DefaultProducerMemory = 16 << 20

// ProducerMemory makes the connector's buffered records draw on b, shared with every
// connector given the same b (see sink.Budget). A Worker gives all its connectors one
// budget, of DefaultProducerMemory unless this option says otherwise. Default for a
// connector built alone: a budget of its own, sink.DefaultMaxBufferedBytes.
func ProducerMemory(b *sink.Budget) Opt { return optFunc(func(o *options) { o.producerMemory = b }) }

// Encoder encodes events. Default: Avro single-object encoding, no Schema Registry.
func Encoder(e *schemas.Encoder) Opt { return optFunc(func(o *options) { o.encoder = e }) }

// WithClock sets the clock; default the wall clock.
func WithClock(c Clock) Opt { return optFunc(func(o *options) { o.clock = c }) }

// Logger sets the logger; default discards.
func Logger(l *slog.Logger) Opt { return optFunc(func(o *options) { o.logger = l }) }

// WithObserver receives events for metrics and progress views.
func WithObserver(obs Observer) Opt { return optFunc(func(o *options) { o.observer = obs }) }

// MaxBackoff caps the wait between failed windows of a report. Default 5m.
func MaxBackoff(d time.Duration) Opt { return optFunc(func(o *options) { o.maxBackoff = d }) }

// DefaultFutureTolerance is how far past now a row's time may lie and still count for
// last_seen: enough for a clock off by some minutes, not for a row dated next year.
const DefaultFutureTolerance = time.Hour

// FutureTolerance sets how far past the connector's clock a row's time may lie and
// still move last_seen (and so the lag). Later rows are delivered all the same and
// counted in ReportStatus.FutureRows. Default DefaultFutureTolerance.
func FutureTolerance(d time.Duration) Opt { return optFunc(func(o *options) { o.futureTolerance = d }) }

// DefaultStallTimeout is how long a report may read or commit without progress before
// its status says Stalled: longer than one call may take (the API allows 60 s, the
// client waits 90 s) plus the client's longest wait between retries (2 min).
const DefaultStallTimeout = 5 * time.Minute

// StallTimeout sets how long a report may go on reading (with no answer at all) or
// committing before ReportStatus.Stalled is set and the worker reads not ready.
// Default DefaultStallTimeout.
func StallTimeout(d time.Duration) Opt { return optFunc(func(o *options) { o.stallTimeout = d }) }

// WithRedactor sets the Redactor that hides secrets in the connector's logs and in the
// errors its status shows; the connector adds its own token to it. Pass one Redactor
// holding every secret of the process (SASL and registry passwords, the REST token).
// Default: a Redactor of the connector's token alone.
func WithRedactor(r *Redactor) Opt { return optFunc(func(o *options) { o.redactor = r }) }

// ExitWhenAllFailed makes Worker.Run return ErrAllConnectorsFailed once every connector
// has FAILED (a refused token, fencing, every report failed), so that a supervisor
// (systemd, Kubernetes) sees the process end instead of a healthy-looking worker that
// does nothing. Connectors stopped on purpose do not count as failed. Default: the
// worker runs on, its status and /readyz saying what failed.
func ExitWhenAllFailed() Opt { return optFunc(func(o *options) { o.exitWhenAllFailed = true }) }

// WindowStats describes one committed window.
type WindowStats struct {
	Rows, DeadLetters, Duplicates int64
	// FutureRows were delivered but dated beyond now + FutureTolerance, so they did not
	// move LastSeen.
	FutureRows       int64
	LastSeen, Cursor time.Time
}

// Observer is told what a connector does, for metrics and progress views. Its methods
// are called from the connector's goroutine and must not block.
type Observer interface {
	// Call is told of every HTTP call, retries included, made for report (its key).
	Call(connector, report string, call wolkvox.Call)
	Window(connector, report string, s WindowStats)
	Split(connector, report string)
	Transaction(connector, report string, committed bool)
}

// Assigned makes a worker one of a group of workers (see package cluster): Run starts
// no connector, and [Worker.Assign] says which ones this worker runs. Without it, Run
// starts them all.
func Assigned() Opt { return optFunc(func(o *options) { o.assigned = true }) }
