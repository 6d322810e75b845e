package sink

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Reader reads topics the way a read_committed consumer sees them, without a group: it
// commits nothing and disturbs no one. By default [Reader.Read] goes from each
// partition's start to the last stable offset it finds when called, then ends;
// [FromEnd] starts at that offset instead, [Follow] keeps waiting for new commits.
//
// A Reader holds only its configuration: each Read owns a Kafka client for its
// duration and closes it before returning, so Reads may run one after another or at
// once.
type Reader struct {
	topics []string
	cfg    readerCfg
}

// ReaderOpt configures a [Reader]; see [NewReader].
type ReaderOpt interface{ applyReader(*readerCfg) }

type readerOptFunc func(*readerCfg)

func (f readerOptFunc) applyReader(c *readerCfg) { f(c) }

type readerCfg struct {
	kafkaOpts    []kgo.Opt
	fromEnd      bool
	follow       bool
	toHighWater  bool
	missingEmpty bool
	onDataLoss   func(*DataLossError)
	listTimeout  time.Duration
	afterList    func() // set by tests (export_test.go) to act between listing and fetching
}

// ReaderKafkaOpts adds the client options: seeds (kgo.SeedBrokers, required), TLS,
// SASL, a logger, and consumer options such as kgo.FetchMaxPartitionBytes. The
// reader's own (isolation, control records, offset reset) are applied after them.
func ReaderKafkaOpts(opts ...kgo.Opt) ReaderOpt {
	return readerOptFunc(func(c *readerCfg) { c.kafkaOpts = append(c.kafkaOpts, opts...) })
}

// FromEnd starts each partition at its last stable offset, overriding the default of
// its start: only records committed from then on are read. It needs [Follow].
func FromEnd() ReaderOpt { return readerOptFunc(func(c *readerCfg) { c.fromEnd = true }) }

// Follow keeps reading after the last stable offset found when Read began, overriding
// the default of ending there: Read then returns only when ctx is done or fn has
// stopped every topic. Partitions added to a topic later are not read.
func Follow() ReaderOpt { return readerOptFunc(func(c *readerCfg) { c.follow = true }) }

// ToHighWatermark ends each partition at its high watermark when Read begins, overriding
// the default of its last stable offset: Read then waits for the transactions open at
// that moment to end (each within its transaction timeout), so a record committed before
// Read began is read even when an older, still open transaction of another producer held
// the last stable offset below it. For a reader that must see the latest committed value
// of a key, whoever else writes to the partition.
func ToHighWatermark() ReaderOpt { return readerOptFunc(func(c *readerCfg) { c.toHighWater = true }) }

// MissingTopicsEmpty reads a topic the cluster does not have as empty, overriding the
// default of failing Read with an [*UnknownTopicError].
func MissingTopicsEmpty() ReaderOpt {
	return readerOptFunc(func(c *readerCfg) { c.missingEmpty = true })
}

// OnDataLoss makes Read skip records that are gone and tell fn, overriding the default
// of returning the [*DataLossError]. fn runs on Read's goroutine, between calls of
// Read's record function.
func OnDataLoss(fn func(*DataLossError)) ReaderOpt {
	return readerOptFunc(func(c *readerCfg) { c.onDataLoss = fn })
}

// ListTimeout bounds each listing of offsets (at the start, and after a data loss),
// overriding the default of no bound but ctx: a command can fail on an unreachable
// broker instead of waiting silently.
func ListTimeout(d time.Duration) ReaderOpt {
	return readerOptFunc(func(c *readerCfg) { c.listTimeout = d })
}

// NewReader returns a Reader of topics. It does no I/O.
func NewReader(topics []string, opts ...ReaderOpt) (*Reader, error) {
	var c readerCfg
	for _, o := range opts {
		o.applyReader(&c)
	}
	var errs []error
	if len(topics) == 0 {
		errs = append(errs, errors.New("sink: reader: no topic to read"))
	}
	for _, t := range topics {
		if err := ValidateTopic(t); err != nil {
			errs = append(errs, err)
		}
	}
	if c.toHighWater && c.follow {
		errs = append(errs, errors.New("sink: reader: ToHighWatermark sets an end, which Follow has not"))
	}
	if c.fromEnd && !c.follow {
		errs = append(errs, errors.New("sink: reader: FromEnd without Follow would read nothing"))
	}
	if c.listTimeout < 0 {
		errs = append(errs, errors.New("sink: reader: ListTimeout must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Reader{topics: slices.Clone(topics), cfg: c}, nil
}

// Read calls fn with every data record, in offset order within its partition; fn
// returns false to stop reading that record's topic. It returns nil once every topic
// is stopped or (without [Follow]) read to its end, and ctx.Err() when ctx is done.
// Records of aborted transactions are never passed on; records committed after Read
// began are passed on only with Follow.
//
// The end of a partition is its last stable offset when Read begins: under
// read_committed nothing past it can be read yet. Control records are kept so that a
// partition ending in a commit marker is seen to end. A partition whose last records
// before that offset belong to an aborted transaction whose marker lies beyond it (two
// producers' transactions interleaved) is seen to end only once a record past it is
// committed; the connector has one producer per topic, so this only happens with
// foreign writers.
func (r *Reader) Read(ctx context.Context, fn func(*kgo.Record) bool) error {
	cl, err := kgo.NewClient(append(slices.Clone(r.cfg.kafkaOpts),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
		// Without a reset, records deleted before they were fetched come back as
		// OFFSET_OUT_OF_RANGE, so that Read can report them (see resume); kgo would
		// go on at the log start and only log it.
		kgo.ConsumeResetOffset(kgo.NoResetOffset()),
	)...)
	if err != nil {
		return fmt.Errorf("sink: read: %w", err)
	}
	defer cl.Close()
	rd := &reading{cfg: &r.cfg, cl: cl, adm: kadm.NewClient(cl), cursors: map[partition]*cursor{}}
	from, err := rd.list(ctx, r.topics)
	if err != nil {
		return err
	}
	if r.cfg.afterList != nil {
		r.cfg.afterList()
	}
	if rd.open == 0 {
		return nil
	}
	cl.AddConsumePartitions(from)
	for rd.open > 0 {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := rd.fetchErrors(ctx, fetches); err != nil {
			return err
		}
		for it := fetches.RecordIter(); !it.Done(); {
			rec := it.Next()
			c := rd.cursors[partition{rec.Topic, rec.Partition}]
			if c == nil || c.done {
				continue
			}
			c.next = rec.Offset + 1
			if c.end >= 0 && c.next >= c.end {
				rd.finish(c)
				if rec.Offset >= c.end {
					continue // committed after Read began
				}
			}
			if !rec.Attrs.IsControl() && !fn(rec) {
				rd.stop(rec.Topic)
			}
		}
	}
	return nil
}

// ReadCommitted reads topics with a [Reader] from each partition's start to the last
// stable offset it finds when called (or, with [ToHighWatermark] among more, its high
// watermark), reading a missing topic as empty; see [Reader.Read] for fn and the end.
// Records deleted under it (retention) fail it with a [*DataLossError].
//
// opts are the connection options (seeds, TLS, SASL) and may add consumer options such
// as kgo.FetchMaxPartitionBytes. The worker's readers use it: the offsets store loading
// positions, a backfill collecting what a topic holds, the demo printing sample events,
// tests comparing topics with ground truth.
func ReadCommitted(ctx context.Context, opts []kgo.Opt, topics []string, fn func(*kgo.Record) bool, more ...ReaderOpt) error {
	r, err := NewReader(topics, append([]ReaderOpt{ReaderKafkaOpts(opts...), MissingTopicsEmpty()}, more...)...)
	if err != nil {
		return err
	}
	return r.Read(ctx, fn)
}

// partition names one partition of a topic.
type partition struct {
	topic string
	id    int32
}

// cursor is where a Read is in one partition.
type cursor struct {
	partition
	next int64 // the offset after the last record seen (control records too), or the start
	end  int64 // exclusive: the last stable offset when Read began; -1 with Follow
	done bool  // read to its end, or its topic stopped
}

// reading is the state of one Read; only Read's goroutine touches it.
type reading struct {
	cfg     *readerCfg
	cl      *kgo.Client
	adm     *kadm.Client
	cursors map[partition]*cursor
	open    int // cursors not done: Read ends when none is left
}

// listContext bounds a listing by the ListTimeout, if any.
func (rd *reading) listContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if rd.cfg.listTimeout > 0 {
		return context.WithTimeout(ctx, rd.cfg.listTimeout)
	}
	return context.WithCancel(ctx)
}

// list sets up a cursor per partition of topics and returns where to start consuming
// the partitions that have something to read.
func (rd *reading) list(ctx context.Context, topics []string) (map[string]map[int32]kgo.Offset, error) {
	lctx, cancel := rd.listContext(ctx)
	defer cancel()
	list := rd.adm.ListCommittedOffsets
	if rd.cfg.toHighWater {
		list = rd.adm.ListEndOffsets
	}
	ends, err := list(lctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("sink: read: listing committed offsets: %w", err)
	}
	var starts kadm.ListedOffsets
	if !rd.cfg.fromEnd {
		if starts, err = rd.adm.ListStartOffsets(lctx, topics...); err != nil {
			return nil, fmt.Errorf("sink: read: listing start offsets: %w", err)
		}
	}
	from := map[string]map[int32]kgo.Offset{}
	var errs []error
	for _, topic := range topics {
		listed := ends[topic]
		if len(listed) == 0 { // a topic without partitions, as if it were not there
			listed = map[int32]kadm.ListedOffset{-1: {Err: kerr.UnknownTopicOrPartition}}
		}
		missing := false
		for p, e := range listed {
			if errors.Is(e.Err, kerr.UnknownTopicOrPartition) {
				missing = true
				continue
			}
			start := e.Offset
			if e.Err == nil && !rd.cfg.fromEnd {
				switch s, ok := starts.Lookup(topic, p); {
				case !ok:
					e.Err = errors.New("start offset not listed")
				case s.Err != nil:
					e.Err = s.Err
				default:
					start = s.Offset
				}
			}
			if e.Err != nil {
				errs = append(errs, fmt.Errorf("offsets of %s/%d: %w", topic, p, e.Err))
				continue
			}
			c := &cursor{partition: partition{topic, p}, next: start, end: -1}
			if !rd.cfg.follow {
				c.end = e.Offset
			}
			rd.cursors[c.partition] = c
			if c.end >= 0 && start >= c.end {
				c.done = true
				continue
			}
			if from[topic] == nil {
				from[topic] = map[int32]kgo.Offset{}
			}
			from[topic][p] = kgo.NewOffset().At(start)
			rd.open++
		}
		if missing && !rd.cfg.missingEmpty {
			errs = append(errs, &UnknownTopicError{Topic: topic})
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("sink: read: %w", err)
	}
	return from, nil
}

// finish marks c done.
func (rd *reading) finish(c *cursor) {
	if !c.done {
		c.done = true
		rd.open--
	}
}

// stop marks every partition of topic done.
func (rd *reading) stop(topic string) {
	for p, c := range rd.cursors {
		if p.topic == topic {
			rd.finish(c)
		}
	}
}

// fetchErrors handles the errors of a fetch: data loss is skipped (see resume), an
// error of a partition that is done ends its consumption, any other ends Read.
func (rd *reading) fetchErrors(ctx context.Context, fetches kgo.Fetches) error {
	var lost []*DataLossError
	var drop map[string][]int32
	var errs []error
	fetches.EachError(func(topic string, p int32, err error) {
		c := rd.cursors[partition{topic, p}]
		var dl *kgo.ErrDataLoss
		switch {
		case c != nil && c.done:
			if drop == nil {
				drop = map[string][]int32{}
			}
			drop[topic] = append(drop[topic], p)
		case c != nil && errors.Is(err, kerr.OffsetOutOfRange):
			lost = append(lost, &DataLossError{Topic: topic, Partition: p, Offset: c.next, Resume: -1, Err: err})
		case c != nil && errors.As(err, &dl):
			lost = append(lost, &DataLossError{Topic: topic, Partition: p, Offset: dl.ConsumedTo, Resume: dl.ResetTo, Err: err})
		default:
			errs = append(errs, fmt.Errorf("fetching %s/%d: %w", topic, p, err))
		}
	})
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sink: read: %w", err)
	}
	if drop != nil {
		rd.cl.RemoveConsumePartitions(drop)
	}
	if len(lost) == 0 {
		return nil
	}
	return rd.resume(ctx, lost)
}

// resume goes on after records were lost: below the log start (deleted by retention
// or DeleteRecords, Resume -1) it moves the partition to the start; when kgo found the
// log truncated (Resume set) it has moved the partition itself. Either way the
// partition's end shrinks to today's last stable offset, since records past it may be
// gone too, and the loss is reported, or returned without OnDataLoss.
func (rd *reading) resume(ctx context.Context, lost []*DataLossError) error {
	var topics []string
	for _, l := range lost {
		if !slices.Contains(topics, l.Topic) {
			topics = append(topics, l.Topic)
		}
	}
	lctx, cancel := rd.listContext(ctx)
	defer cancel()
	starts, err := rd.adm.ListStartOffsets(lctx, topics...)
	if err != nil {
		return fmt.Errorf("sink: read: listing start offsets after a data loss: %w", err)
	}
	ends, err := rd.adm.ListCommittedOffsets(lctx, topics...)
	if err != nil {
		return fmt.Errorf("sink: read: listing committed offsets after a data loss: %w", err)
	}
	set := map[string]map[int32]kgo.EpochOffset{}
	for _, l := range lost {
		s, sok := starts.Lookup(l.Topic, l.Partition)
		e, eok := ends.Lookup(l.Topic, l.Partition)
		if err := errors.Join(s.Err, e.Err); err != nil || !sok || !eok {
			if err == nil {
				err = errors.New("not listed")
			}
			return fmt.Errorf("sink: read: %w; listing its offsets: %w", l, err)
		}
		if l.Resume < 0 {
			switch {
			case l.Offset < s.Offset:
				l.Resume = s.Offset
			case l.Offset > e.Offset:
				l.Resume = e.Offset // the log was truncated below what was read
			default:
				return fmt.Errorf("sink: read: fetching %s/%d at offset %d, which the broker lists in range: %w", l.Topic, l.Partition, l.Offset, l.Err)
			}
			if set[l.Topic] == nil {
				set[l.Topic] = map[int32]kgo.EpochOffset{}
			}
			set[l.Topic][l.Partition] = kgo.EpochOffset{Epoch: -1, Offset: l.Resume}
		}
		if rd.cfg.onDataLoss == nil {
			return l
		}
		rd.cfg.onDataLoss(l)
		c := rd.cursors[partition{l.Topic, l.Partition}]
		c.next = l.Resume
		if c.end >= 0 {
			c.end = min(c.end, e.Offset)
			if c.next >= c.end {
				rd.finish(c)
			}
		}
	}
	rd.cl.SetOffsets(set)
	return nil
}
