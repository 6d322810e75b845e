package sink

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kgo"
)

// HeaderTruncated is set on a dead letter whose value was cut to fit its topic: the
// size in bytes of the value before it was cut.
const HeaderTruncated = "wolkvox.truncated"

// ErrRecordTooLarge is the class of a record no broker of the topic will ever take:
// see [RecordTooLargeError].
var ErrRecordTooLarge = errors.New("sink: record larger than its topic accepts")

// RecordTooLargeError: a record's encoded size exceeds the most its topic accepts
// (max.message.bytes, or the producer's batch limit when that is lower). Sending it
// would fail the whole transaction with MESSAGE_TOO_LARGE on every retry, so the caller
// turns the row into a dead letter instead.
type RecordTooLargeError struct {
	Topic       string
	Size, Limit int
}

func (e *RecordTooLargeError) Error() string {
	return fmt.Sprintf("record of %d bytes exceeds the %d bytes topic %s accepts (max.message.bytes)", e.Size, e.Limit, e.Topic)
}

func (e *RecordTooLargeError) Is(target error) bool { return target == ErrRecordTooLarge }

// Class names the dead-letter cause (ErrorClass).
func (e *RecordTooLargeError) Class() string { return "record_too_large" }

// RecordSize is an upper bound of the bytes record r takes in a record batch of its
// own, as a broker measures it against max.message.bytes: the batch header (61 bytes),
// the record's fields with their varints at their widest (5 bytes each), key, value
// and headers. It is measured before compression, on purpose: the broker checks the
// compressed batch, but how well a row compresses is not known before producing, and
// consumers size their fetches by uncompressed records too; so a record that would fit
// only once compressed is treated as too large.
func RecordSize(r *kgo.Record) int {
	const batchHeader, varint = 61, 5
	n := batchHeader + 1 /* attributes */ + 4*varint /* length, timestamp and offset deltas, key length */ +
		len(r.Key) + varint + len(r.Value) + varint
	for _, h := range r.Headers {
		n += 2*varint + len(h.Key) + len(h.Value)
	}
	return n
}

// RecordLimit is the largest record, in [RecordSize] terms, that topic accepts: its
// max.message.bytes (as the broker reports it, its default included), or the writer's
// own batch limit for the topic, or its producer buffer's bytes (MaxBuffered: the
// producer refuses a record it could never buffer), whichever is lowest. Without the
// last, a record the topic accepts but the buffer cannot hold would fail every
// transaction of its window, for ever. It is read from the broker once per
// topic (EnsureTopics reads it for the topics it ensures) and then kept.
func (w *Writer) RecordLimit(ctx context.Context, topic string) (int, error) {
	w.limitsMu.Lock()
	limit, ok := w.limits[topic]
	w.limitsMu.Unlock()
	if !ok {
		if err := w.readLimits(ctx, topic); err != nil {
			return 0, err
		}
		w.limitsMu.Lock()
		limit = w.limits[topic]
		w.limitsMu.Unlock()
	}
	return min(limit, w.cfg.maxBufferedBytes), nil
}

// readLimits describes topics' configurations and keeps their record limits.
func (w *Writer) readLimits(ctx context.Context, topics ...string) error {
	rcs, err := w.adm.DescribeTopicConfigs(ctx, topics...)
	if err != nil {
		return fmt.Errorf("sink: describe topics %v: %w", topics, err)
	}
	w.limitsMu.Lock()
	defer w.limitsMu.Unlock()
	for _, topic := range topics {
		rc, err := rcs.On(topic, nil)
		if err == nil {
			err = rc.Err
		}
		if err != nil {
			return fmt.Errorf("sink: describe topic %q: %w", topic, err)
		}
		limit := w.batchMaxBytes(topic)
		for _, c := range rc.Configs {
			if c.Key != "max.message.bytes" {
				continue
			}
			if v, err := strconv.Atoi(c.MaybeValue()); err == nil && v > 0 && v < limit {
				limit = v
			}
		}
		w.limits[topic] = limit
	}
	return nil
}

// CheckSize returns a *RecordTooLargeError when r exceeds its topic's RecordLimit.
func (w *Writer) CheckSize(ctx context.Context, r *kgo.Record) error {
	l, err := w.SizeLimit(ctx, r.Topic)
	if err != nil {
		return err
	}
	return l.Check(r)
}

// SizeLimit is one topic's RecordLimit, kept by a caller that checks many records of
// that topic (a window's events): CheckSize without looking the topic up each time.
type SizeLimit struct {
	topic string
	limit int
}

// SizeLimit returns topic's RecordLimit to check records with.
func (w *Writer) SizeLimit(ctx context.Context, topic string) (SizeLimit, error) {
	limit, err := w.RecordLimit(ctx, topic)
	if err != nil {
		return SizeLimit{}, err
	}
	return SizeLimit{topic: topic, limit: limit}, nil
}

// Check returns a *RecordTooLargeError when r exceeds the limit; r must be of l's
// topic.
func (l SizeLimit) Check(r *kgo.Record) error {
	if r.Topic != l.topic {
		return fmt.Errorf("sink: a record of topic %q checked against the limit of %q", r.Topic, l.topic) // a caller's bug
	}
	if size := RecordSize(r); size > l.limit {
		return &RecordTooLargeError{Topic: r.Topic, Size: size, Limit: l.limit}
	}
	return nil
}

// FitDeadLetter cuts the value of dead letter r so that r fits its topic, and records
// the value's original size in the HeaderTruncated header: a dead letter must always
// be deliverable, since it is how a row that cannot become an event is kept. The
// error headers say why the row is there whatever is cut.
func (w *Writer) FitDeadLetter(ctx context.Context, r *kgo.Record) error {
	limit, err := w.RecordLimit(ctx, r.Topic)
	if err != nil {
		return err
	}
	over := RecordSize(r) - limit
	if over <= 0 {
		return nil
	}
	original := len(r.Value)
	r.Headers = append(r.Headers, kgo.RecordHeader{Key: HeaderTruncated, Value: []byte(strconv.Itoa(original))})
	over = RecordSize(r) - limit
	for i := range r.Headers {
		// An error text can be as long as the row; keep its start.
		if h := &r.Headers[i]; h.Key == HeaderError && len(h.Value) > 1024 && over > len(r.Value) {
			over -= len(h.Value) - 1024
			h.Value = h.Value[:1024]
		}
	}
	if over > len(r.Value) {
		return &RecordTooLargeError{Topic: r.Topic, Size: RecordSize(r), Limit: limit}
	}
	r.Value = r.Value[:len(r.Value)-over]
	return nil
}
