package offsets

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/goleak"

	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func admin(t testing.TB, seeds []string) *kadm.Client {
	return kadm.NewClient(kafkatest.Client(t, seeds))
}

func topicConfig(t testing.TB, adm *kadm.Client, topic, key string) string {
	t.Helper()
	rcs, err := adm.DescribeTopicConfigs(testCtx(t), topic)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rcs.On(topic, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rc.Configs {
		if c.Key == key {
			return c.MaybeValue()
		}
	}
	return ""
}

func TestEnsureTopic(t *testing.T) {
	kafkatest.Clusters(t, func(t *testing.T, c kafkatest.Cluster) {
		t.Parallel()
		ctx := testCtx(t)
		adm := admin(t, c.Seeds)

		topic := kafkatest.Topic(t, "offsets")
		for range 2 { // the second call finds it and accepts it
			if err := EnsureTopic(ctx, adm, topic, 3, -1); err != nil {
				t.Fatalf("EnsureTopic: %v", err)
			}
		}
		if got := topicConfig(t, adm, topic, "cleanup.policy"); got != "compact" {
			t.Errorf("cleanup.policy = %q, want compact", got)
		}
		if got := topicConfig(t, adm, topic, "max.message.bytes"); got != "16777216" {
			t.Errorf("max.message.bytes = %q, want 16777216", got)
		}

		for _, policy := range []string{"delete", "compact,delete"} {
			bad := kafkatest.Topic(t, "bad")
			kafkatest.CreateTopic(t, c.Seeds, bad, 1, map[string]string{"cleanup.policy": policy})
			err := EnsureTopic(ctx, adm, bad, 1, -1)
			var nc *NotCompactedError
			if !errors.As(err, &nc) || !errors.Is(err, ErrNotCompacted) || nc.Topic != bad || nc.Policy != policy {
				t.Errorf("EnsureTopic on a %q topic = %v; want a NotCompactedError naming it", policy, err)
			}
		}
	})
}

// TestEnsureTopicNotYetVisible: a topic another client has just created exists for the
// controller (TopicAlreadyExists) before the broker that answers DescribeConfigs knows
// it (UNKNOWN_TOPIC_OR_PARTITION), as happened on the real broker under load. EnsureTopic
// asks again instead of failing.
func TestEnsureTopicNotYetVisible(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	seeds := c.ListenAddrs()
	adm := admin(t, seeds)
	for _, policy := range []string{"compact", "delete"} {
		topic := kafkatest.Topic(t, policy)
		kafkatest.CreateTopic(t, seeds, topic, 1, map[string]string{"cleanup.policy": policy})
		unknown := 3 // the broker does not know the topic for its first three answers
		c.ControlKey(int16(kmsg.DescribeConfigs), func(req kmsg.Request) (kmsg.Response, error, bool) {
			if unknown == 0 {
				return nil, nil, false
			}
			unknown--
			c.KeepControl()
			resp := req.(*kmsg.DescribeConfigsRequest).ResponseKind().(*kmsg.DescribeConfigsResponse)
			for _, r := range req.(*kmsg.DescribeConfigsRequest).Resources {
				rr := kmsg.NewDescribeConfigsResponseResource()
				rr.ResourceType, rr.ResourceName = r.ResourceType, r.ResourceName
				rr.ErrorCode = kerr.UnknownTopicOrPartition.Code
				resp.Resources = append(resp.Resources, rr)
			}
			return resp, nil, true
		})
		err := EnsureTopic(testCtx(t), adm, topic, 1, -1)
		var nc *NotCompactedError
		switch {
		case unknown != 0:
			t.Errorf("%s: EnsureTopic = %v before the broker knew the topic", policy, err)
		case policy == "compact" && err != nil:
			t.Errorf("EnsureTopic on a compacted topic the broker learnt late = %v, want nil", err)
		case policy == "delete" && !errors.As(err, &nc):
			t.Errorf("EnsureTopic on a %q topic the broker learnt late = %v, want a NotCompactedError", policy, err)
		}
	}
}

// newStore makes an offsets topic of its own for the test and a store on it.
func newStore(t testing.TB, seeds []string) (context.Context, string, *Store) {
	t.Helper()
	ctx := testCtx(t)
	topic := kafkatest.Topic(t, "offsets")
	if err := EnsureTopic(ctx, admin(t, seeds), topic, 1, -1); err != nil {
		t.Fatal(err)
	}
	st, err := NewStore(topic, Seeds(seeds...), TransactionalID(kafkatest.TransactionalID(t)))
	if err != nil {
		t.Fatal(err)
	}
	return ctx, topic, st
}

// txnClient is a bare transactional producer, standing in for a writer (or a crashed
// one: the test decides whether it ends its transactions).
func txnClient(t testing.TB, seeds []string, id string) *kgo.Client {
	t.Helper()
	cl := kafkatest.Client(t, seeds, kgo.TransactionalID(id), kgo.TransactionTimeout(30*time.Second),
		kgo.ProducerBatchMaxBytes(TopicMaxMessageBytes)) // as the sink configures it for the offsets topic
	if _, _, err := cl.ProducerID(testCtx(t)); err != nil {
		t.Fatalf("ProducerID: %v", err)
	}
	return cl
}

func record(t testing.TB, topic string, k Key, p *Position) *kgo.Record {
	t.Helper()
	r, err := Record(topic, k, p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// produce writes recs in one transaction and commits or aborts it.
func produce(t testing.TB, cl *kgo.Client, commit kgo.TransactionEndTry, recs ...*kgo.Record) {
	t.Helper()
	ctx := testCtx(t)
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := cl.EndTransaction(ctx, commit); err != nil {
		t.Fatal(err)
	}
}

func at(s string) Position {
	t, _ := time.Parse(time.RFC3339, s)
	return Position{Version: CurrentVersion, WindowEnd: t}
}

func mustEncode(t testing.TB, k Key) string {
	b, err := k.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLoad(t *testing.T) {
	kafkatest.Clusters(t, func(t *testing.T, c kafkatest.Cluster) {
		t.Parallel()
		ctx := testCtx(t)
		topic := kafkatest.Topic(t, "offsets")
		st, err := NewStore(topic, Seeds(c.Seeds...))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := st.Load(ctx, "c1"); err != nil || len(got) != 0 {
			t.Fatalf("Load of a missing topic = %v, %v; want nothing", got, err)
		}
		if err := EnsureTopic(ctx, admin(t, c.Seeds), topic, 3, -1); err != nil {
			t.Fatal(err)
		}
		if got, err := st.Load(ctx, "c1"); err != nil || len(got) != 0 {
			t.Fatalf("Load of an empty topic = %v, %v; want nothing", got, err)
		}

		act := Key{Connector: "c1", Server: "0040", Report: "act_3"}
		cdr := Key{Connector: "c1", Server: "0040", Report: "cdr_1", Params: map[string]string{"skill_id": "all"}}
		gone := Key{Connector: "c1", Server: "0040", Report: "agent_5"}
		other := Key{Connector: "c2", Server: "0040", Report: "act_3"}
		big := Position{Version: CurrentVersion, LastSeen: time.Unix(1740830400, 0).UTC(), Seen: seenRows(60000, 7)}
		big = normalized(big)

		cl := txnClient(t, c.Seeds, kafkatest.TransactionalID(t))
		p1, p2, p3 := at("2025-03-01T00:05:00Z"), at("2025-03-01T00:10:00Z"), at("2025-03-01T00:15:00Z")
		produce(t, cl, kgo.TryCommit, record(t, topic, act, &p1), record(t, topic, cdr, &big), record(t, topic, gone, &p1), record(t, topic, other, &p1))
		produce(t, cl, kgo.TryCommit, record(t, topic, act, &p2), record(t, topic, gone, nil))
		produce(t, cl, kgo.TryAbort, record(t, topic, act, &p3), record(t, topic, cdr, nil))
		// A record another tool wrote: not this package's key shape, skipped.
		produce(t, cl, kgo.TryCommit, &kgo.Record{Topic: topic, Key: []byte("junk"), Value: []byte("junk")},
			// Same key as act, written with other spacing: it counts as act.
			&kgo.Record{Topic: topic, Key: []byte(`[ "c1", {"report":"act_3", "server":"0040"} ]`), Value: mustMarshal(t, p2)})

		got, err := st.Load(ctx, "c1")
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		want := map[string]Position{mustEncode(t, act): p2, mustEncode(t, cdr): big}
		if len(got) != len(want) {
			t.Fatalf("Load returned %d positions, want %d: %v", len(got), len(want), keys(got))
		}
		for k, w := range want {
			g, ok := got[k]
			if !ok || !g.LastSeen.Equal(w.LastSeen) || !g.WindowEnd.Equal(w.WindowEnd) || len(g.Seen) != len(w.Seen) {
				t.Fatalf("position of %s = %s; want %s", k, summary(g), summary(w))
			}
		}
		if s := got[mustEncode(t, cdr)].Seen; s[0] != big.Seen[0] || s[len(s)-1] != big.Seen[len(big.Seen)-1] {
			t.Fatal("the 60,000 seen rows did not survive the trip through Kafka")
		}

		entries, err := st.List(ctx)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if len(entries) != 3 || entries[0].Key.Connector != "c1" || entries[2].Key.Connector != "c2" {
			t.Fatalf("List = %d entries %+v", len(entries), entries)
		}
	})
}

func mustMarshal(t testing.TB, p Position) []byte {
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func keys(m map[string]Position) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestLoadAfterCrash: a writer died with a transaction open. Until the next instance
// opens, Load waits (it reads to the high watermark, above which the open transaction
// sits); once the next instance claims the transactional ID, the open transaction is
// aborted and Load returns promptly, without its record.
func TestLoadAfterCrash(t *testing.T) {
	kafkatest.Clusters(t, func(t *testing.T, c kafkatest.Cluster) {
		t.Parallel()
		ctx, topic, st := newStore(t, c.Seeds)
		id := kafkatest.TransactionalID(t)
		key := Key{Connector: "c1", Server: "0040", Report: "act_3"}
		p1, p2 := at("2025-03-01T00:05:00Z"), at("2025-03-01T00:10:00Z")

		crashed := txnClient(t, c.Seeds, id)
		produce(t, crashed, kgo.TryCommit, record(t, topic, key, &p1))
		if err := crashed.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := crashed.ProduceSync(ctx, record(t, topic, key, &p2)).FirstErr(); err != nil {
			t.Fatal(err)
		}
		// crashed is never ended: it is the process that died mid-window.

		check := func(stage string) {
			t.Helper()
			got, err := st.Load(ctx, "c1")
			if err != nil {
				t.Fatalf("%s: Load: %v", stage, err)
			}
			if p := got[mustEncode(t, key)]; !p.WindowEnd.Equal(p1.WindowEnd) {
				t.Fatalf("%s: position %s; want the committed %s", stage, p.WindowEnd, p1.WindowEnd)
			}
		}
		early, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		got, err := st.Load(early, "c1")
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Load with the crashed transaction open = %v, %v; want it to wait for the transaction to end", got, err)
		}

		next := txnClient(t, c.Seeds, id) // what sink.Writer.Open does
		adm := admin(t, c.Seeds)
		lso, err := adm.ListCommittedOffsets(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		hwm, err := adm.ListEndOffsets(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		if l, _ := lso.Lookup(topic, 0); l.Offset != func() int64 { h, _ := hwm.Lookup(topic, 0); return h.Offset }() {
			t.Fatalf("the crashed transaction is still open after the next instance's InitProducerID")
		}
		check("after the next instance opened")

		// The next instance can write, and its position is what Load returns.
		p3 := at("2025-03-01T00:15:00Z")
		produce(t, next, kgo.TryCommit, record(t, topic, key, &p3))
		// Kafka writes the commit markers after answering EndTxn; the instance after
		// next waits for them when it claims the ID, and then Load sees p3.
		txnClient(t, c.Seeds, id)
		got, err = st.Load(ctx, "c1")
		if err != nil || !got[mustEncode(t, key)].WindowEnd.Equal(p3.WindowEnd) {
			t.Fatalf("Load after the next commit = %v, %v", got, err)
		}
	})
}

// TestLoadSeesPastAnotherProducersTransaction: the connectors of a worker (or of a
// group) commit their positions to one partition, so another connector's open
// transaction (a crashed worker's stays open until its connector starts again) holds
// the last stable offset below positions committed after it began. Load must return
// those positions all the same: reading to the last stable offset returned the older
// one, and the connector read its windows again, delivering their rows twice (seen in
// TestClusterSharesAndSurvivesKills). It waits for the other transaction to end.
func TestLoadSeesPastAnotherProducersTransaction(t *testing.T) {
	kafkatest.Clusters(t, func(t *testing.T, c kafkatest.Cluster) {
		t.Parallel()
		ctx, topic, st := newStore(t, c.Seeds)
		mine := Key{Connector: "c1", Server: "0040", Report: "act_3"}
		p1, p2 := at("2025-03-01T00:05:00Z"), at("2025-03-01T00:10:00Z")
		writer := txnClient(t, c.Seeds, kafkatest.TransactionalID(t)+"-c1")
		produce(t, writer, kgo.TryCommit, record(t, topic, mine, &p1))

		for _, end := range []kgo.TransactionEndTry{kgo.TryCommit, kgo.TryAbort} {
			other := txnClient(t, c.Seeds, kafkatest.TransactionalID(t)+"-c2")
			if err := other.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			theirs := Key{Connector: "c2", Server: "0040", Report: "act_3"}
			if err := other.ProduceSync(ctx, record(t, topic, theirs, &p1)).FirstErr(); err != nil {
				t.Fatal(err)
			}
			produce(t, writer, kgo.TryCommit, record(t, topic, mine, &p2)) // above c2's open record
			loaded := make(chan map[string]Position, 1)
			go func() {
				got, err := st.Load(ctx, "c1")
				if err != nil {
					t.Error(err)
				}
				loaded <- got
			}()
			select {
			case got := <-loaded:
				t.Fatalf("Load returned %v while c2's transaction was open below c1's position; want it to wait", got)
			case <-time.After(time.Second):
			}
			if err := other.EndTransaction(ctx, end); err != nil {
				t.Fatal(err)
			}
			if got := <-loaded; !got[mustEncode(t, mine)].WindowEnd.Equal(p2.WindowEnd) {
				t.Fatalf("c2's transaction ended (commit %v): Load = %v; want c1 at %s", end, got, p2.WindowEnd)
			}
			p1, p2 = p2, at(p2.WindowEnd.Add(5*time.Minute).Format(time.RFC3339))
		}
	})
}

func TestLoadCorrupt(t *testing.T) {
	seeds := kafkatest.Fake(t)
	ctx := testCtx(t)
	topic := kafkatest.Topic(t)
	if err := EnsureTopic(ctx, admin(t, seeds), topic, 1, -1); err != nil {
		t.Fatal(err)
	}
	key := Key{Connector: "c1", Server: "0040", Report: "act_3"}
	cl := txnClient(t, seeds, kafkatest.TransactionalID(t))
	produce(t, cl, kgo.TryCommit, &kgo.Record{Topic: topic, Key: []byte(mustEncode(t, key)), Value: []byte(`{"version":9}`)})
	st, err := NewStore(topic, Seeds(seeds...))
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Load(ctx, "c1")
	var ce *CorruptError
	if !errors.As(err, &ce) || !errors.Is(err, ErrUnsupportedVersion) || ce.Key != mustEncode(t, key) {
		t.Fatalf("Load = %v; want a CorruptError for the key, wrapping ErrUnsupportedVersion", err)
	}
	if got, err := st.Load(ctx, "c2"); err != nil || len(got) != 0 {
		t.Fatalf("Load of another connector = %v, %v; its records are not read", got, err)
	}
	entries, err := st.List(ctx)
	if err != nil || len(entries) != 1 || !errors.Is(entries[0].Err, ErrCorrupt) {
		t.Fatalf("List = %+v, %v; want the entry with its error", entries, err)
	}
}

func TestSetAndReset(t *testing.T) {
	kafkatest.Clusters(t, func(t *testing.T, c kafkatest.Cluster) {
		t.Parallel()
		ctx := testCtx(t)
		topic := kafkatest.Topic(t, "offsets")
		if err := EnsureTopic(ctx, admin(t, c.Seeds), topic, 1, -1); err != nil {
			t.Fatal(err)
		}
		id := kafkatest.TransactionalID(t)
		st, err := NewStore(topic, Seeds(c.Seeds...), TransactionalID(id))
		if err != nil {
			t.Fatal(err)
		}
		key := Key{Connector: "c1", Server: "0040", Report: "act_3"}

		// A running instance of the connector holds the transactional ID.
		running := txnClient(t, c.Seeds, id)

		p := at("2025-03-01T00:05:00Z")
		if err := st.Set(ctx, key, p); err != nil {
			t.Fatalf("Set: %v", err)
		}
		got, err := st.Load(ctx, "c1")
		if err != nil || !got[mustEncode(t, key)].WindowEnd.Equal(p.WindowEnd) {
			t.Fatalf("Load after Set = %v, %v", got, err)
		}

		// Set fenced the running instance: its next transaction fails instead of
		// overwriting the position that was just set.
		if err := running.BeginTransaction(); err == nil {
			err = running.ProduceSync(ctx, record(t, topic, key, &p)).FirstErr()
			if err == nil {
				err = running.EndTransaction(ctx, kgo.TryCommit)
			}
			if err == nil {
				t.Fatal("the running instance could still commit after Set")
			}
		}

		if err := st.Reset(ctx, key); err != nil {
			t.Fatalf("Reset: %v", err)
		}
		if got, err := st.Load(ctx, "c1"); err != nil || len(got) != 0 {
			t.Fatalf("Load after Reset = %v, %v; want nothing", got, err)
		}
		if err := st.Set(ctx, Key{}, p); !errors.Is(err, ErrMalformedKey) {
			t.Fatalf("Set with a bad key = %v", err)
		}
	})
}

// TestApplyIsOneTransaction: Apply writes all its changes in one transaction (the log
// grows by the records and one commit marker, not a marker per record), a store without
// a transactional ID refuses to write, and a bad key writes nothing.
func TestApplyIsOneTransaction(t *testing.T) {
	kafkatest.Clusters(t, func(t *testing.T, c kafkatest.Cluster) {
		t.Parallel()
		ctx := testCtx(t)
		topic := kafkatest.Topic(t, "offsets")
		adm := admin(t, c.Seeds)
		if err := EnsureTopic(ctx, adm, topic, 1, -1); err != nil {
			t.Fatal(err)
		}
		st, err := NewStore(topic, Seeds(c.Seeds...), TransactionalID(kafkatest.TransactionalID(t)))
		if err != nil {
			t.Fatal(err)
		}
		anonymous, err := NewStore(topic, Seeds(c.Seeds...))
		if err != nil {
			t.Fatal(err)
		}
		end := func() int64 {
			t.Helper()
			ends, err := adm.ListEndOffsets(ctx, topic)
			if err != nil {
				t.Fatal(err)
			}
			o, _ := ends.Lookup(topic, 0)
			return o.Offset
		}
		k1 := Key{Connector: "c1", Server: "0040", Report: "act_3"}
		k2 := Key{Connector: "c1", Server: "0040", Report: "chat_3"}
		p := at("2025-03-01T00:05:00Z")
		before := end()
		if err := st.Apply(ctx, Change{Key: k1, Position: &p}, Change{Key: k2, Position: &p}); err != nil {
			t.Fatalf("Apply: %v", err)
		}
		if grew := end() - before; grew != 3 {
			t.Errorf("the log grew by %d records for two changes; want 3 (two positions, one commit marker)", grew)
		}
		got, err := st.Load(ctx, "c1")
		if err != nil || len(got) != 2 {
			t.Fatalf("Load = %v, %v; want both positions", got, err)
		}
		before = end()
		if err := anonymous.Apply(ctx, Change{Key: k1}); !errors.Is(err, ErrNoTransactionalID) {
			t.Errorf("Apply without a transactional ID = %v, want ErrNoTransactionalID", err)
		}
		if err := st.Apply(ctx, Change{Key: k1}, Change{Key: Key{Connector: "c1"}}); !errors.Is(err, ErrMalformedKey) {
			t.Errorf("Apply with a bad key = %v, want ErrMalformedKey", err)
		}
		if grew := end() - before; grew != 0 {
			t.Errorf("refused changes wrote %d records", grew)
		}
		if got, _ := st.Load(ctx, "c1"); len(got) != 2 {
			t.Errorf("refused changes altered the positions: %v", got)
		}
	})
}

func TestNewStore(t *testing.T) {
	if _, err := NewStore(""); err == nil {
		t.Fatal("NewStore accepted an empty topic")
	}
	if _, err := NewStore("t", Logger(nil)); err == nil {
		t.Fatal("NewStore accepted a nil logger")
	}
	st, err := NewStore("t")
	if err != nil || st.Topic() != "t" {
		t.Fatalf("NewStore = %v, %v", st, err)
	}
}
