package sink

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Defaults of the options below.
const (
	DefaultTransactionTimeout = 5 * time.Minute
	DefaultDeadLetterTopic    = "wolkvox-connect-dlq"
	DefaultOffsetsTopic       = "wolkvox-connect-offsets"

	// DefaultMaxBufferedRecords and DefaultMaxBufferedBytes bound what the producer
	// holds (see MaxBuffered): bytes enough for several full batches to every
	// partition a window writes, and for the largest record a topic accepts by default
	// many times over; and as many records as those bytes hold at the least a record
	// takes (its RecordMemory), so the count never binds first. It used to be kgo's
	// 10,000, which a window's records (about 950 bytes each) reached with 9 of the 16
	// MiB held whenever acknowledgements lagged for a moment: the rest of the answer
	// then went through the spool file.
	DefaultMaxBufferedRecords = DefaultMaxBufferedBytes / recordOverhead
	DefaultMaxBufferedBytes   = 16 << 20
	// offsetsBatchMaxBytes lets one offset record carry a position of up to
	// offsets.MaxPositionBytes; the offsets topic is created to accept it
	// (offsets.TopicMaxMessageBytes). Other topics keep Kafka's 1 MB default, which
	// is what their brokers accept unless max.message.bytes was raised.
	offsetsBatchMaxBytes = 16 << 20
	eventsBatchMaxBytes  = 1_000_012
)

// Opt configures a [Writer]; see [NewWriter].
type Opt interface{ apply(*cfg) }

type optFunc func(*cfg)

func (f optFunc) apply(c *cfg) { f(c) }

type cfg struct {
	seeds        []string
	txnID        string
	kafkaOpts    []kgo.Opt
	logger       *slog.Logger
	topics       TopicSettings
	txnTimeout   time.Duration
	dlqTopic     string
	offsetsTopic string
	compression  []kgo.CompressionCodec

	maxBufferedRecords int
	maxBufferedBytes   int
	budget             *Budget
	spoolDir           string
}

func defaultCfg() cfg {
	return cfg{
		logger:       slog.New(slog.DiscardHandler),
		topics:       TopicSettings{Partitions: -1, ReplicationFactor: -1},
		txnTimeout:   DefaultTransactionTimeout,
		dlqTopic:     DefaultDeadLetterTopic,
		offsetsTopic: DefaultOffsetsTopic,
		compression:  []kgo.CompressionCodec{kgo.SnappyCompression(), kgo.NoCompression()},

		maxBufferedRecords: DefaultMaxBufferedRecords,
		maxBufferedBytes:   DefaultMaxBufferedBytes,
	}
}

func (c *cfg) validate() error {
	var errs []error
	if c.txnID == "" {
		errs = append(errs, errors.New("sink: TransactionalID is required: it is what fences a previous instance"))
	}
	if c.logger == nil {
		errs = append(errs, errors.New("sink: nil Logger"))
	}
	if c.txnTimeout < time.Second {
		errs = append(errs, errors.New("sink: TransactionTimeout must be at least 1s"))
	}
	if c.maxBufferedRecords <= 0 || c.maxBufferedBytes < eventsBatchMaxBytes {
		errs = append(errs, fmt.Errorf("sink: MaxBuffered: want at least 1 record and %d bytes (one record of a topic's default max.message.bytes)", eventsBatchMaxBytes))
	}
	if err := ValidateTopic(c.dlqTopic); err != nil {
		errs = append(errs, err)
	}
	if err := ValidateTopic(c.offsetsTopic); err != nil {
		errs = append(errs, err)
	}
	if c.topics.Partitions == 0 || c.topics.Partitions < -1 {
		errs = append(errs, errors.New("sink: Topics: Partitions must be positive, or -1 for the broker default"))
	}
	if c.topics.ReplicationFactor == 0 || c.topics.ReplicationFactor < -1 {
		errs = append(errs, errors.New("sink: Topics: ReplicationFactor must be positive, or -1 for the broker default"))
	}
	return errors.Join(errs...)
}

// Seeds sets the brokers to bootstrap from; required unless KafkaOpts carries
// kgo.SeedBrokers.
func Seeds(seeds ...string) Opt { return optFunc(func(c *cfg) { c.seeds = seeds }) }

// TransactionalID sets the transactional ID, required. Use one stable ID per
// connector ("wolkvox-connect-<connector>"): a new instance with the same ID fences
// the old one, which is what makes a restart exactly-once.
func TransactionalID(id string) Opt { return optFunc(func(c *cfg) { c.txnID = id }) }

// KafkaOpts adds client options: TLS, SASL, a dialer, and hooks such as
// kgo.WithHooks(kprom.NewMetrics("wolkvox_connect")) for Prometheus metrics. They are
// applied after the writer's own, so they win on conflict.
func KafkaOpts(opts ...kgo.Opt) Opt {
	return optFunc(func(c *cfg) { c.kafkaOpts = append(c.kafkaOpts, opts...) })
}

// Logger sets the logger for the writer and its Kafka client (through kslog),
// overriding the default that discards everything.
func Logger(l *slog.Logger) Opt { return optFunc(func(c *cfg) { c.logger = l }) }

// TopicSettings are what [Writer.EnsureTopics] creates missing topics with.
type TopicSettings struct {
	// Partitions and ReplicationFactor; -1 (the default) takes the broker's default.
	Partitions        int32
	ReplicationFactor int16
	// Configs are topic configs, e.g. {"retention.ms": "604800000"}.
	Configs map[string]string
}

// Topics sets how missing topics are created, overriding the broker's defaults for
// partitions and replication and no extra configs.
func Topics(s TopicSettings) Opt {
	return optFunc(func(c *cfg) {
		s.Configs = maps.Clone(s.Configs)
		c.topics = s
	})
}

// TransactionTimeout sets how long the broker lets a transaction stay open before it
// aborts it, overriding the default of 5 min; the writer itself gives up on a
// transaction at nine tenths of it (see [Writer.Begin]). It must be longer than the
// longest transaction: a window's rows stream into its transaction while it is read, so
// that is a window's reads (a bisected one makes several calls of up to a minute each)
// and its commit. It bounds how long a crashed instance's transaction holds back
// read_committed consumers if no new instance fences it (a restarted one fences it at
// once), and must not exceed the broker's transaction.max.timeout.ms (15 min by
// default).
func TransactionTimeout(d time.Duration) Opt { return optFunc(func(c *cfg) { c.txnTimeout = d }) }

// MaxBuffered bounds what the writer's producer buffers: records and bytes (keys,
// values and headers), overriding DefaultMaxBufferedRecords and 16 MiB. What a transaction produces
// beyond that waits in its spool (see [Txn]); bytes must hold the largest record any
// topic accepts. Without [SharedBudget], bytes is also the writer's own [Budget]: the
// memory its buffered and spooled records take.
func MaxBuffered(records, bytes int) Opt {
	return optFunc(func(c *cfg) { c.maxBufferedRecords, c.maxBufferedBytes = records, bytes })
}

// SharedBudget bounds the memory of the writer's buffered records with b, which other
// writers may share (see [Budget]), instead of a budget of its own.
func SharedBudget(b *Budget) Opt { return optFunc(func(c *cfg) { c.budget = b }) }

// SpoolDir sets where a transaction's spool file goes once its memory part is full,
// overriding os.TempDir(). The file is removed when the transaction ends; on a
// read-only root file system, mount a writable volume there.
func SpoolDir(dir string) Opt { return optFunc(func(c *cfg) { c.spoolDir = dir }) }

// DeadLetterTopic sets the dead-letter topic, overriding "wolkvox-connect-dlq".
func DeadLetterTopic(topic string) Opt { return optFunc(func(c *cfg) { c.dlqTopic = topic }) }

// OffsetsTopic names the offsets topic, overriding "wolkvox-connect-offsets": every
// batch's offset record must go there, and batches to it may reach 16 MiB so that
// large positions fit.
func OffsetsTopic(topic string) Opt { return optFunc(func(c *cfg) { c.offsetsTopic = topic }) }

// Compression sets the batch compression codecs in order of preference, overriding
// snappy (then none, for brokers that lack it). Snappy shrinks JSON and Avro rows
// several times at little CPU and keeps no state between batches. lz4 compresses as
// well, within 3% on the simulator's rows, but franz-go's lz4 writer takes 4 MiB block
// buffers for every batch: BenchmarkWindow60k measured 18 MiB more peak RSS for one
// window and 22 MiB more for a 256 MB answer, at the same CPU.
func Compression(codecs ...kgo.CompressionCodec) Opt {
	return optFunc(func(c *cfg) { c.compression = codecs })
}
