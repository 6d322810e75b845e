package offsets

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/wolkvox-connect/wolkvox-connect/sink"
	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
)

func TestQuotaKeyAndHash(t *testing.T) {
	const token = "a-wolkvox-token-0123456789"
	h := TokenHash(token)
	if len(h) != 32 || strings.Contains(h, token) || h != TokenHash(token) || h == TokenHash(token+"x") {
		t.Fatalf("TokenHash = %q: want 32 stable hex digits that differ per token", h)
	}
	if _, err := DecodeKey(QuotaKey(h)); !errors.Is(err, ErrMalformedKey) {
		t.Errorf("DecodeKey(QuotaKey) err = %v: a quota key must not read as a report's key", err)
	}
}

func TestQuotaUsageRoundTrip(t *testing.T) {
	loc := time.FixedZone("Bogota", -5*3600)
	u := QuotaUsage{Period: time.Date(2026, 12, 2, 0, 0, 0, 0, loc), Reserved: 120}
	b, err := u.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"v":1,"period":"2026-12-02T00:00:00-05:00","reserved":120}`; string(b) != want {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
	var got QuotaUsage
	if err := got.Unmarshal(b); err != nil || !got.Period.Equal(u.Period) || got.Reserved != 120 {
		t.Errorf("Unmarshal = %+v, %v; want %+v", got, err, u)
	}
	for _, bad := range []struct {
		in   string
		want error
	}{
		{`{"v":2,"period":"2026-12-02T00:00:00Z","reserved":1}`, ErrUnsupportedVersion},
		{`{"v":1,"period":"yesterday","reserved":1}`, ErrMalformedPosition},
		{`{"v":1,"period":"2026-12-02T00:00:00Z","reserved":-1}`, ErrMalformedPosition},
		{`[1]`, ErrMalformedPosition},
		{``, ErrMalformedPosition},
	} {
		if err := new(QuotaUsage).Unmarshal([]byte(bad.in)); !errors.Is(err, bad.want) {
			t.Errorf("Unmarshal(%s) err = %v, want %v", bad.in, err, bad.want)
		}
	}
	if _, err := (QuotaUsage{Reserved: -1}).Marshal(); err == nil {
		t.Error("Marshal accepted a negative count")
	}
}

func FuzzQuotaUsageUnmarshal(f *testing.F) {
	f.Add([]byte(`{"v":1,"period":"2026-12-02T00:00:00-05:00","reserved":120}`))
	f.Add([]byte(`{"v":1,"period":"2026-12-02T00:00:00Z","reserved":9223372036854775807}`))
	f.Add([]byte(`{"v":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var u QuotaUsage
		if err := u.Unmarshal(b); err != nil {
			return
		}
		again, err := u.Marshal()
		if err != nil {
			t.Fatalf("Marshal of what Unmarshal read (%+v): %v", u, err)
		}
		var v QuotaUsage
		if err := v.Unmarshal(again); err != nil || !v.Period.Equal(u.Period) || v.Reserved != u.Reserved {
			t.Fatalf("round trip of %q: %+v, %v; want %+v", again, v, err, u)
		}
	})
}

// TestLedger: a claim reads the latest count and fences the previous claimant, whose
// next reservation fails with sink.ErrFenced; counts of other tokens and the positions
// in the same topic are left alone, and Load and List pass the quota records by.
func TestLedger(t *testing.T) {
	kafkatest.Clusters(t, func(t *testing.T, c kafkatest.Cluster) {
		t.Parallel()
		ctx, topic, store := newStore(t, c.Seeds)
		key := Key{Connector: "ops", Server: "0040", Report: "act_3"}
		if err := store.Set(ctx, key, Position{WindowEnd: time.Unix(1_800_000_000, 0)}); err != nil {
			t.Fatal(err)
		}
		txn := kafkatest.TransactionalID(t)
		ledger := func(token string) *Ledger {
			l, err := NewLedger(store, TokenHash(token), txn+"/"+TokenHash(token))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(l.Close)
			return l
		}
		day := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)

		a := ledger("token-1")
		if err := a.Reserve(ctx, QuotaUsage{Period: day, Reserved: 1}); !errors.Is(err, sink.ErrFenced) {
			t.Errorf("Reserve before Claim: err %v, want sink.ErrFenced", err)
		}
		if u, err := a.Claim(ctx); err != nil || u != (QuotaUsage{}) {
			t.Fatalf("first Claim = %+v, %v; want nothing stored", u, err)
		}
		for _, n := range []int64{10, 20} {
			if err := a.Reserve(ctx, QuotaUsage{Period: day, Reserved: n}); err != nil {
				t.Fatalf("Reserve %d: %v", n, err)
			}
		}
		other := ledger("token-2")
		if _, err := other.Claim(ctx); err != nil {
			t.Fatal(err)
		}
		if err := other.Reserve(ctx, QuotaUsage{Period: day, Reserved: 500}); err != nil {
			t.Fatal(err)
		}

		b := ledger("token-1") // a restart, or another worker
		u, err := b.Claim(ctx)
		if err != nil || !u.Period.Equal(day) || u.Reserved != 20 {
			t.Fatalf("Claim after a's reservations = %+v, %v; want 20 calls of %s", u, err, day)
		}
		if err := a.Reserve(ctx, QuotaUsage{Period: day, Reserved: 30}); !errors.Is(err, sink.ErrFenced) {
			t.Errorf("the fenced ledger's Reserve: err %v, want sink.ErrFenced", err)
		}
		if err := b.Reserve(ctx, QuotaUsage{Period: day, Reserved: 30}); err != nil {
			t.Fatal(err)
		}
		if u, err := a.Claim(ctx); err != nil || u.Reserved != 30 {
			t.Errorf("a claiming back = %+v, %v; want b's 30", u, err)
		}

		positions, err := store.Load(ctx, "ops")
		if err != nil || len(positions) != 1 {
			t.Errorf("Load beside quota records = %v, %v; want the one position", positions, err)
		}
		entries, err := store.List(ctx)
		if err != nil || len(entries) != 1 || entries[0].Key.Report != "act_3" {
			t.Errorf("List beside quota records = %+v, %v; want the one position", entries, err)
		}
		quota := 0
		if err := sink.ReadCommitted(ctx, []kgo.Opt{kgo.SeedBrokers(c.Seeds...)}, []string{topic}, func(r *kgo.Record) bool {
			if bytes.HasPrefix(r.Key, []byte(`{"quota":`)) {
				quota++
			}
			return true
		}); err != nil {
			t.Fatal(err)
		}
		if quota != 4 {
			t.Errorf("%d quota records in the topic, want 4 (10, 20, 500, 30)", quota)
		}
	})
}

// TestLedgerAfterAFailedReservation: a reservation whose commit fails leaves no client
// stuck in a transaction: the next one asks for a claim, and after it goes on.
func TestLedgerAfterAFailedReservation(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := testCtx(t)
	topic := kafkatest.Topic(t, "offsets")
	if err := EnsureTopic(ctx, admin(t, c.ListenAddrs()), topic, 1, -1); err != nil {
		t.Fatal(err)
	}
	store, err := NewStore(topic, Seeds(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLedger(store, TokenHash("t"), kafkatest.TransactionalID(t))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	day := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	if _, err := l.Claim(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.Reserve(ctx, QuotaUsage{Period: day, Reserved: 10}); err != nil {
		t.Fatal(err)
	}
	c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.EndTxn}, Err: kerr.TransactionAbortable, Count: 1})
	if err := l.Reserve(ctx, QuotaUsage{Period: day, Reserved: 20}); err == nil {
		t.Fatal("a reservation whose commit failed succeeded")
	}
	if err := l.Reserve(ctx, QuotaUsage{Period: day, Reserved: 20}); !errors.Is(err, sink.ErrFenced) {
		t.Fatalf("after a failed reservation: err %v, want a claim asked for (sink.ErrFenced)", err)
	}
	u, err := l.Claim(ctx)
	if err != nil || u.Reserved != 10 {
		t.Fatalf("claim after the failure = %+v, %v; want the 10 committed", u, err)
	}
	if err := l.Reserve(ctx, QuotaUsage{Period: day, Reserved: 20}); err != nil {
		t.Fatalf("reservation after the claim: %v", err)
	}
}
