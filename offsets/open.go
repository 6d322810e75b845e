package offsets

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// OpenTransaction is a transaction open on the offsets topic. [Store.Load] reads past
// it only once it ends: its producer commits or aborts it, a new instance of its
// transactional ID fences it, or the broker aborts it at its timeout.
type OpenTransaction struct {
	TransactionalID string        // "" when the coordinator did not name it
	ProducerID      int64         // the broker's producer ID, as kafka-transactions.sh shows it
	Began           time.Time     // zero when unknown
	Timeout         time.Duration // the broker aborts it this long after Began; zero when unknown
}

// String says who holds the transaction and until when, in UTC.
func (t OpenTransaction) String() string {
	who := cmp.Or(t.TransactionalID, fmt.Sprintf("producer %d", t.ProducerID))
	if t.Began.IsZero() {
		return who
	}
	s := fmt.Sprintf("%s (open since %s", who, t.Began.UTC().Format(time.TimeOnly))
	if t.Timeout > 0 {
		s += ", aborted by the broker at " + t.Began.Add(t.Timeout).UTC().Format(time.TimeOnly) + " UTC unless it ends first"
	} else {
		s += " UTC"
	}
	return s + ")"
}

// OpenTransactions returns the transactions open on the offsets topic, oldest first:
// what a [Store.Load] that takes long waits for. It asks the partition's leader which
// producers have a transaction open there (DescribeProducers, Kafka 2.8 and later) and
// the coordinators what those transactions are (ListTransactions, DescribeTransactions);
// a producer the coordinators do not name is returned with its producer ID alone.
func (s *Store) OpenTransactions(ctx context.Context) ([]OpenTransaction, error) {
	cl, err := kgo.NewClient(s.clientOpts()...)
	if err != nil {
		return nil, fmt.Errorf("offsets: client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	producers, err := adm.DescribeProducers(ctx, kadm.TopicsSet{s.topic: nil})
	if err != nil {
		return nil, fmt.Errorf("offsets: describing the producers of %q: %w", s.topic, err)
	}
	open := map[int64]*OpenTransaction{}
	var ids []int64
	producers.EachProducer(func(p kadm.DescribedProducer) {
		if p.CurrentTxnStartOffset >= 0 && open[p.ProducerID] == nil {
			open[p.ProducerID] = &OpenTransaction{ProducerID: p.ProducerID}
			ids = append(ids, p.ProducerID)
		}
	})
	if len(ids) == 0 {
		return nil, nil
	}
	// What the coordinators say is a description only: a producer they do not name is
	// still open on the topic.
	if listed, err := adm.ListTransactions(ctx, ids, nil); err == nil {
		var txnIDs []string
		for _, l := range listed {
			if t := open[l.ProducerID]; t != nil {
				t.TransactionalID = l.TxnID
				txnIDs = append(txnIDs, l.TxnID)
			}
		}
		// Without IDs, DescribeTransactions would list and describe every transaction
		// of the cluster: none is asked for then.
		described := kadm.DescribedTransactions{}
		if len(txnIDs) > 0 {
			described, _ = adm.DescribeTransactions(ctx, txnIDs...) // what it could describe
		}
		for _, d := range described {
			if t := open[d.ProducerID]; t != nil && d.Err == nil && d.StartTimestamp > 0 {
				t.Began = time.UnixMilli(d.StartTimestamp)
				t.Timeout = time.Duration(d.TimeoutMillis) * time.Millisecond
			}
		}
	}
	out := make([]OpenTransaction, 0, len(open))
	for _, id := range ids {
		out = append(out, *open[id])
	}
	slices.SortStableFunc(out, func(a, b OpenTransaction) int {
		if c := a.Began.Compare(b.Began); c != 0 {
			return c
		}
		return cmp.Compare(a.TransactionalID, b.TransactionalID)
	})
	return out, nil
}
