package offsets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wolkvox-connect/wolkvox-connect/sink"
)

// EnsureTopic creates the offsets topic if it is missing: compacted, with
// max.message.bytes raised to TopicMaxMessageBytes so large positions fit. partitions
// and replicationFactor of -1 take the broker's defaults. An existing topic is accepted
// only if its cleanup.policy is exactly "compact" (as Kafka Connect insists for its own
// offsets topic): with "delete" or "compact,delete" retention would silently drop the
// position of a quiet report, which then restarts from scratch and repeats its rows. It
// refuses with a [*NotCompactedError] naming the topic and the fix. An existing topic's
// max.message.bytes is left alone: a position beyond it makes the commit fail loudly
// with MESSAGE_TOO_LARGE.
func EnsureTopic(ctx context.Context, adm *kadm.Client, topic string, partitions int32, replicationFactor int16) error {
	_, err := adm.CreateTopic(ctx, partitions, replicationFactor, map[string]*string{
		"cleanup.policy":    kadm.StringPtr("compact"),
		"max.message.bytes": kadm.StringPtr(fmt.Sprint(TopicMaxMessageBytes)),
	}, topic)
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, kerr.TopicAlreadyExists):
		return fmt.Errorf("offsets: create topic %q: %w", topic, err)
	}
	// The topic exists, but when someone else created it a moment ago (another connector
	// of the worker sharing this offsets topic, another worker, a test) the broker that
	// answers may not know it yet: a KRaft broker learns a new topic from the metadata log
	// shortly after the controller has created it, and says UNKNOWN_TOPIC_OR_PARTITION
	// until then. Ask again for a while.
	var rc kadm.ResourceConfig
	for wait, deadline := 10*time.Millisecond, time.Now().Add(topicVisibleTimeout); ; wait = min(2*wait, time.Second) {
		rc, err = describeTopicConfigs(ctx, adm, topic)
		if err == nil || !errors.Is(err, kerr.UnknownTopicOrPartition) || time.Now().Add(wait).After(deadline) {
			break
		}
		if sleepErr := sleepCtx(ctx, wait); sleepErr != nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("offsets: describe topic %q: %w", topic, err)
	}
	policy := "delete" // Kafka's default when the broker does not report one
	for _, c := range rc.Configs {
		if c.Key == "cleanup.policy" {
			policy = c.MaybeValue()
		}
	}
	if strings.TrimSpace(policy) != "compact" {
		return &NotCompactedError{Topic: topic, Policy: policy}
	}
	return nil
}

// topicVisibleTimeout bounds how long EnsureTopic waits for a topic that the controller
// says exists to be known to the broker it asks.
const topicVisibleTimeout = 30 * time.Second

func describeTopicConfigs(ctx context.Context, adm *kadm.Client, topic string) (kadm.ResourceConfig, error) {
	rcs, err := adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		return kadm.ResourceConfig{}, err
	}
	rc, err := rcs.On(topic, nil)
	if err == nil {
		err = rc.Err
	}
	return rc, err
}

// sleepCtx waits d or until ctx ends, returning ctx.Err() then.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Store reads and writes the positions in one offsets topic. It holds no connection:
// each call opens the clients it needs and closes them before returning, so a Store
// needs no Close and is safe for concurrent use.
type Store struct {
	topic string
	cfg   cfg
}

// Opt configures a [Store]; see [NewStore].
type Opt interface{ apply(*cfg) }

type optFunc func(*cfg)

func (f optFunc) apply(c *cfg) { f(c) }

type cfg struct {
	seeds     []string
	kafkaOpts []kgo.Opt
	logger    *slog.Logger
	txnID     string
	txnTO     time.Duration
}

func defaultCfg() cfg {
	return cfg{
		logger: slog.New(slog.DiscardHandler),
		txnTO:  time.Minute,
	}
}

// Seeds sets the brokers to bootstrap from; required unless KafkaOpts carries
// kgo.SeedBrokers.
func Seeds(seeds ...string) Opt { return optFunc(func(c *cfg) { c.seeds = seeds }) }

// KafkaOpts adds client options (TLS, SASL, dialer, hooks) to every client the store
// opens, after the store's own, so they win on conflict.
func KafkaOpts(opts ...kgo.Opt) Opt {
	return optFunc(func(c *cfg) { c.kafkaOpts = append(c.kafkaOpts, opts...) })
}

// Logger sets the logger, overriding the default that discards everything.
func Logger(l *slog.Logger) Opt { return optFunc(func(c *cfg) { c.logger = l }) }

// TransactionalID sets the transactional ID that [Store.Apply], Set and Reset write
// with, required for them: the ID the connector's own sink uses, so that changing a
// position fences a running instance of the connector (its next commit fails instead
// of overwriting the change, and its restart reads the new position). This is Kafka
// Connect's "connector must be STOPPED" rule for offset changes, enforced rather than
// trusted.
func TransactionalID(id string) Opt { return optFunc(func(c *cfg) { c.txnID = id }) }

// NewStore returns a store for the offsets topic. It does no I/O.
func NewStore(topic string, opts ...Opt) (*Store, error) {
	c := defaultCfg()
	for _, o := range opts {
		o.apply(&c)
	}
	if topic == "" {
		return nil, errors.New("offsets: empty topic name")
	}
	if c.logger == nil {
		return nil, errors.New("offsets: nil logger")
	}
	c.logger = c.logger.With("component", "offsets", "topic", topic)
	return &Store{topic: topic, cfg: c}, nil
}

// EnsureTopic creates the store's topic if it is missing, as the package's EnsureTopic
// does, on a client of its own: so that offsets can be set before a connector first ran.
func (s *Store) EnsureTopic(ctx context.Context, replicationFactor int16) error {
	cl, err := kgo.NewClient(s.clientOpts()...)
	if err != nil {
		return fmt.Errorf("offsets: client: %w", err)
	}
	defer cl.Close()
	return EnsureTopic(ctx, kadm.NewClient(cl), s.topic, 1, replicationFactor)
}

// Topic returns the offsets topic.
func (s *Store) Topic() string { return s.topic }

func (s *Store) clientOpts(extra ...kgo.Opt) []kgo.Opt {
	opts := []kgo.Opt{kgo.WithLogger(sink.KafkaLogger(s.cfg.logger))}
	if len(s.cfg.seeds) > 0 {
		opts = append(opts, kgo.SeedBrokers(s.cfg.seeds...))
	}
	opts = append(opts, extra...)
	return append(opts, s.cfg.kafkaOpts...)
}

// Entry is one report's position as stored.
type Entry struct {
	Key      Key
	Position Position
	// Err is set, and Position zero, when the value cannot be read (see Load).
	Err error
}

// Load returns the positions of connector's reports, keyed by the encoded [Key], as
// committed: it reads the topic from the start under read_committed up to the high
// watermark it finds when called, applies records in order (the last one wins, a
// tombstone deletes), and so never returns a position from an aborted or still open
// transaction. A missing or empty topic yields no positions. Records of other
// connectors and keys that are not this package's shape are skipped. A value that
// cannot be read fails the whole load with a [*CorruptError] (errors.Is ErrCorrupt, and
// ErrUnsupportedVersion for a newer format): guessing would lose or repeat rows.
//
// Why the high watermark and not the last stable offset: every connector of a worker,
// or of a group, commits its positions to this one partition, so the last stable offset
// is held back by whichever transaction is open there, and a crashed worker's stay
// open until their connectors start again elsewhere. A read that stopped there missed
// the positions committed above it, and the connector read those windows again: rows
// delivered twice. Load instead waits until every transaction open when it was called
// has ended, each within its transaction timeout, and usually within a commit.
//
// Call Load after the sink's Open has fenced the previous instance and aborted its
// transaction; otherwise Load waits for that transaction's timeout.
func (s *Store) Load(ctx context.Context, connector string) (map[string]Position, error) {
	out := make(map[string]Position)
	err := s.read(ctx, true, func(k Key, enc string, r *kgo.Record) error {
		if k.Connector != connector {
			return nil
		}
		if r.Value == nil {
			delete(out, enc)
			return nil
		}
		var p Position
		if err := p.Unmarshal(r.Value); err != nil {
			return &CorruptError{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: enc, Err: err}
		}
		out[enc] = p
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// List returns every report's committed position in the topic, all connectors, sorted
// by encoded key. Unlike Load it does not fail on an unreadable value: the entry
// carries the error, so an operator can see and fix it. It is what an operator is shown,
// never where a connector resumes, so it reads only to the last stable offset and does
// not wait for open transactions: a running or crashed instance's (which offsets set
// then fences) would hold it for up to their timeout. A position committed above
// another's open transaction shows once that ends.
func (s *Store) List(ctx context.Context) ([]Entry, error) {
	byKey := make(map[string]Entry)
	err := s.read(ctx, false, func(k Key, enc string, r *kgo.Record) error {
		if r.Value == nil {
			delete(byKey, enc)
			return nil
		}
		e := Entry{Key: k}
		if err := e.Position.Unmarshal(r.Value); err != nil {
			e.Err = &CorruptError{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: enc, Err: err}
		}
		byKey[enc] = e
		return nil
	})
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]Entry, len(keys))
	for i, k := range keys {
		out[i] = byKey[k]
	}
	return out, nil
}

// Change is one report's new position for [Store.Apply]; a nil Position resets it.
type Change struct {
	Key      Key
	Position *Position
}

// Set writes pos as key's position, in a transaction of its own (see TransactionalID),
// and returns once read_committed readers (Load, List) see it.
func (s *Store) Set(ctx context.Context, key Key, pos Position) error {
	return s.Apply(ctx, Change{Key: key, Position: &pos})
}

// Reset writes a tombstone for key, in a transaction of its own (see TransactionalID),
// and returns once read_committed readers see it: the report starts over from its
// configured start.
func (s *Store) Reset(ctx context.Context, key Key) error {
	return s.Apply(ctx, Change{Key: key})
}

// Apply writes every change in one transaction, so readers see all of them or none: a
// reset of a connector's reports that fails midway leaves every position as it was.
// It writes with the store's [TransactionalID] (ErrNoTransactionalID without one) and
// returns once read_committed readers see the changes.
func (s *Store) Apply(ctx context.Context, changes ...Change) error {
	if len(changes) == 0 {
		return nil
	}
	id := s.cfg.txnID
	if id == "" {
		return ErrNoTransactionalID
	}
	recs := make([]*kgo.Record, 0, len(changes))
	for _, ch := range changes {
		rec, err := Record(s.topic, ch.Key, ch.Position)
		if err != nil {
			return err
		}
		recs = append(recs, rec)
	}
	what := changes[0].Key.String()
	if len(changes) > 1 {
		what = fmt.Sprintf("%d positions of %s", len(changes), changes[0].Key.Connector)
	}
	cl, err := kgo.NewClient(s.clientOpts(
		kgo.TransactionalID(id),
		kgo.TransactionTimeout(s.cfg.txnTO),
		kgo.ProducerBatchMaxBytes(TopicMaxMessageBytes),
	)...)
	if err != nil {
		return fmt.Errorf("offsets: client: %w", err)
	}
	defer cl.Close()
	// InitProducerID first: it fences whoever held the ID and aborts their open
	// transaction, so this write cannot interleave with theirs.
	if _, _, err := cl.ProducerID(ctx); err != nil {
		return fmt.Errorf("offsets: init producer id %q: %w", id, err)
	}
	if err := cl.BeginTransaction(); err != nil {
		return fmt.Errorf("offsets: begin transaction: %w", err)
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		endCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.txnTO)
		defer cancel()
		abortErr := cl.AbortBufferedRecords(endCtx)
		if abortErr == nil {
			abortErr = cl.EndTransaction(endCtx, kgo.TryAbort)
		}
		return errors.Join(fmt.Errorf("offsets: write %s: %w", what, err), abortErr)
	}
	// Never cancel EndTransaction midway: the outcome would be unknown.
	endCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.txnTO)
	defer cancel()
	if err := cl.EndTransaction(endCtx, kgo.TryCommit); err != nil {
		return fmt.Errorf("offsets: commit %s: %w", what, err)
	}
	// Kafka answers EndTxn before it writes the commit markers, so a Load right now
	// could still miss the write; wait until the last stable offset passes it.
	adm := kadm.NewClient(cl)
	for _, rec := range recs {
		if err := waitStable(ctx, adm, rec); err != nil {
			return fmt.Errorf("offsets: %s committed, but not yet visible: %w", what, err)
		}
	}
	for _, ch := range changes {
		s.cfg.logger.InfoContext(ctx, "offset written", "key", ch.Key.String(), "tombstone", ch.Position == nil)
	}
	return nil
}

// waitStable returns once the last stable offset of r's partition is past r.
func waitStable(ctx context.Context, adm *kadm.Client, r *kgo.Record) error {
	const poll = 20 * time.Millisecond
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		lso, err := adm.ListCommittedOffsets(ctx, r.Topic)
		if err != nil {
			return err
		}
		if o, ok := lso.Lookup(r.Topic, r.Partition); ok && o.Err == nil && o.Offset > r.Offset {
			return nil
		}
		t.Reset(poll)
	}
}

// read calls fn for every committed data record of the topic whose key decodes, in
// offset order per partition, up to the high watermark taken at the start when
// toHighWater (see Load), else the last stable offset; a missing topic holds nothing.
// The first error fn returns ends the read and is returned.
func (s *Store) read(ctx context.Context, toHighWater bool, fn func(k Key, enc string, r *kgo.Record) error) error {
	var records, skipped int
	var fnErr error
	opts := s.clientOpts(kgo.FetchMaxPartitionBytes(TopicMaxMessageBytes))
	var more []sink.ReaderOpt
	if toHighWater {
		more = append(more, sink.ToHighWatermark())
	}
	err := sink.ReadCommitted(ctx, opts, []string{s.topic}, func(r *kgo.Record) bool {
		k, enc, err := canonical(r.Key)
		if err != nil {
			skipped++
			s.cfg.logger.DebugContext(ctx, "skipping record with a foreign key", "partition", r.Partition, "offset", r.Offset, "err", err)
			return true
		}
		records++
		fnErr = fn(k, enc, r)
		return fnErr == nil
	}, more...)
	if err != nil {
		return fmt.Errorf("offsets: read %q: %w", s.topic, err)
	}
	if fnErr != nil {
		return fnErr
	}
	s.cfg.logger.DebugContext(ctx, "offsets read", "records", records, "skipped", skipped)
	return nil
}
