package sink_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/goleak"

	"github.com/wolkvox-connect/wolkvox-connect/offsets"
	"github.com/wolkvox-connect/wolkvox-connect/sink"
	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testCtx bounds a test that talks to Kafka, so a hang fails instead of stalling.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// env is one writer's world: its topics and how to open writers on them.
type env struct {
	seeds               []string
	txnID, offsets, dlq string
	eventsA, eventsB    string
}

func newEnv(t *testing.T, seeds []string) *env {
	t.Helper()
	return &env{
		seeds:   seeds,
		txnID:   kafkatest.TransactionalID(t),
		offsets: kafkatest.Topic(t, "offsets"),
		dlq:     kafkatest.Topic(t, "dlq"),
		eventsA: kafkatest.Topic(t, "a"),
		eventsB: kafkatest.Topic(t, "b"),
	}
}

// writer returns an open writer whose topics exist; t.Cleanup closes it.
func (e *env) writer(t *testing.T, opts ...sink.Opt) *sink.Writer {
	t.Helper()
	ctx := testCtx(t)
	w, err := sink.NewWriter(append([]sink.Opt{
		sink.Seeds(e.seeds...),
		sink.TransactionalID(e.txnID),
		sink.OffsetsTopic(e.offsets),
		sink.DeadLetterTopic(e.dlq),
		sink.Topics(sink.TopicSettings{Partitions: 2, ReplicationFactor: -1}),
		sink.TransactionTimeout(20 * time.Second),
	}, opts...)...)
	if err != nil {
		t.Fatalf("NewWriter: %v", err)
	}
	t.Cleanup(func() {
		if err := w.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if err := w.Open(ctx); err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := w.EnsureTopics(ctx, e.eventsA, e.eventsB); err != nil {
		t.Fatalf("EnsureTopics: %v", err)
	}
	if err := offsets.EnsureTopic(ctx, w.Admin(), e.offsets, 1, -1); err != nil {
		t.Fatalf("offsets.EnsureTopic: %v", err)
	}
	return w
}

// batch builds a window: n events on each events topic, one dead letter, and the
// offset record whose position's Extra names the batch.
func (e *env) batch(t testing.TB, name string, n int) sink.Batch {
	t.Helper()
	var b sink.Batch
	for i := range n {
		for _, topic := range []string{e.eventsA, e.eventsB} {
			b.Records = append(b.Records, sink.EventRecord(topic, fmt.Appendf(nil, "%s-%d", name, i), fmt.Appendf(nil, "%s-%d", name, i), "act_3", time.Unix(0, 0), time.Unix(300, 0), "1"))
		}
	}
	b.DeadLetters = append(b.DeadLetters, sink.DeadLetter(e.dlq, []byte(`{"batch":"`+name+`"}`), errors.New("bad row"), "c1", "act_3", time.Unix(0, 0), time.Unix(300, 0)))
	rec, err := offsets.Record(e.offsets, offsets.Key{Connector: "c1", Server: "0040", Report: "act_3"},
		&offsets.Position{WindowEnd: time.Unix(300, 0), Extra: map[string]string{"batch": name}})
	if err != nil {
		t.Fatal(err)
	}
	b.Offset = rec
	return b
}

// committed returns the values of topic's committed data records, as a read_committed
// consumer sees them once no transaction is open on it (see waitStable), sorted.
func committed(t testing.TB, seeds []string, topic string) []string {
	t.Helper()
	waitStable(t, seeds, topic)
	var out []string
	err := sink.ReadCommitted(testCtx(t), []kgo.Opt{kgo.SeedBrokers(seeds...)}, []string{topic}, func(r *kgo.Record) bool {
		out = append(out, string(r.Value))
		return true
	})
	if err != nil {
		t.Fatalf("read %s: %v", topic, err)
	}
	slices.Sort(out)
	return out
}

// waitStable waits (up to 30 s) until no transaction is open on topics. Kafka writes
// commit and abort markers just after answering EndTxn, so the last stable offset
// reaches the high watermark a moment later; a transaction left open fails the test.
func waitStable(t testing.TB, seeds []string, topics ...string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, topic := range topics {
		for open := openTransactions(t, seeds, topic); open > 0; open = openTransactions(t, seeds, topic) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d partitions keep a transaction open", topic, open)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// values lists what a batch put on topic, sorted like committed's result.
func values(b sink.Batch, topic string) []string {
	var out []string
	for _, r := range slices.Concat(b.Records, b.DeadLetters, []*kgo.Record{b.Offset}) {
		if r.Topic == topic {
			out = append(out, string(r.Value))
		}
	}
	slices.Sort(out)
	return out
}

// wantCommitted checks that every topic of e holds, committed, exactly what batches
// put there.
func (e *env) wantCommitted(t *testing.T, batches ...sink.Batch) {
	t.Helper()
	for _, topic := range []string{e.eventsA, e.eventsB, e.dlq, e.offsets} {
		var want [][]string
		for _, b := range batches {
			want = append(want, values(b, topic))
		}
		if got, want := committed(t, e.seeds, topic), concat(want...); !slices.Equal(got, want) {
			t.Errorf("%s: committed %q\nwant %q", topic, got, want)
		}
	}
}

func concat(xs ...[]string) []string {
	out := slices.Concat(xs...)
	slices.Sort(out)
	return out
}

func wantKind(t *testing.T, err, kind error) {
	t.Helper()
	var ce *sink.CommitError
	if !errors.As(err, &ce) || !errors.Is(err, kind) || ce.Kind != kind {
		t.Fatalf("err = %v; want a *CommitError of kind %v", err, kind)
	}
}

func TestCommitIsAtomic(t *testing.T) {
	kafkatest.Clusters(t, func(t *testing.T, c kafkatest.Cluster) {
		t.Parallel()
		ctx := testCtx(t)
		e := newEnv(t, c.Seeds)
		w := e.writer(t)

		first := e.batch(t, "first", 5)
		if err := w.Commit(ctx, first); err != nil {
			t.Fatalf("Commit first: %v", err)
		}

		// A record too large for its topic fails the whole window: the small records
		// produced before it in the same transaction must not become visible.
		bad := e.batch(t, "bad", 5)
		bad.Records = append(bad.Records, sink.EventRecord(e.eventsA, nil, bytes.Repeat([]byte("x"), 2<<20), "act_3", time.Unix(0, 0), time.Unix(300, 0), ""))
		err := w.Commit(ctx, bad)
		wantKind(t, err, sink.ErrRejected)
		if !errors.Is(err, kerr.MessageTooLarge) {
			t.Fatalf("err = %v; want it to wrap MESSAGE_TOO_LARGE", err)
		}

		third := e.batch(t, "third", 5)
		if err := w.Commit(ctx, third); err != nil {
			t.Fatalf("Commit after a rejected batch: %v", err)
		}

		e.wantCommitted(t, first, third)
		st, err := offsets.NewStore(e.offsets, offsets.Seeds(c.Seeds...))
		if err != nil {
			t.Fatal(err)
		}
		pos, err := st.Load(ctx, "c1")
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if len(pos) != 1 || pos[string(first.Offset.Key)].Extra["batch"] != "third" {
			t.Fatalf("positions = %+v; want the third batch's", pos)
		}
	})
}

func TestSecondWriterFencesFirst(t *testing.T) {
	kafkatest.Clusters(t, func(t *testing.T, c kafkatest.Cluster) {
		t.Parallel()
		ctx := testCtx(t)
		e := newEnv(t, c.Seeds)
		w1 := e.writer(t)
		if err := w1.Commit(ctx, e.batch(t, "w1-before", 1)); err != nil {
			t.Fatalf("w1 Commit: %v", err)
		}
		w2 := e.writer(t) // same transactional ID: Open fences w1

		err := w1.Commit(ctx, e.batch(t, "w1-after", 1))
		wantKind(t, err, sink.ErrFenced)
		err = w1.Commit(ctx, e.batch(t, "w1-again", 1))
		if !errors.Is(err, sink.ErrClosed) || !errors.Is(err, sink.ErrFenced) {
			t.Fatalf("Commit after fencing = %v; want ErrClosed and ErrFenced", err)
		}
		if err := w1.EnsureTopics(ctx, e.eventsA); !errors.Is(err, sink.ErrClosed) {
			t.Fatalf("EnsureTopics after fencing = %v; want ErrClosed", err)
		}

		if err := w2.Commit(ctx, e.batch(t, "w2", 1)); err != nil {
			t.Fatalf("w2 Commit: %v", err)
		}
		got := committed(t, c.Seeds, e.eventsA)
		want := []string{"w1-before-0", "w2-0"}
		if !slices.Equal(got, want) {
			t.Fatalf("committed %q, want %q", got, want)
		}
	})
}

func TestCommitPreconditions(t *testing.T) {
	seeds := kafkatest.Fake(t)
	ctx := testCtx(t)
	e := newEnv(t, seeds)
	w, err := sink.NewWriter(sink.Seeds(seeds...), sink.TransactionalID(e.txnID), sink.OffsetsTopic(e.offsets))
	if err != nil {
		t.Fatal(err)
	}
	good := e.batch(t, "x", 1)
	if err := w.Commit(ctx, good); !errors.Is(err, sink.ErrNotOpen) {
		t.Fatalf("Commit before Open = %v; want ErrNotOpen", err)
	}

	noOffset := good
	noOffset.Offset = nil
	wrongTopic := e.batch(t, "x", 1)
	wrongTopic.Offset.Topic = e.eventsA
	noTopic := e.batch(t, "x", 1)
	noTopic.Records[0].Topic = ""
	nilRecord := e.batch(t, "x", 1)
	nilRecord.DeadLetters[0] = nil
	for name, b := range map[string]sink.Batch{"no offset": noOffset, "offset elsewhere": wrongTopic, "record without topic": noTopic, "nil record": nilRecord} {
		if err := w.Commit(ctx, b); !errors.Is(err, sink.ErrInvalidBatch) {
			t.Errorf("%s: Commit = %v; want ErrInvalidBatch", name, err)
		}
	}
	if err := w.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := w.Commit(ctx, good); !errors.Is(err, sink.ErrClosed) {
		t.Fatalf("Commit after Close = %v; want ErrClosed", err)
	}
	if err := w.Open(ctx); !errors.Is(err, sink.ErrClosed) {
		t.Fatalf("Open after Close = %v; want ErrClosed", err)
	}
}

func TestNewWriterValidates(t *testing.T) {
	tests := map[string][]sink.Opt{
		"no transactional ID":   {sink.Seeds("127.0.0.1:1")},
		"nil logger":            {sink.TransactionalID("x"), sink.Logger(nil)},
		"zero timeout":          {sink.TransactionalID("x"), sink.TransactionTimeout(0)},
		"bad dead-letter topic": {sink.TransactionalID("x"), sink.DeadLetterTopic("a b")},
		"bad offsets topic":     {sink.TransactionalID("x"), sink.OffsetsTopic("")},
		"zero partitions":       {sink.TransactionalID("x"), sink.Topics(sink.TopicSettings{Partitions: 0, ReplicationFactor: 1})},
		"bad replication":       {sink.TransactionalID("x"), sink.Topics(sink.TopicSettings{Partitions: 1, ReplicationFactor: -2})},
	}
	for name, opts := range tests {
		t.Run(name, func(t *testing.T) {
			if w, err := sink.NewWriter(opts...); err == nil {
				_ = w.Close(context.Background())
				t.Fatal("NewWriter succeeded")
			}
		})
	}
}

func TestCommitCancelledAborts(t *testing.T) {
	seeds := kafkatest.Fake(t)
	e := newEnv(t, seeds)
	w := e.writer(t)
	ctx, cancel := context.WithCancel(testCtx(t))
	cancel()
	err := w.Commit(ctx, e.batch(t, "cancelled", 3))
	wantKind(t, err, sink.ErrAborted)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v; want context.Canceled inside", err)
	}
	if err := w.Commit(testCtx(t), e.batch(t, "ok", 1)); err != nil {
		t.Fatalf("Commit after a cancelled one: %v", err)
	}
	if got := committed(t, seeds, e.eventsA); !slices.Equal(got, []string{"ok-0"}) {
		t.Fatalf("committed %q", got)
	}
}

// openTransactions counts the partitions of topic whose last stable offset lags the
// high watermark.
func openTransactions(t testing.TB, seeds []string, topic string) int {
	t.Helper()
	ctx := testCtx(t)
	adm := kadm.NewClient(kafkatest.Client(t, seeds))
	lso, err := adm.ListCommittedOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	hwm, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	lso.Each(func(o kadm.ListedOffset) {
		if h, _ := hwm.Lookup(topic, o.Partition); h.Offset != o.Offset {
			n++
		}
	})
	return n
}

// fake starts a kfake cluster the test can inject faults into.
func fake(t *testing.T) (*kfake.Cluster, []string) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, c.ListenAddrs()
}

func TestCommitRetriableEndTxnError(t *testing.T) {
	c, seeds := fake(t)
	ctx := testCtx(t)
	e := newEnv(t, seeds)
	w := e.writer(t)
	c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.EndTxn}, Err: kerr.TransactionAbortable, Count: 1})
	b := e.batch(t, "retried", 2)
	err := w.Commit(ctx, b)
	wantKind(t, err, sink.ErrAborted)
	if !errors.Is(err, kerr.TransactionAbortable) {
		t.Fatalf("err = %v; want TRANSACTION_ABORTABLE inside", err)
	}
	if err := w.Commit(ctx, b); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if got := committed(t, seeds, e.eventsA); !slices.Equal(got, values(b, e.eventsA)) {
		t.Fatalf("committed %q; want the batch exactly once", got)
	}
}

// TestCloseAbortsOpenTransaction leaves a transaction open (its commit and the abort
// after it both fail) and checks that Close aborts it.
func TestCloseAbortsOpenTransaction(t *testing.T) {
	c, seeds := fake(t)
	ctx := testCtx(t)
	e := newEnv(t, seeds)
	w := e.writer(t)
	// The commit fails; franz-go's abort then needs a new producer ID, and that fails
	// too, so the transaction is still open when Commit returns.
	c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.EndTxn}, Err: kerr.TransactionAbortable})
	c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.InitProducerID}, Err: kerr.RequestTimedOut})
	err := w.Commit(ctx, e.batch(t, "open", 2))
	wantKind(t, err, sink.ErrAborted)
	if got := openTransactions(t, seeds, e.eventsA); got == 0 {
		t.Fatal("no transaction open after the failed abort: the test does not test Close")
	}

	if err := w.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, topic := range []string{e.eventsA, e.offsets} {
		if got := committed(t, seeds, topic); len(got) != 0 {
			t.Fatalf("%s: committed %q; want nothing", topic, got)
		}
	}
}
