package sink_test

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

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

// txn is one transaction of a reader test: its records' values, committed or aborted.
type txn struct {
	commit bool
	values []string
}

// TestReader reads one single-partition topic per case. Offsets in the cases count a
// commit or abort marker after each transaction: [a1 a2] committed takes 0, 1 and the
// marker at 2.
func TestReader(t *testing.T) {
	kafkatest.Clusters(t, func(t *testing.T, kc kafkatest.Cluster) {
		committed := func(values ...string) txn { return txn{true, values} }
		aborted := func(values ...string) txn { return txn{false, values} }
		type loss struct{ offset, resume int64 }
		tests := []struct {
			name string
			opts []sink.ReaderOpt
			// before are written before Read, listed once Read has listed its offsets,
			// and seen[v] once fn was given v; deleteTo deletes the records below it
			// right after listed (0: nothing).
			before, listed []txn
			seen           map[string][]txn
			deleteTo       int64
			missing        bool   // the topic is not created
			stopAfter      int    // fn returns false after this many records (0: never)
			cancelAt       string // fn cancels Read's ctx once given this value
			want           []string
			wantErr        error // errors.Is
			wantLoss       []loss
		}{
			{name: "from the start to the end found first, never an aborted record",
				before: []txn{committed("a1", "a2"), aborted("x"), committed("a3")},
				listed: []txn{committed("later")},
				want:   []string{"a1", "a2", "a3"}},
			{name: "from the end: only records committed from then on",
				opts:      []sink.ReaderOpt{sink.FromEnd(), sink.Follow()},
				before:    []txn{committed("old")},
				listed:    []txn{committed("n1"), aborted("x"), committed("n2")},
				stopAfter: 2, want: []string{"n1", "n2"}},
			{name: "follow: records committed after reaching the end",
				opts:      []sink.ReaderOpt{sink.Follow()},
				before:    []txn{committed("a1")},
				seen:      map[string][]txn{"a1": {aborted("x"), committed("a2")}},
				stopAfter: 2, want: []string{"a1", "a2"}},
			{name: "follow ends when ctx is cancelled",
				opts:   []sink.ReaderOpt{sink.Follow()},
				before: []txn{committed("a1")}, cancelAt: "a1",
				want: []string{"a1"}, wantErr: context.Canceled},
			{name: "fn stops the read, even when following",
				opts:      []sink.ReaderOpt{sink.Follow()},
				before:    []txn{committed("a1", "a2", "a3")},
				stopAfter: 2, want: []string{"a1", "a2"}},
			{name: "records deleted before they were read are skipped and reported",
				before: []txn{committed("a1", "a2"), committed("b1")}, deleteTo: 3,
				want: []string{"b1"}, wantLoss: []loss{{0, 3}}},
			{name: "records deleted up to the end: the read still ends",
				before: []txn{committed("a1", "a2"), committed("b1")}, deleteTo: 5,
				wantLoss: []loss{{0, 5}}},
			{name: "records deleted under a follower",
				opts:   []sink.ReaderOpt{sink.Follow()},
				before: []txn{committed("a1", "a2"), committed("b1")}, deleteTo: 3,
				stopAfter: 1, want: []string{"b1"}, wantLoss: []loss{{0, 3}}},
			{name: "without OnDataLoss, deleted records fail the read",
				opts:   []sink.ReaderOpt{}, // no OnDataLoss: see below
				before: []txn{committed("a1", "a2"), committed("b1")}, deleteTo: 3,
				wantErr: sink.ErrDataLoss, wantLoss: []loss{{0, 3}}},
			{name: "a missing topic fails the read",
				missing: true, wantErr: sink.ErrUnknownTopic},
			{name: "a missing topic reads as empty with MissingTopicsEmpty",
				opts: []sink.ReaderOpt{sink.MissingTopicsEmpty()}, missing: true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx, cancel := readerCtx(t)
				defer cancel()
				topic := kafkatest.Topic(t)
				if !tt.missing {
					kafkatest.CreateTopic(t, kc.Seeds, topic, 1, nil)
				}
				p := kafkatest.Client(t, kc.Seeds, kgo.TransactionalID(kafkatest.TransactionalID(t)))
				write := func(txns []txn) {
					t.Helper()
					for _, x := range txns {
						if err := p.BeginTransaction(); err != nil {
							t.Fatal(err)
						}
						for _, v := range x.values {
							if err := p.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(v)}).FirstErr(); err != nil {
								t.Fatal(err)
							}
						}
						if err := p.EndTransaction(ctx, kgo.TransactionEndTry(x.commit)); err != nil {
							t.Fatal(err)
						}
					}
				}
				write(tt.before)
				if !tt.missing {
					waitStable(t, kc.Seeds, topic)
				}
				var losses []loss
				opts := append([]sink.ReaderOpt{sink.ReaderKafkaOpts(kgo.SeedBrokers(kc.Seeds...)),
					sink.AfterListing(func() {
						write(tt.listed)
						if tt.deleteTo > 0 {
							deleteRecords(ctx, t, kc.Seeds, topic, tt.deleteTo)
						}
					})}, tt.opts...)
				if tt.wantErr != sink.ErrDataLoss {
					opts = append(opts, sink.OnDataLoss(func(e *sink.DataLossError) {
						if e.Topic != topic || e.Partition != 0 {
							t.Errorf("data loss on %s/%d, want %s/0", e.Topic, e.Partition, topic)
						}
						losses = append(losses, loss{e.Offset, e.Resume})
					}))
				}
				r, err := sink.NewReader([]string{topic}, opts...)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				err = r.Read(ctx, func(rec *kgo.Record) bool {
					v := string(rec.Value)
					got = append(got, v)
					write(tt.seen[v])
					if v == tt.cancelAt {
						cancel()
					}
					return tt.stopAfter == 0 || len(got) < tt.stopAfter
				})
				if !errors.Is(err, tt.wantErr) || (err != nil && tt.wantErr == nil) {
					t.Fatalf("Read: %v, want %v", err, tt.wantErr)
				}
				var lost *sink.DataLossError
				if errors.As(err, &lost) {
					losses = append(losses, loss{lost.Offset, lost.Resume})
				}
				var unknown *sink.UnknownTopicError
				if errors.Is(tt.wantErr, sink.ErrUnknownTopic) && (!errors.As(err, &unknown) || unknown.Topic != topic) {
					t.Errorf("Read: %v, want an *UnknownTopicError naming %s", err, topic)
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("records %q, want %q", got, tt.want)
				}
				if !slices.Equal(losses, tt.wantLoss) {
					t.Errorf("data losses (offset, resume) %v, want %v", losses, tt.wantLoss)
				}
			})
		}
	})
}

// readerCtx bounds a reader test: 30 s is far more than a read of a few records takes,
// and a reader that misses its end fails with a deadline instead of hanging.
func readerCtx(t *testing.T) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), 30*time.Second)
}

// TestReaderEndBehindAnAbort has two producers interleave: when Read begins, the last
// stable offset (the end) lies between an aborted transaction's only record and its
// marker, so no record just before the end is ever read. The first record past the
// end shows the end was passed, and is not passed on: it was committed after Read
// began.
func TestReaderEndBehindAnAbort(t *testing.T) {
	kafkatest.Clusters(t, func(t *testing.T, kc kafkatest.Cluster) {
		ctx, cancel := readerCtx(t)
		defer cancel()
		topic := kafkatest.Topic(t)
		kafkatest.CreateTopic(t, kc.Seeds, topic, 1, nil)
		p1 := kafkatest.Client(t, kc.Seeds, kgo.TransactionalID(kafkatest.TransactionalID(t)))
		p2 := kafkatest.Client(t, kc.Seeds, kgo.TransactionalID(kafkatest.TransactionalID(t)))
		for _, p := range []*kgo.Client{p1, p2} {
			if err := p.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
		}
		for _, w := range []struct {
			p *kgo.Client
			v string
		}{{p1, "aborted"}, {p2, "late"}} {
			if err := w.p.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(w.v)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if err := p1.EndTransaction(ctx, kgo.TryAbort); err != nil {
			t.Fatal(err)
		}
		waitHighWatermark(ctx, t, kc.Seeds, topic, 3) // aborted@0, late@1, abort marker@2: the end is 1
		r, err := sink.NewReader([]string{topic}, sink.ReaderKafkaOpts(kgo.SeedBrokers(kc.Seeds...)),
			sink.AfterListing(func() {
				if err := p2.EndTransaction(ctx, kgo.TryCommit); err != nil {
					t.Error(err)
				}
			}))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		if err := r.Read(ctx, func(rec *kgo.Record) bool {
			got = append(got, string(rec.Value))
			return true
		}); err != nil {
			t.Fatalf("Read: %v", err)
		}
		if len(got) > 0 {
			t.Errorf("records %q, want none", got)
		}
	})
}

// TestReaderToHighWatermark: a record committed behind another producer's open
// transaction lies past the last stable offset, so the default end misses it; with
// ToHighWatermark, Read waits for that transaction to end and reads it.
func TestReaderToHighWatermark(t *testing.T) {
	kafkatest.Clusters(t, func(t *testing.T, kc kafkatest.Cluster) {
		ctx, cancel := readerCtx(t)
		defer cancel()
		topic := kafkatest.Topic(t)
		kafkatest.CreateTopic(t, kc.Seeds, topic, 1, nil)
		open := kafkatest.Client(t, kc.Seeds, kgo.TransactionalID(kafkatest.TransactionalID(t)))
		late := kafkatest.Client(t, kc.Seeds, kgo.TransactionalID(kafkatest.TransactionalID(t)))
		for _, w := range []struct {
			p *kgo.Client
			v string
		}{{open, "open"}, {late, "committed"}} {
			if err := w.p.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			if err := w.p.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(w.v)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if err := late.EndTransaction(ctx, kgo.TryCommit); err != nil {
			t.Fatal(err)
		}
		waitHighWatermark(ctx, t, kc.Seeds, topic, 3) // open@0, committed@1, its marker@2
		read := func(opts ...sink.ReaderOpt) []string {
			t.Helper()
			r, err := sink.NewReader([]string{topic}, append(opts, sink.ReaderKafkaOpts(kgo.SeedBrokers(kc.Seeds...)))...)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			if err := r.Read(ctx, func(rec *kgo.Record) bool {
				got = append(got, string(rec.Value))
				return true
			}); err != nil {
				t.Fatalf("Read: %v", err)
			}
			return got
		}
		if got := read(); len(got) != 0 {
			t.Errorf("to the last stable offset: %q, want nothing (the open transaction holds it at 0)", got)
		}
		go func() {
			time.Sleep(200 * time.Millisecond) // Read is waiting by then
			if err := open.EndTransaction(ctx, kgo.TryAbort); err != nil {
				t.Error(err)
			}
		}()
		if got := read(sink.ToHighWatermark()); !slices.Equal(got, []string{"committed"}) {
			t.Errorf("to the high watermark: %q, want [committed]", got)
		}
	})
}

// waitHighWatermark waits until topic's partition 0 holds want offsets: a broker writes
// transaction markers just after answering EndTxn.
func waitHighWatermark(ctx context.Context, t *testing.T, seeds []string, topic string, want int64) {
	t.Helper()
	adm := kadm.NewClient(kafkatest.Client(t, seeds))
	for {
		ends, err := adm.ListEndOffsets(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		if o, _ := ends.Lookup(topic, 0); o.Offset >= want {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: high watermark never reached %d", topic, want)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// deleteRecords deletes the records of topic's partition 0 below offset, as retention
// would.
func deleteRecords(ctx context.Context, t *testing.T, seeds []string, topic string, offset int64) {
	t.Helper()
	var os kadm.Offsets
	os.Add(kadm.Offset{Topic: topic, Partition: 0, At: offset})
	resp, err := kadm.NewClient(kafkatest.Client(t, seeds)).DeleteRecords(ctx, os)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatalf("delete records of %s below %d: %v", topic, offset, err)
	}
}

func TestNewReaderRejects(t *testing.T) {
	tests := []struct {
		name   string
		topics []string
		opts   []sink.ReaderOpt
	}{
		{name: "no topic"},
		{name: "a topic Kafka refuses", topics: []string{"a/b"}},
		{name: "from the end without follow", topics: []string{"t"}, opts: []sink.ReaderOpt{sink.FromEnd()}},
		{name: "to the high watermark with follow", topics: []string{"t"}, opts: []sink.ReaderOpt{sink.ToHighWatermark(), sink.Follow()}},
		{name: "negative list timeout", topics: []string{"t"}, opts: []sink.ReaderOpt{sink.ListTimeout(-time.Second)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := sink.NewReader(tt.topics, tt.opts...); err == nil {
				t.Fatal("NewReader accepted it")
			}
		})
	}
}

// TestReaderTruncatedLog has the brokers lose records under a follower, which takes an
// unclean leader election, so it runs on kfake alone, with faults: after a1 and a2 at
// offsets 0 and 1 (the marker at 2), the fetch at 3 fails. The reader reports the loss
// and passes on what it then reads, offsets it passed on before included: on a real
// cluster they now hold other records.
func TestReaderTruncatedLog(t *testing.T) {
	// truncatedAt1 answers the next listing of last stable offsets with 1.
	truncatedAt1 := func(c *kfake.Cluster) {
		c.ControlKey(kmsg.ListOffsets.Int16(), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
			req := kreq.(*kmsg.ListOffsetsRequest)
			if req.IsolationLevel != 1 {
				return nil, nil, false
			}
			resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
			for _, rt := range req.Topics {
				st := kmsg.NewListOffsetsResponseTopic()
				st.Topic = rt.Topic
				for _, rp := range rt.Partitions {
					sp := kmsg.NewListOffsetsResponseTopicPartition()
					sp.Partition, sp.Offset = rp.Partition, 1
					st.Partitions = append(st.Partitions, sp)
				}
				resp.Topics = append(resp.Topics, st)
			}
			return resp, nil, true
		})
	}
	// epochEndsAt1 answers the next question of where a leader epoch ends with 1.
	epochEndsAt1 := func(c *kfake.Cluster) {
		c.ControlKey(kmsg.OffsetForLeaderEpoch.Int16(), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
			req := kreq.(*kmsg.OffsetForLeaderEpochRequest)
			resp := req.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
			for _, rt := range req.Topics {
				st := kmsg.NewOffsetForLeaderEpochResponseTopic()
				st.Topic = rt.Topic
				for _, rp := range rt.Partitions {
					sp := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
					sp.Partition, sp.LeaderEpoch, sp.EndOffset = rp.Partition, rp.LeaderEpoch, 1
					st.Partitions = append(st.Partitions, sp)
				}
				resp.Topics = append(resp.Topics, st)
			}
			return resp, nil, true
		})
	}
	tests := []struct {
		name     string
		fault    *kerr.Error            // the fetch at 3 fails with it
		control  func(c *kfake.Cluster) // installed once a1 is read
		want     []string               // b1 is committed once a2 is read again
		wantErr  error                  // errors.Is, of Read's error or else of the loss
		wantLoss bool                   // one loss, at 3, going on at 1
	}{
		{name: "kgo finds the leader's log ends before where it read", fault: kerr.FencedLeaderEpoch, control: epochEndsAt1,
			want: []string{"a1", "a2", "a2", "b1"}, wantLoss: true},
		{name: "out of range, and the log now ends before where it read", fault: kerr.OffsetOutOfRange, control: truncatedAt1,
			want: []string{"a1", "a2", "a2", "b1"}, wantErr: kerr.OffsetOutOfRange, wantLoss: true},
		{name: "out of range at an offset the broker lists in range", fault: kerr.OffsetOutOfRange,
			want: []string{"a1", "a2"}, wantErr: kerr.OffsetOutOfRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, seeds := fake(t)
			ctx, cancel := readerCtx(t)
			defer cancel()
			topic := kafkatest.Topic(t)
			kafkatest.CreateTopic(t, seeds, topic, 1, nil)
			p := kafkatest.Client(t, seeds, kgo.TransactionalID(kafkatest.TransactionalID(t)))
			commit := func(values ...string) {
				t.Helper()
				if err := p.BeginTransaction(); err != nil {
					t.Fatal(err)
				}
				for _, v := range values {
					if err := p.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(v)}).FirstErr(); err != nil {
						t.Fatal(err)
					}
				}
				if err := p.EndTransaction(ctx, kgo.TryCommit); err != nil {
					t.Fatal(err)
				}
			}
			commit("a1", "a2")
			c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Fetch}, Topic: topic, Err: tt.fault,
				When: func(kreq kmsg.Request) bool {
					for _, rt := range kreq.(*kmsg.FetchRequest).Topics {
						for _, rp := range rt.Partitions {
							if rp.FetchOffset == 3 {
								return true
							}
						}
					}
					return false
				}})
			var losses []*sink.DataLossError
			r, err := sink.NewReader([]string{topic}, sink.ReaderKafkaOpts(kgo.SeedBrokers(seeds...)), sink.Follow(),
				sink.OnDataLoss(func(e *sink.DataLossError) { losses = append(losses, e) }))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			err = r.Read(ctx, func(rec *kgo.Record) bool {
				v := string(rec.Value)
				got = append(got, v)
				switch {
				case v == "a1" && tt.control != nil:
					tt.control(c)
				case v == "a2" && slices.Index(got, "a2") < len(got)-1:
					commit("b1") // once a2 was read again: the follower goes on
				}
				return v != "b1"
			})
			if tt.wantLoss {
				if err != nil {
					t.Fatalf("Read: %v", err)
				}
				if len(losses) != 1 || losses[0].Offset != 3 || losses[0].Resume != 1 {
					t.Fatalf("data losses %v, want one at offset 3 going on at 1", losses)
				}
				err = losses[0]
			} else if len(losses) > 0 {
				t.Errorf("data losses %v, want none", losses)
			}
			var kgoLoss *kgo.ErrDataLoss
			ok := errors.As(err, &kgoLoss)
			if tt.wantErr != nil {
				ok = errors.Is(err, tt.wantErr)
			}
			if !ok {
				t.Errorf("error %v, want %v", err, cmp.Or[any](tt.wantErr, "a *kgo.ErrDataLoss"))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("records %q, want %q", got, tt.want)
			}
		})
	}
}
