package sink_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wolkvox-connect/wolkvox-connect/sink"
	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
)

// TestRecordLimitIsTheBuffersToo: a topic whose max.message.bytes was raised above the
// producer's buffer still gets records no larger than the buffer: a larger one could
// never be produced, so it is refused (and dead-lettered by the engine) up front.
func TestRecordLimitIsTheBuffersToo(t *testing.T) {
	const buffer, topicLimit = 1_000_012, 4_000_000
	e := newEnv(t, kafkatest.Fake(t))
	w := e.writer(t, sink.MaxBuffered(100, buffer), sink.Topics(sink.TopicSettings{Partitions: 1, ReplicationFactor: -1,
		Configs: map[string]string{"max.message.bytes": strconv.Itoa(topicLimit)}}))
	ctx := testCtx(t)
	if got, err := w.RecordLimit(ctx, e.eventsA); err != nil || got != buffer {
		t.Fatalf("RecordLimit = %d, %v; want the buffer's %d", got, err, buffer)
	}
	r := sink.EventRecord(e.eventsA, []byte("k"), bytes.Repeat([]byte("v"), 2*buffer), "act_3", time.Unix(0, 0), time.Unix(300, 0), "1")
	if err := w.CheckSize(ctx, r); !errors.Is(err, sink.ErrRecordTooLarge) {
		t.Errorf("CheckSize of a record twice the buffer = %v, want ErrRecordTooLarge", err)
	}
	// A limit kept for the topic's records says the same, and refuses another topic's.
	l, err := w.SizeLimit(ctx, e.eventsA)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Check(r); !errors.Is(err, sink.ErrRecordTooLarge) {
		t.Errorf("SizeLimit.Check of a record twice the buffer = %v, want ErrRecordTooLarge", err)
	}
	small := sink.EventRecord(e.eventsA, []byte("k"), []byte("v"), "act_3", time.Unix(0, 0), time.Unix(300, 0), "1")
	if err := l.Check(small); err != nil {
		t.Errorf("SizeLimit.Check of a small record = %v", err)
	}
	small.Topic += "-other"
	if err := l.Check(small); err == nil || errors.Is(err, sink.ErrRecordTooLarge) {
		t.Errorf("SizeLimit.Check of another topic's record = %v, want a mismatch error", err)
	}
}

// TestRecordLimit: the writer reads each topic's max.message.bytes; a record at the
// limit (by RecordSize, an upper bound) commits, one byte over is refused by CheckSize
// before producing, the broker itself refuses a record well over it (so the limit is
// real), and FitDeadLetter cuts a dead letter so that it commits, saying how long it was.
func TestRecordLimit(t *testing.T) {
	kafkatest.Clusters(t, func(t *testing.T, c kafkatest.Cluster) {
		t.Parallel()
		const limit = 20000
		e := newEnv(t, c.Seeds)
		w := e.writer(t, sink.Topics(sink.TopicSettings{Partitions: 1, ReplicationFactor: -1,
			Configs: map[string]string{"max.message.bytes": strconv.Itoa(limit)}}))
		ctx := testCtx(t)
		if got, err := w.RecordLimit(ctx, e.eventsA); err != nil || got != limit {
			t.Fatalf("RecordLimit = %d, %v; want %d", got, err, limit)
		}
		event := func(size int) *kgo.Record {
			r := sink.EventRecord(e.eventsA, []byte("k"), nil, "act_3", time.Unix(0, 0), time.Unix(300, 0), "1")
			r.Value = bytes.Repeat([]byte("v"), size-sink.RecordSize(r))
			if got := sink.RecordSize(r); got != size {
				t.Fatalf("RecordSize = %d, want %d", got, size)
			}
			return r
		}
		atLimit := event(limit)
		if err := w.CheckSize(ctx, atLimit); err != nil {
			t.Errorf("CheckSize at the limit: %v", err)
		}
		b := e.batch(t, "at-limit", 0)
		b.Records = []*kgo.Record{atLimit}
		if err := w.Commit(ctx, b); err != nil {
			t.Fatalf("a record of RecordSize == limit did not commit: %v", err)
		}
		var tooLarge *sink.RecordTooLargeError
		if err := w.CheckSize(ctx, event(limit+1)); !errors.As(err, &tooLarge) || tooLarge.Limit != limit || !errors.Is(err, sink.ErrRecordTooLarge) {
			t.Errorf("CheckSize one byte over = %v, want a RecordTooLargeError with limit %d", err, limit)
		}
		b = e.batch(t, "over", 0)
		over := event(5 * limit)
		rand.Read(over.Value) // incompressible: the broker measures compressed batches
		b.Records = []*kgo.Record{over}
		if err := w.Commit(ctx, b); !errors.Is(err, sink.ErrRejected) {
			t.Errorf("the broker took a record five times its limit: %v", err)
		}

		raw := bytes.Repeat([]byte("r"), 5*limit)
		dl := sink.DeadLetter(e.dlq, raw, errors.New("bad row"), "c1", "act_3", time.Unix(0, 0), time.Unix(300, 0))
		if err := w.FitDeadLetter(ctx, dl); err != nil {
			t.Fatal(err)
		}
		if sink.RecordSize(dl) > limit || len(dl.Value) == 0 {
			t.Errorf("fitted dead letter: %d bytes, value %d bytes", sink.RecordSize(dl), len(dl.Value))
		}
		var truncated string
		for _, h := range dl.Headers {
			if h.Key == sink.HeaderTruncated {
				truncated = string(h.Value)
			}
		}
		if truncated != strconv.Itoa(len(raw)) {
			t.Errorf("%s header = %q, want the original size %d", sink.HeaderTruncated, truncated, len(raw))
		}
		b = e.batch(t, "dead-letter", 0)
		b.DeadLetters = []*kgo.Record{dl}
		if err := w.Commit(ctx, b); err != nil {
			t.Errorf("the fitted dead letter did not commit: %v", err)
		}
	})
}
