package kafkatest_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/goleak"

	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
)

// TestMain fails the package if any goroutine outlives the tests: every kgo client and
// kfake cluster here is closed by t.Cleanup or defer, and nothing needs to be ignored.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testTimeout bounds each subtest; the real broker answers in milliseconds, so hitting it
// means a hang (for example a read_committed read blocked by an open transaction).
const testTimeout = 60 * time.Second

// kv is one record as the tests compare it.
type kv struct{ Key, Value string }

func (r kv) String() string { return r.Key + "=" + r.Value }

// TestKafkaTransactions proves, on kfake and on the real broker, the Kafka behaviour the
// sink and offsets packages depend on: one transaction spans data topics and a compacted
// topic, aborted records are invisible to read_committed readers, a second producer with
// the same transactional ID fences the first, and a compacted topic keeps its policy.
func TestKafkaTransactions(t *testing.T) {
	kafkatest.Clusters(t, func(t *testing.T, c kafkatest.Cluster) {
		t.Parallel() // kfake and the real broker are independent
		t.Run("one transaction spans two topics and a compacted topic", func(t *testing.T) { testAtomicWrite(t, c) })
		t.Run("aborted transaction is invisible to read_committed", func(t *testing.T) { testAbort(t, c) })
		t.Run("second producer with the same transactional ID fences the first", func(t *testing.T) { testFencing(t, c) })
		t.Run("compacted topic reads back cleanup.policy=compact", func(t *testing.T) { testCompactedConfig(t, c) })
	})
}

func testAtomicWrite(t *testing.T, c kafkatest.Cluster) {
	ctx := testContext(t)
	a, b, offsets := kafkatest.Topic(t, "a"), kafkatest.Topic(t, "b"), kafkatest.Topic(t, "offsets")
	kafkatest.CreateTopic(t, c.Seeds, a, 1, nil)
	kafkatest.CreateTopic(t, c.Seeds, b, 2, nil)
	kafkatest.CreateTopic(t, c.Seeds, offsets, 1, map[string]string{"cleanup.policy": "compact"})

	p := producer(ctx, t, c, kafkatest.TransactionalID(t))
	commit(ctx, t, p,
		rec(a, "r1", "a-1"), rec(a, "r1", "a-2"),
		rec(b, "r2", "b-1"),
		rec(offsets, "report-1", "pos-1"))

	checkRead(ctx, t, c, a, kgo.ReadCommitted(), kv{"r1", "a-1"}, kv{"r1", "a-2"})
	checkRead(ctx, t, c, b, kgo.ReadCommitted(), kv{"r2", "b-1"})
	checkRead(ctx, t, c, offsets, kgo.ReadCommitted(), kv{"report-1", "pos-1"})

	// One transaction means one producer session: every record carries the same producer
	// ID and epoch, whichever topic it landed in.
	var sessions []string
	for _, topic := range []string{a, b, offsets} {
		for _, r := range read(ctx, t, c, topic, kgo.ReadCommitted()) {
			sessions = append(sessions, fmt.Sprintf("%d/%d", r.ProducerID, r.ProducerEpoch))
		}
	}
	if len(sessions) != 4 || slices.ContainsFunc(sessions, func(s string) bool { return s != sessions[0] }) {
		t.Fatalf("producer id/epoch per record = %v; want 4 records of one session", sessions)
	}
}

func testAbort(t *testing.T, c kafkatest.Cluster) {
	ctx := testContext(t)
	a, offsets := kafkatest.Topic(t, "a"), kafkatest.Topic(t, "offsets")
	kafkatest.CreateTopic(t, c.Seeds, a, 1, nil)
	kafkatest.CreateTopic(t, c.Seeds, offsets, 1, map[string]string{"cleanup.policy": "compact"})

	p := producer(ctx, t, c, kafkatest.TransactionalID(t))
	commit(ctx, t, p, rec(a, "k", "committed-1"), rec(offsets, "report-1", "pos-1"))

	if err := p.BeginTransaction(); err != nil {
		t.Fatalf("begin: %v", err)
	}
	produce(ctx, t, p, rec(a, "k", "aborted-1"), rec(offsets, "report-1", "pos-aborted"))
	if err := p.EndTransaction(ctx, kgo.TryAbort); err != nil {
		t.Fatalf("abort: %v", err)
	}
	commit(ctx, t, p, rec(a, "k", "committed-2"), rec(offsets, "report-1", "pos-2"))

	checkRead(ctx, t, c, a, kgo.ReadCommitted(), kv{"k", "committed-1"}, kv{"k", "committed-2"})
	checkRead(ctx, t, c, a, kgo.ReadUncommitted(), kv{"k", "committed-1"}, kv{"k", "aborted-1"}, kv{"k", "committed-2"})
	checkRead(ctx, t, c, offsets, kgo.ReadCommitted(), kv{"report-1", "pos-1"}, kv{"report-1", "pos-2"})
	checkRead(ctx, t, c, offsets, kgo.ReadUncommitted(), kv{"report-1", "pos-1"}, kv{"report-1", "pos-aborted"}, kv{"report-1", "pos-2"})
}

// testFencing has a zombie producer try to commit after a new instance with the same
// transactional ID took over. Under transaction protocol v2 (KIP-890, the default of Kafka
// 4.x and of kfake) the error the zombie gets depends on what happened since. Right after
// the takeover its epoch is exactly one behind, which the coordinator may read as a retried
// EndTxn of the transaction the takeover aborted: the answer is INVALID_TXN_STATE (kfake
// always; Kafka 4.3 in some runs) or PRODUCER_FENCED (Kafka 4.3 in other runs, depending
// on whether the abort markers were written yet). Once the new instance has finished a
// transaction of its own the zombie is two epochs behind and always gets PRODUCER_FENCED.
// In every case nothing of the zombie becomes visible and its client is dead for good: the
// sink must treat both errors as "another instance owns this transactional ID".
func testFencing(t *testing.T, c kafkatest.Cluster) {
	tests := []struct {
		name string
		// newCommitsFirst: the new instance commits a transaction before the zombie's commit.
		newCommitsFirst bool
		// wantOneOf: the zombie's commit fails with one of these.
		wantOneOf []error
	}{
		{name: "zombie commits right after the takeover", wantOneOf: []error{kerr.ProducerFenced, kerr.InvalidTxnState}},
		{name: "zombie commits after the new instance committed", newCommitsFirst: true, wantOneOf: []error{kerr.ProducerFenced}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testContext(t)
			a := kafkatest.Topic(t, "a")
			kafkatest.CreateTopic(t, c.Seeds, a, 1, nil)
			id := kafkatest.TransactionalID(t)

			old := producer(ctx, t, c, id)
			oldID, oldEpoch, err := old.ProducerID(ctx)
			if err != nil {
				t.Fatalf("old producer ID: %v", err)
			}
			if err := old.BeginTransaction(); err != nil {
				t.Fatalf("old begin: %v", err)
			}
			produce(ctx, t, old, rec(a, "k", "from-fenced-producer"))

			// The new instance's InitProducerID bumps the epoch and aborts the old open transaction.
			cur := producer(ctx, t, c, id)
			curID, curEpoch, err := cur.ProducerID(ctx)
			if err != nil {
				t.Fatalf("new producer ID: %v", err)
			}
			if curID != oldID || curEpoch <= oldEpoch {
				t.Fatalf("new producer session %d/%d; want producer ID %d with an epoch above %d", curID, curEpoch, oldID, oldEpoch)
			}
			if tt.newCommitsFirst {
				commit(ctx, t, cur, rec(a, "k", "from-new-producer"))
			}

			commitErr := old.EndTransaction(ctx, kgo.TryCommit)
			i := slices.IndexFunc(tt.wantOneOf, func(want error) bool { return errors.Is(commitErr, want) })
			if i < 0 {
				t.Fatalf("old producer's commit after the takeover: %v; want one of %v", commitErr, tt.wantOneOf)
			}
			// Aborting still works (it only resets the client), but the client can never
			// begin again: the error is fatal and names the cause.
			if err := old.EndTransaction(ctx, kgo.TryAbort); err != nil {
				t.Fatalf("old producer's abort after the failed commit: %v", err)
			}
			if err := old.BeginTransaction(); !errors.Is(err, tt.wantOneOf[i]) {
				t.Fatalf("old producer's begin after the takeover: %v; want an error wrapping %v", err, tt.wantOneOf[i])
			}
			if !tt.newCommitsFirst {
				commit(ctx, t, cur, rec(a, "k", "from-new-producer"))
			}
			checkRead(ctx, t, c, a, kgo.ReadCommitted(), kv{"k", "from-new-producer"})
			checkRead(ctx, t, c, a, kgo.ReadUncommitted(), kv{"k", "from-fenced-producer"}, kv{"k", "from-new-producer"})
		})
	}
}

func testCompactedConfig(t *testing.T, c kafkatest.Cluster) {
	ctx := testContext(t)
	compacted, plain := kafkatest.Topic(t, "offsets"), kafkatest.Topic(t, "data")
	kafkatest.CreateTopic(t, c.Seeds, compacted, 1, map[string]string{"cleanup.policy": "compact", "min.compaction.lag.ms": "0"})
	kafkatest.CreateTopic(t, c.Seeds, plain, 1, nil)

	adm := kadm.NewClient(kafkatest.Client(t, c.Seeds))
	rcs, err := adm.DescribeTopicConfigs(ctx, compacted, plain)
	if err != nil {
		t.Fatalf("describe configs: %v", err)
	}
	tests := []struct {
		topic, key, value string
		source            kmsg.ConfigSource
	}{
		{compacted, "cleanup.policy", "compact", kmsg.ConfigSourceDynamicTopicConfig},
		{compacted, "min.compaction.lag.ms", "0", kmsg.ConfigSourceDynamicTopicConfig},
		{plain, "cleanup.policy", "delete", kmsg.ConfigSourceDefaultConfig},
	}
	for _, tt := range tests {
		rc, err := rcs.On(tt.topic, nil)
		if err != nil || rc.Err != nil {
			t.Fatalf("configs of %s: %v / %v", tt.topic, err, rc.Err)
		}
		i := slices.IndexFunc(rc.Configs, func(c kadm.Config) bool { return c.Key == tt.key })
		if i < 0 {
			t.Fatalf("%s has no %s among %d configs", tt.topic, tt.key, len(rc.Configs))
		}
		got := rc.Configs[i]
		if got.MaybeValue() != tt.value || got.Source != tt.source {
			t.Errorf("%s %s = %q (source %v); want %q (source %v)", tt.topic, tt.key, got.MaybeValue(), got.Source, tt.value, tt.source)
		}
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

func rec(topic, key, value string) *kgo.Record {
	return &kgo.Record{Topic: topic, Key: []byte(key), Value: []byte(value)}
}

// producer returns a transactional client that has already initialised its producer ID,
// so later steps run in a known order.
func producer(ctx context.Context, t *testing.T, c kafkatest.Cluster, id string) *kgo.Client {
	t.Helper()
	p := kafkatest.Client(t, c.Seeds, kgo.TransactionalID(id), kgo.TransactionTimeout(30*time.Second))
	if _, _, err := p.ProducerID(ctx); err != nil {
		t.Fatalf("InitProducerID for %s: %v", id, err)
	}
	return p
}

func produce(ctx context.Context, t *testing.T, p *kgo.Client, recs ...*kgo.Record) {
	t.Helper()
	if err := p.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// commit writes recs in one transaction and commits it.
func commit(ctx context.Context, t *testing.T, p *kgo.Client, recs ...*kgo.Record) {
	t.Helper()
	if err := p.BeginTransaction(); err != nil {
		t.Fatalf("begin: %v", err)
	}
	produce(ctx, t, p, recs...)
	if err := p.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatalf("commit: %v", err)
	}
}

func checkRead(ctx context.Context, t *testing.T, c kafkatest.Cluster, topic string, level kgo.IsolationLevel, want ...kv) {
	t.Helper()
	var got []kv
	for _, r := range read(ctx, t, c, topic, level) {
		got = append(got, kv{string(r.Key), string(r.Value)})
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s read with %s = %v; want %v", topic, isolationName(level), got, want)
	}
}

func isolationName(level kgo.IsolationLevel) string {
	if level == kgo.ReadCommitted() {
		return "read_committed"
	}
	return "read_uncommitted"
}

// read returns the data records of every partition of topic, partition by partition, from
// the start up to the high watermark as it is now. Control records are kept while reading
// because a transaction's last offset is its commit or abort marker: without them a reader
// never sees the offset it waits for. They are dropped from the result.
func read(ctx context.Context, t *testing.T, c kafkatest.Cluster, topic string, level kgo.IsolationLevel) []*kgo.Record {
	t.Helper()
	ends, err := kadm.NewClient(kafkatest.Client(t, c.Seeds)).ListEndOffsets(ctx, topic)
	if err != nil || ends.Error() != nil {
		t.Fatalf("end offsets of %s: %v / %v", topic, err, ends.Error())
	}
	end := map[int32]int64{}
	start := map[int32]kgo.Offset{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			end[o.Partition] = o.Offset
			start[o.Partition] = kgo.NewOffset().AtStart()
		}
	})
	if len(end) == 0 {
		return nil
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Seeds...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: start}),
		kgo.FetchIsolationLevel(level),
		kgo.KeepControlRecords())
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	defer cl.Close()

	byPartition := map[int32][]*kgo.Record{}
	for len(end) > 0 {
		fs := cl.PollFetches(ctx)
		if err := fs.Err(); err != nil {
			t.Fatalf("reading %s, partitions %v not yet at their end: %v", topic, end, err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset+1 >= end[r.Partition] {
				delete(end, r.Partition)
			}
			if !r.Attrs.IsControl() {
				byPartition[r.Partition] = append(byPartition[r.Partition], r)
			}
		})
	}
	var all []*kgo.Record
	for _, p := range slices.Sorted(maps.Keys(byPartition)) {
		all = append(all, byPartition[p]...)
	}
	return all
}
