package sink_test

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/wolkvox-connect/wolkvox-connect/offsets"
	"github.com/wolkvox-connect/wolkvox-connect/sink"
	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
)

// TestTxnStreams produces a window into an open transaction record by record, on kfake
// and the real broker: nothing is visible to read_committed readers until Commit, an
// aborted transaction is never visible, a record the batch cannot carry fails the whole
// transaction at Commit, and an ended Txn refuses more work.
func TestTxnStreams(t *testing.T) {
	kafkatest.Clusters(t, func(t *testing.T, c kafkatest.Cluster) {
		t.Parallel()
		ctx := testCtx(t)
		e := newEnv(t, c.Seeds)
		w := e.writer(t)

		produce := func(txn *sink.Txn, b sink.Batch) {
			t.Helper()
			for _, r := range slices.Concat(b.Records, b.DeadLetters) {
				if err := txn.Produce(r); err != nil {
					t.Fatalf("Produce: %v", err)
				}
			}
		}

		// Committed: visible only once Commit returns.
		first := e.batch(t, "first", 50)
		txn, err := w.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		produce(txn, first)
		if err := txn.Flush(); err != nil {
			t.Fatal(err)
		}
		ends, err := kadm.NewClient(kafkatest.Client(t, c.Seeds)).ListEndOffsets(ctx, e.eventsA)
		if err != nil {
			t.Fatal(err)
		}
		written := int64(0)
		ends.Each(func(o kadm.ListedOffset) { written += o.Offset })
		if got := readNow(t, c.Seeds, e.eventsA); written < 50 || len(got) != 0 {
			t.Fatalf("%d records written, %d of them visible before Commit; want 50 written, none visible", written, len(got))
		}
		if err := txn.Commit(first.Offset); err != nil {
			t.Fatalf("Commit: %v", err)
		}
		if err := txn.Produce(first.Records[0]); !errors.Is(err, sink.ErrTxnEnded) {
			t.Errorf("Produce after Commit: %v, want ErrTxnEnded", err)
		}

		// Aborted: never visible, and the writer goes on.
		aborted := e.batch(t, "aborted", 50)
		txn, err = w.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		produce(txn, aborted)
		if err := txn.Abort(); err != nil {
			t.Fatalf("Abort: %v", err)
		}
		if err := txn.Abort(); !errors.Is(err, sink.ErrTxnEnded) {
			t.Errorf("a second Abort: %v, want ErrTxnEnded", err)
		}

		// A record on the offsets topic among the events fails the transaction.
		bad := e.batch(t, "bad", 3)
		txn, err = w.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		produce(txn, bad)
		if err := txn.Produce(&kgo.Record{Topic: e.offsets, Value: []byte("x")}); !errors.Is(err, sink.ErrInvalidBatch) {
			t.Errorf("an event on the offsets topic: %v, want ErrInvalidBatch", err)
		}
		wantKind(t, txn.Commit(bad.Offset), sink.ErrRejected)

		third := e.batch(t, "third", 5)
		if err := w.Commit(ctx, third); err != nil {
			t.Fatalf("Commit after an abort and a rejected transaction: %v", err)
		}
		e.wantCommitted(t, first, third)
	})
}

// TestCloseCancelsOpenTxn: Close ends a transaction left open, which is then aborted and
// never visible.
func TestCloseCancelsOpenTxn(t *testing.T) {
	kafkatest.Clusters(t, func(t *testing.T, c kafkatest.Cluster) {
		t.Parallel()
		ctx := testCtx(t)
		e := newEnv(t, c.Seeds)
		w := e.writer(t)
		b := e.batch(t, "open", 20)
		txn, err := w.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range b.Records {
			if err := txn.Produce(r); err != nil {
				t.Fatal(err)
			}
		}
		closed := make(chan error, 1)
		go func() { closed <- w.Close(ctx) }()
		// Close cancels the transaction's context: its owner's next Produce says so (it
		// may take a few until the cancel lands), and Commit aborts.
		var perr error
		for deadline := time.Now().Add(10 * time.Second); perr == nil && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			perr = txn.Produce(&kgo.Record{Topic: e.eventsA, Value: []byte("late")}) // a record is produced once
		}
		if perr == nil {
			t.Fatal("Produce goes on succeeding after Close")
		}
		if err := txn.Commit(b.Offset); err == nil {
			t.Fatal("Commit of a transaction Close cancelled succeeded")
		}
		if err := <-closed; err != nil {
			t.Fatalf("Close: %v", err)
		}
		if got := committed(t, c.Seeds, e.eventsA); len(got) != 0 {
			t.Errorf("%d records of the cancelled transaction visible", len(got))
		}
	})
}

// readNow returns the values read_committed readers see on topic now, without waiting
// for open transactions to end.
func readNow(t *testing.T, seeds []string, topic string) []string {
	t.Helper()
	var out []string
	err := sink.ReadCommitted(testCtx(t), []kgo.Opt{kgo.SeedBrokers(seeds...)}, []string{topic}, func(r *kgo.Record) bool {
		out = append(out, string(r.Value))
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestProduceNeverWaitsForTheBroker: with the broker holding every produce request, a
// transaction still takes records as fast as they come — what the producer's bounded
// buffer cannot hold waits in the spool, past its memory part into a file — and once
// the broker answers, Commit produces the spooled records in order, commits them all,
// and removes the file. A Produce that waited for the broker would hang this test.
func TestProduceNeverWaitsForTheBroker(t *testing.T) {
	c, seeds := fake(t)
	ctx := testCtx(t)
	e := newEnv(t, seeds)
	dir := t.TempDir()
	w := e.writer(t, sink.MaxBuffered(20, 1_000_012), sink.SpoolDir(dir))

	unblock := holdProduces(t, c)

	// 2,000 records of 4 KiB: eight times the writer's budget, so most go to the file.
	var b sink.Batch
	pad := strings.Repeat("x", 4<<10)
	for i := range 2000 {
		b.Records = append(b.Records, sink.EventRecord(e.eventsA, fmt.Appendf(nil, "k%d", i%7),
			fmt.Appendf(nil, "%05d%s", i, pad), "act_3", time.Unix(0, 0), time.Unix(300, 0), "1"))
	}
	b.Offset = e.batch(t, "spooled", 0).Offset
	txn, err := w.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range b.Records {
		if err := txn.Produce(r); err != nil {
			t.Fatalf("Produce: %v", err)
		}
	}
	if files, _ := os.ReadDir(dir); len(files) != 1 || txn.Spooled() < 1900 {
		t.Fatalf("%d spool files, %d records spooled; want one file and all but the buffer's 20 spooled", len(files), txn.Spooled())
	}
	unblock()
	if err := txn.Commit(b.Offset); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if files, _ := os.ReadDir(dir); len(files) != 0 {
		t.Errorf("%d spool files left after Commit", len(files))
	}
	// In order: each key's records (one partition each) in the order produced.
	last := map[string]int{}
	n := 0
	if err := sink.ReadCommitted(ctx, []kgo.Opt{kgo.SeedBrokers(seeds...)}, []string{e.eventsA}, func(r *kgo.Record) bool {
		i, _ := strconv.Atoi(string(r.Value[:5]))
		if prev, ok := last[string(r.Key)]; ok && i <= prev {
			t.Errorf("key %s: record %d after %d", r.Key, i, prev)
		}
		last[string(r.Key)] = i
		n++
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if n != len(b.Records) {
		t.Errorf("%d records committed, want %d", n, len(b.Records))
	}
}

// TestTheBytesBindFirst: with the default limits, a transaction of small records
// spools only once they fill the bytes of its budget, however many records that is:
// the broker holds every produce request, and the first record to spool finds the
// budget all but full. With kgo's 10,000 records as the count, a window's records
// (about 950 bytes each) spooled with 9 of the 16 MiB held.
func TestTheBytesBindFirst(t *testing.T) {
	c, seeds := fake(t)
	ctx := testCtx(t)
	e := newEnv(t, seeds)
	dir := t.TempDir()
	w := e.writer(t, sink.SpoolDir(dir))
	unblock := holdProduces(t, c)

	txn, err := w.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pad := strings.Repeat("x", 500)
	var firstSpooled int64 // the budget held when the first record spooled
	for i := range 40_000 {
		if err := txn.Produce(sink.EventRecord(e.eventsA, fmt.Appendf(nil, "k%d", i), fmt.Appendf(nil, "%05d%s", i, pad),
			"act_3", time.Unix(0, 0), time.Unix(300, 0), "1")); err != nil {
			t.Fatalf("Produce: %v", err)
		}
		if txn.Spooled() == 1 && firstSpooled == 0 {
			firstSpooled, _ = w.Memory()
		}
	}
	_, limit := w.Memory()
	if txn.Spooled() == 0 {
		t.Fatalf("nothing spooled: 40,000 records of ~1 KiB should overflow %d bytes", limit)
	}
	if firstSpooled < limit*9/10 {
		t.Errorf("the first record spooled with %d of %d bytes held (%d records in the producer): the record count bound first",
			firstSpooled, limit, 40_000-txn.Spooled())
	}
	unblock()
	if err := txn.Commit(e.batch(t, "bytes", 0).Offset); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

// TestWritersShareABudget: two writers given one Budget hold no more than it in
// memory together, whatever the broker's pace: with the broker holding every produce
// request, what does not fit goes to each transaction's spool file. Once the broker
// answers, both commit every record and the budget is whole again.
func TestWritersShareABudget(t *testing.T) {
	c, seeds := fake(t)
	ctx := testCtx(t)
	e := newEnv(t, seeds)
	const limit = 256 << 10
	budget := sink.NewBudget(limit)
	dir := t.TempDir()
	opts := []sink.Opt{sink.MaxBuffered(1000, 1_000_012), sink.SpoolDir(dir), sink.SharedBudget(budget)}
	writers := []*sink.Writer{e.writer(t, opts...), e.writer(t, append(opts, sink.TransactionalID(e.txnID+"-2"))...)}
	topics := []string{e.eventsA, e.eventsB}

	unblock := holdProduces(t, c)

	txns := make([]*sink.Txn, len(writers))
	for i, w := range writers {
		txn, err := w.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		txns[i] = txn
	}
	const records = 400 // of 2 KiB each, per writer: 800 KiB each against a 256 KiB budget
	pad := strings.Repeat("x", 2<<10)
	var largest int64
	for i := range records {
		for j, txn := range txns {
			r := sink.EventRecord(topics[j], fmt.Appendf(nil, "k%d", i%5), fmt.Appendf(nil, "%05d%s", i, pad), "act_3", time.Unix(0, 0), time.Unix(300, 0), "1")
			largest = max(largest, sink.RecordMemory(r))
			if err := txn.Produce(r); err != nil {
				t.Fatalf("Produce: %v", err)
			}
			if used := budget.Used(); used > limit {
				t.Fatalf("the writers hold %d bytes, over their shared budget of %d", used, limit)
			}
		}
	}
	if used := budget.Used(); used < limit-largest {
		t.Errorf("the writers hold %d bytes while spooling, want the budget (%d) nearly full", used, limit)
	}
	// Nothing is acknowledged while the broker holds the produces, so the writers'
	// own counts add up to the budget's exactly.
	var held int64
	for j, w := range writers {
		n, l := w.Memory()
		if n <= 0 || l != limit {
			t.Errorf("writer %d: Memory() = %d of %d, want some of %d", j, n, l, limit)
		}
		held += n
	}
	if used := budget.Used(); held != used {
		t.Errorf("the writers say they hold %d bytes, the budget %d", held, used)
	}
	for j, txn := range txns {
		if txn.Spooled() < records/2 {
			t.Errorf("writer %d spooled %d of %d records, want most of them", j, txn.Spooled(), records)
		}
	}
	if files, _ := os.ReadDir(dir); len(files) != len(txns) {
		t.Errorf("%d spool files, want one per transaction", len(files))
	}
	unblock()
	for j, txn := range txns {
		off, err := offsets.Record(e.offsets, offsets.Key{Connector: fmt.Sprint("c", j), Server: "0040", Report: "act_3"},
			&offsets.Position{WindowEnd: time.Unix(300, 0)})
		if err != nil {
			t.Fatal(err)
		}
		if err := txn.Commit(off); err != nil {
			t.Fatalf("writer %d: Commit: %v", j, err)
		}
	}
	if used := budget.Used(); used != 0 {
		t.Errorf("%d bytes of the budget still held after both commits", used)
	}
	for j, w := range writers {
		if n, _ := w.Memory(); n != 0 {
			t.Errorf("writer %d still holds %d bytes after its commit", j, n)
		}
	}
	for _, topic := range topics {
		if n := len(committed(t, seeds, topic)); n != records {
			t.Errorf("%s: %d records committed, want %d", topic, n, records)
		}
	}
}

// holdProduces makes the fake broker hold every produce request until the returned
// function is called (at the latest when the test ends).
func holdProduces(t *testing.T, c *kfake.Cluster) (release func()) {
	held := make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(held) }) }
	t.Cleanup(release)
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		c.SleepControl(func() { <-held })
		return nil, nil, false
	})
	return release
}

// TestRecycledEventsArriveIntact: events built with NewEvent are recycled as the broker
// answers for them (or as they are spooled to a file), and the events built after
// reuse their memory while the window goes on; every event still arrives as it was
// built, key, value and headers, on kfake and the real broker. An event recycled too
// early would arrive with a later event's bytes.
func TestRecycledEventsArriveIntact(t *testing.T) {
	kafkatest.Clusters(t, func(t *testing.T, c kafkatest.Cluster) {
		t.Parallel()
		ctx := testCtx(t)
		e := newEnv(t, c.Seeds)
		// A buffer of 50 records and a budget of 64 KiB: most events wait in the spool,
		// some of them in its file, and acknowledged ones are reused all along.
		w := e.writer(t, sink.MaxBuffered(50, 1_000_012), sink.SharedBudget(sink.NewBudget(64<<10)), sink.SpoolDir(t.TempDir()))
		headers := sink.NewEventHeaders("act_3", time.Unix(0, 0), time.Unix(300, 0), "1")
		want := map[string]string{}
		txn, err := w.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3000 {
			ev := sink.NewEvent()
			key := fmt.Appendf(ev.Key(), "key-%d", i)
			// Values of varied lengths, so a reused buffer is sometimes too short.
			value := fmt.Appendf(ev.Value(), "%d:%s", i, strings.Repeat(string(rune('a'+i%26)), i%300))
			version := []byte(strconv.Itoa(i * 7))
			want[string(key)] = string(value) + "|" + string(version)
			if err := txn.Produce(headers.Event(ev, e.eventsA, key, value, kgo.RecordHeader{Key: "v", Value: version})); err != nil {
				t.Fatalf("Produce %d: %v", i, err)
			}
		}
		if txn.Spooled() == 0 {
			t.Error("nothing was spooled: the test does not cover recycling while spooling")
		}
		off, err := offsets.Record(e.offsets, offsets.Key{Connector: "c", Server: "0040", Report: "act_3"}, &offsets.Position{WindowEnd: time.Unix(300, 0)})
		if err != nil {
			t.Fatal(err)
		}
		if err := txn.Commit(off); err != nil {
			t.Fatalf("Commit: %v", err)
		}
		got := map[string]string{}
		if err := sink.ReadCommitted(ctx, []kgo.Opt{kgo.SeedBrokers(c.Seeds...)}, []string{e.eventsA}, func(r *kgo.Record) bool {
			var version string
			for _, h := range r.Headers {
				if h.Key == "v" {
					version = string(h.Value)
				}
			}
			if len(r.Headers) != 5 {
				t.Errorf("event %s: %d headers, want 5", r.Key, len(r.Headers))
			}
			got[string(r.Key)] = string(r.Value) + "|" + version
			return true
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Errorf("%d events committed, want %d", len(got), len(want))
		}
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("event %s arrived as %.40q, want %.40q", k, got[k], v)
			}
		}
	})
}
