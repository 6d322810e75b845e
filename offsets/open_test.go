package offsets

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
)

// TestOpenTransactions: a transaction open on the offsets topic is named with its
// transactional ID, when it began and when the broker aborts it; one that ended, or
// one open on another topic, is not listed.
func TestOpenTransactions(t *testing.T) {
	kafkatest.Clusters(t, func(t *testing.T, c kafkatest.Cluster) {
		t.Parallel()
		ctx, topic, st := newStore(t, c.Seeds)
		if open, err := st.OpenTransactions(ctx); err != nil || len(open) != 0 {
			t.Fatalf("OpenTransactions on a quiet topic = %v, %v; want none", open, err)
		}
		elsewhere := kafkatest.Topic(t, "elsewhere")
		if err := EnsureTopic(ctx, admin(t, c.Seeds), elsewhere, 1, -1); err != nil {
			t.Fatal(err)
		}
		other := txnClient(t, c.Seeds, kafkatest.TransactionalID(t))
		if err := other.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := other.ProduceSync(ctx, &kgo.Record{Topic: elsewhere, Key: []byte("k"), Value: []byte("x")}).FirstErr(); err != nil {
			t.Fatal(err)
		}

		id := kafkatest.TransactionalID(t)
		holder := txnClient(t, c.Seeds, id)
		before := time.Now().Add(-time.Second)
		if err := holder.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		p := at("2025-03-01T00:05:00Z")
		if err := holder.ProduceSync(ctx, record(t, topic, Key{Connector: "c2", Server: "0040", Report: "act_3"}, &p)).FirstErr(); err != nil {
			t.Fatal(err)
		}
		open, err := st.OpenTransactions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(open) != 1 || open[0].TransactionalID != id || open[0].Began.Before(before) || open[0].Began.After(time.Now()) || open[0].Timeout <= 0 {
			t.Fatalf("OpenTransactions = %+v; want only %s, begun just now, with its timeout", open, id)
		}
		if s := open[0].String(); !strings.Contains(s, id) || !strings.Contains(s, "aborted by the broker at ") {
			t.Errorf("String() = %q; want the ID and when the broker aborts it", s)
		}

		if err := holder.EndTransaction(ctx, kgo.TryCommit); err != nil {
			t.Fatal(err)
		}
		// Kafka's coordinator writes the commit marker after EndTxn has answered: the
		// partition's leader lists the transaction as open until then.
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			open, err := st.OpenTransactions(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(open) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("OpenTransactions 30 s after it committed = %v; want none", open)
			}
		}
		if err := other.EndTransaction(ctx, kgo.TryAbort); err != nil {
			t.Fatal(err)
		}
	})
}

func TestOpenTransactionString(t *testing.T) {
	began := time.Date(2026, 12, 4, 12, 1, 2, 0, time.UTC)
	tests := []struct {
		txn  OpenTransaction
		want string
	}{
		{OpenTransaction{ProducerID: 7}, "producer 7"},
		{OpenTransaction{TransactionalID: "wolkvox-connect-backfill-bogota", ProducerID: 7, Began: began, Timeout: 5 * time.Minute},
			"wolkvox-connect-backfill-bogota (open since 12:01:02, aborted by the broker at 12:06:02 UTC unless it ends first)"},
		{OpenTransaction{TransactionalID: "x", Began: began}, "x (open since 12:01:02 UTC)"},
	}
	for _, tt := range tests {
		if got := tt.txn.String(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.txn, got, tt.want)
		}
	}
}

// TestOpenTransactionsUnnamed: a producer the coordinators do not name (ListTransactions
// answers nothing for it, as on a cluster that denies DESCRIBE on its transactional ID)
// is returned by its producer ID, and no DescribeTransactions is sent: without IDs,
// that call lists (unfiltered) and describes every transaction of the cluster.
func TestOpenTransactionsUnnamed(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	seeds := c.ListenAddrs()
	ctx, topic, st := newStore(t, seeds)
	holder := txnClient(t, seeds, kafkatest.TransactionalID(t))
	if err := holder.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	p := at("2025-03-01T00:05:00Z")
	if err := holder.ProduceSync(ctx, record(t, topic, Key{Connector: "c2", Server: "0040", Report: "act_3"}, &p)).FirstErr(); err != nil {
		t.Fatal(err)
	}
	var described, unfiltered atomic.Int32
	c.ControlKey(int16(kmsg.ListTransactions), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if len(req.(*kmsg.ListTransactionsRequest).ProducerIDFilters) == 0 {
			unfiltered.Add(1) // every transaction of the cluster
		}
		return req.(*kmsg.ListTransactionsRequest).ResponseKind(), nil, true
	})
	c.ControlKey(int16(kmsg.DescribeTransactions), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		described.Add(1)
		return nil, nil, false
	})
	open, err := st.OpenTransactions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 1 || open[0].TransactionalID != "" || open[0].ProducerID < 0 || !strings.HasPrefix(open[0].String(), "producer ") {
		t.Errorf("OpenTransactions = %+v; want one producer, unnamed", open)
	}
	if n, all := described.Load(), unfiltered.Load(); n != 0 || all != 0 {
		t.Errorf("%d DescribeTransactions and %d unfiltered ListTransactions requests for no transactional ID", n, all)
	}
}
