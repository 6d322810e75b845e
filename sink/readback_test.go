package sink_test

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wolkvox-connect/wolkvox-connect/sink"
	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
)

func TestReadCommitted(t *testing.T) {
	kafkatest.Clusters(t, func(t *testing.T, kc kafkatest.Cluster) {
		ctx := context.Background()
		a, b := kafkatest.Topic(t, "a"), kafkatest.Topic(t, "b")
		kafkatest.CreateTopic(t, kc.Seeds, a, 2, nil)
		kafkatest.CreateTopic(t, kc.Seeds, b, 1, nil)
		cl := kafkatest.Client(t, kc.Seeds, kgo.TransactionalID(kafkatest.TransactionalID(t)), kgo.RecordPartitioner(kgo.ManualPartitioner()))
		txn := func(commit bool, recs ...*kgo.Record) {
			t.Helper()
			if err := cl.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				t.Fatal(err)
			}
			if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
				t.Fatal(err)
			}
		}
		rec := func(topic, v string, p int32) *kgo.Record {
			return &kgo.Record{Topic: topic, Value: []byte(v), Partition: p}
		}
		txn(true, rec(a, "a1", 0), rec(a, "a2", 1), rec(b, "b1", 0))
		txn(false, rec(a, "aborted", 0), rec(b, "aborted", 0))
		txn(true, rec(a, "a3", 0), rec(b, "b2", 0), rec(b, "b3", 0))
		waitStable(t, kc.Seeds, a, b)

		got := map[string][]string{}
		missing := kafkatest.Topic(t, "missing") // never created: reads as empty
		err := sink.ReadCommitted(ctx, []kgo.Opt{kgo.SeedBrokers(kc.Seeds...)}, []string{a, b, missing}, func(r *kgo.Record) bool {
			got[r.Topic] = append(got[r.Topic], string(r.Value))
			return r.Topic != b || len(got[b]) < 2 // stop b after two records
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got[a]) != 3 || !contains(got[a], "a1", "a2", "a3") {
			t.Errorf("topic a: %v, want a1 a2 a3 (and never the aborted record)", got[a])
		}
		if len(got[b]) != 2 || got[b][0] != "b1" || got[b][1] != "b2" {
			t.Errorf("topic b: %v, want b1 b2 and then stop", got[b])
		}
		if len(got[missing]) != 0 {
			t.Errorf("missing topic: %v, want nothing", got[missing])
		}
	})
}

func contains(have []string, want ...string) bool {
	set := map[string]bool{}
	for _, h := range have {
		set[h] = true
	}
	for _, w := range want {
		if !set[w] {
			return false
		}
	}
	return true
}
