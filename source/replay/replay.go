package replay

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wolkvox-connect/wolkvox-connect/schemas"
	"github.com/wolkvox-connect/wolkvox-connect/sink"
)

// Report is one report to replay: its key, as the connector names it
// ("act_3,cod_act=cod_act1"), its api name and the topic its events are in.
type Report struct {
	Key, API, Topic string
}

// Counts is what a replay did, in total and per report.
type Counts struct {
	// Records is the number of data records the topics held (read in the first pass);
	// Read the number the second pass read before it had found every latest version.
	Records, Read int64
	// Keys is the number of distinct row keys found (the first pass's map).
	Keys int64
	// Written is the number of rows written to the output: the latest version of each
	// row in the range.
	Written int64
	// OutOfRange counts latest versions whose event time is outside [from, to);
	// Deleted latest versions that are tombstones.
	OutOfRange, Deleted int64
	// ByReport is Written per report key.
	ByReport map[string]int64
}

// Phase is where a replay is.
type Phase int

// The phases of a replay, per report.
const (
	Starting Phase = iota // listing the topic
	Indexing              // first pass: finding each key's latest version
	Writing               // second pass: writing the latest versions in range
	Done
)

func (p Phase) String() string {
	return [...]string{"starting", "indexing", "writing", "done"}[p]
}

// Progress is a snapshot of a running replay, for a progress bar.
type Progress struct {
	Report        string // the key of the report being replayed
	Index, Of     int    // its place among the reports, from 1
	Phase         Phase
	Read, Records int64 // records read in this pass, of about Records in the topic
	Written       int64 // rows written so far, over every report
}

// Opt configures a [Replayer]; see [New].
type Opt interface{ apply(*cfg) }

type optFunc func(*cfg)

func (f optFunc) apply(c *cfg) { f(c) }

type cfg struct {
	kafkaOpts []kgo.Opt
	decoder   *schemas.Decoder
	set       *schemas.Set
	log       *slog.Logger
	from, to  time.Time // the range, set by New
}

// KafkaOpts are the client options to reach the cluster: seeds (required), TLS, SASL.
func KafkaOpts(opts ...kgo.Opt) Opt {
	return optFunc(func(c *cfg) { c.kafkaOpts = append(c.kafkaOpts, opts...) })
}

// WithDecoder decodes the events, overriding the default of a decoder of the embedded
// schemas without a registry (which reads single-object events only): give the
// configured one for Confluent-framed events.
func WithDecoder(d *schemas.Decoder) Opt { return optFunc(func(c *cfg) { c.decoder = d }) }

// WithSchemas is the schema set whose current schema of a report an [OCF] file is
// written in, overriding the default of [schemas.Embedded].
func WithSchemas(s *schemas.Set) Opt { return optFunc(func(c *cfg) { c.set = s }) }

// WithLogger logs what the replay does, overriding the default of discarding it.
func WithLogger(l *slog.Logger) Opt { return optFunc(func(c *cfg) { c.log = l }) }

// Replayer replays reports from their topics. It owns no goroutine outside Run; its
// Progress may be called from any goroutine while Run runs.
type Replayer struct {
	reports  []Report
	from, to time.Time
	out      Output
	cfg      cfg

	mu       sync.Mutex
	progress Progress
	read     atomic.Int64 // records read in the current pass
	written  atomic.Int64
}

// New returns a Replayer of reports' latest row versions whose event time lies in
// [from, to), into out. It does no I/O.
func New(reports []Report, from, to time.Time, out Output, opts ...Opt) (*Replayer, error) {
	var c cfg
	for _, o := range opts {
		o.apply(&c)
	}
	var errs []error
	if len(reports) == 0 {
		errs = append(errs, errors.New("replay: no report to replay"))
	}
	for _, r := range reports {
		if err := sink.ValidateTopic(r.Topic); err != nil {
			errs = append(errs, fmt.Errorf("replay: report %s: %w", r.Key, err))
		}
	}
	if !from.Before(to) {
		errs = append(errs, fmt.Errorf("replay: the range's start %s is not before its end %s", from.Format(time.RFC3339), to.Format(time.RFC3339)))
	}
	if out == nil {
		errs = append(errs, errors.New("replay: no output"))
	} else if err := out.check(reports); err != nil {
		errs = append(errs, err)
	}
	if len(c.kafkaOpts) == 0 {
		errs = append(errs, errors.New("replay: no Kafka options: give KafkaOpts(kgo.SeedBrokers(...))"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.set == nil {
		set, err := schemas.Embedded()
		if err != nil {
			return nil, err
		}
		c.set = set
	}
	if c.decoder == nil {
		d, err := schemas.NewDecoder(schemas.WithSchemas(c.set), schemas.WithLogger(c.log))
		if err != nil {
			return nil, err
		}
		c.decoder = d
	}
	c.from, c.to = from, to
	return &Replayer{reports: slices.Clone(reports), from: from, to: to, out: out, cfg: c}, nil
}

// Progress returns what the replay has done so far.
func (r *Replayer) Progress() Progress {
	r.mu.Lock()
	p := r.progress
	r.mu.Unlock()
	p.Read, p.Written = r.read.Load(), r.written.Load()
	return p
}

func (r *Replayer) setPhase(i int, ph Phase, records int64) {
	r.mu.Lock()
	r.progress = Progress{Report: r.reports[i].Key, Index: i + 1, Of: len(r.reports), Phase: ph, Records: records}
	r.read.Store(0)
	r.mu.Unlock()
}

// Run replays every report, one after the other, into the output, and ends it: a
// topic output commits its transaction, only if every report was replayed. It returns
// what was done, also when it fails (then the output is incomplete or, for a topic,
// aborted).
func (r *Replayer) Run(ctx context.Context) (Counts, error) {
	counts := Counts{ByReport: map[string]int64{}}
	if err := r.out.begin(ctx, &r.cfg, r.reports); err != nil {
		return counts, err
	}
	var err error
	for i, rep := range r.reports {
		if err = r.replay(ctx, i, rep, &counts); err != nil {
			err = fmt.Errorf("replay: %s: %w", rep.Key, err)
			break
		}
	}
	if eerr := r.out.end(ctx, err == nil); err == nil {
		err = eerr
	}
	r.mu.Lock()
	r.progress.Phase = Done
	r.mu.Unlock()
	return counts, err
}

// position is where a key's latest version is.
type position struct {
	partition int32
	offset    int64
	windowEnd int64 // Unix seconds of the wolkvox.window.end header; 0 when absent
}

// digest names a key in the first pass's map: fixed-size, whatever the key's length.
type digest [16]byte

func keyDigest(k []byte) digest {
	s := sha256.Sum256(k)
	return digest(s[:16])
}

// replay replays one report: index, then write.
func (r *Replayer) replay(ctx context.Context, i int, rep Report, counts *Counts) error {
	r.setPhase(i, Starting, 0)
	total, err := r.records(ctx, rep.Topic)
	if err != nil {
		return err
	}
	reader, err := sink.NewReader([]string{rep.Topic}, sink.ReaderKafkaOpts(r.cfg.kafkaOpts...))
	if err != nil {
		return err
	}
	// First pass: the latest position of each key, and the last offset per partition
	// (what the second pass must not go beyond: keyless records after it are newer).
	r.setPhase(i, Indexing, total)
	latest := map[digest]position{}
	last := map[int32]int64{}
	var keyless int64
	err = reader.Read(ctx, func(rec *kgo.Record) bool {
		r.read.Add(1)
		counts.Records++
		last[rec.Partition] = rec.Offset
		if rec.Key == nil {
			keyless++
			return true
		}
		p := position{partition: rec.Partition, offset: rec.Offset, windowEnd: windowEnd(rec)}
		d := keyDigest(rec.Key)
		if old, ok := latest[d]; !ok || old.partition == p.partition || p.windowEnd >= old.windowEnd {
			latest[d] = p
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("first pass over %s: %w", rep.Topic, err)
	}
	counts.Keys += int64(len(latest))
	r.cfg.log.DebugContext(ctx, "replay: indexed", "report", rep.Key, "topic", rep.Topic, "keys", len(latest), "keyless", keyless)
	targets := int64(len(latest)) + keyless
	if targets == 0 {
		return nil
	}
	// Second pass: emit the records the first found latest, decoded, in range.
	r.setPhase(i, Writing, total)
	var matched int64
	var werr error
	err = reader.Read(ctx, func(rec *kgo.Record) bool {
		r.read.Add(1)
		counts.Read++
		if end, ok := last[rec.Partition]; !ok || rec.Offset > end {
			return true // committed after the first pass began
		}
		if rec.Key != nil {
			p, ok := latest[keyDigest(rec.Key)]
			if !ok || p.partition != rec.Partition || p.offset != rec.Offset {
				return true // an older version
			}
		}
		matched++
		if werr = r.emit(ctx, rep, rec, counts); werr != nil {
			return false
		}
		return matched < targets
	})
	if werr != nil {
		return werr
	}
	if err != nil {
		return fmt.Errorf("second pass over %s: %w", rep.Topic, err)
	}
	if matched < targets {
		// Retention or compaction removed a latest version between the passes, or
		// the topic was recreated: the snapshot cannot be completed.
		return fmt.Errorf("%w: %s: %d of the %d latest versions found in the first pass were gone in the second", ErrTopicChanged, rep.Topic, targets-matched, targets)
	}
	return nil
}

// emit decodes one latest version and writes it if its event time is in range.
func (r *Replayer) emit(ctx context.Context, rep Report, rec *kgo.Record, counts *Counts) error {
	if rec.Value == nil {
		counts.Deleted++
		return nil
	}
	dr := r.cfg.decoder.DecodeRecord(ctx, rec)
	if dr.Value == nil {
		return &DecodeError{Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset, Reason: dr.Error}
	}
	t, err := EventTime(dr.Value)
	if err != nil {
		return &DecodeError{Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset, Reason: err.Error()}
	}
	if t.Before(r.from) || !t.Before(r.to) {
		counts.OutOfRange++
		return nil
	}
	if err := r.out.write(ctx, rec, dr); err != nil {
		return err
	}
	counts.Written++
	counts.ByReport[rep.Key]++
	r.written.Add(1)
	return nil
}

// EventTime is the instant an event is placed at in a replay's range: its
// wv_event_time, or for a row without a time its wv_window_start.
func EventTime(ev *schemas.Event) (time.Time, error) {
	vals := ev.Values()
	for _, f := range []string{schemas.FieldEventTime, schemas.FieldWindowStart} {
		switch v := vals[f].(type) {
		case time.Time:
			return v, nil
		case nil:
			continue
		default:
			return time.Time{}, fmt.Errorf("%s is a %T, not a timestamp", f, v)
		}
	}
	return time.Time{}, fmt.Errorf("neither %s nor %s is set", schemas.FieldEventTime, schemas.FieldWindowStart)
}

// windowEnd reads the wolkvox.window.end header, 0 when it is absent or unreadable.
func windowEnd(rec *kgo.Record) int64 {
	for _, h := range slices.Backward(rec.Headers) {
		if h.Key == sink.HeaderWindowEnd {
			if t, err := time.Parse(time.RFC3339, string(h.Value)); err == nil {
				return t.Unix()
			}
			return 0
		}
	}
	return 0
}

// records is about how many records topic holds (control records included), for the
// progress bar.
func (r *Replayer) records(ctx context.Context, topic string) (int64, error) {
	cl, err := kgo.NewClient(r.cfg.kafkaOpts...)
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return 0, fmt.Errorf("listing %s: %w", topic, err)
	}
	ends, err := adm.ListCommittedOffsets(ctx, topic)
	if err != nil {
		return 0, fmt.Errorf("listing %s: %w", topic, err)
	}
	var n int64
	ends.Each(func(e kadm.ListedOffset) {
		if s, ok := starts.Lookup(e.Topic, e.Partition); ok && e.Err == nil && s.Err == nil {
			n += e.Offset - s.Offset
		}
	})
	if err := ends.Error(); errors.Is(err, kerr.UnknownTopicOrPartition) {
		return 0, &sink.UnknownTopicError{Topic: topic}
	} else if err != nil {
		return 0, fmt.Errorf("listing %s: %w", topic, err)
	}
	return n, nil
}
