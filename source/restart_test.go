package source_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wolkvox-connect/wolkvox-connect/offsets"
	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/connectortest"
	"github.com/wolkvox-connect/wolkvox-connect/source/simulator"
	"github.com/wolkvox-connect/wolkvox-connect/source/wolkvox"
)

// TestRestartPastAnotherConnectorsOpenTransaction: the connectors of a worker or a group
// commit their positions to one offsets partition, and another connector's transaction
// can be open there (a crashed worker's stays open until that connector starts again).
// A connector that committed windows above it and then restarts must resume from its
// last commit: one that loaded its positions only up to the last stable offset resumed
// from an older one and delivered those windows' rows twice (the cluster kill test's
// one failure in CI). The restarted connector waits for the other transaction to end
// instead, and its topic holds each row once.
func TestRestartPastAnotherConnectorsOpenTransaction(t *testing.T) {
	kafkatest.Clusters(t, func(t *testing.T, kc kafkatest.Cluster) {
		start := time.Date(2026, 11, 20, 6, 0, 0, 0, bogota)
		clock := &connectortest.Freezable{FastClock: source.FastClock{Origin: time.Now(), Start: start.Add(time.Hour), Speed: 300}}
		sim := connectortest.StartSimulator(t, simulator.Seed(11), simulator.WithClock(clock), simulator.Location(bogota),
			simulator.Reports("diagram_13"), simulator.DefaultRowsPerMinute(3), simulator.DailyQuota(100000))
		prefix := kafkatest.Topic(t)
		dest := testDestination(kc.Seeds, prefix)
		cfg := source.Config{Name: "a", Server: simulator.DefaultServer, Token: source.NewSecret(simulator.DefaultToken),
			Location: bogota, DailyQuota: 100000, BaseURL: sim.URL(),
			Reports: []source.ReportConfig{{API: "diagram_13", Start: start, Lookback: 30 * time.Minute, Settle: 2 * time.Minute}}}
		instance := func() (*source.Connector, context.CancelFunc, chan error) {
			t.Helper()
			c, err := source.New(cfg, source.WriteTo(dest), source.WithClock(clock.FastClock),
				source.SourceOpts(wolkvox.Backoff(10*time.Millisecond, 100*time.Millisecond, time.Minute)), source.Logger(testLogger(t)))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			ran := make(chan error, 1)
			go func() { ran <- c.Run(ctx) }()
			return c, cancel, ran
		}
		stop := func(cancel context.CancelFunc, ran chan error) {
			t.Helper()
			cancel()
			if err := <-ran; err != nil {
				t.Fatalf("Run: %v", err)
			}
		}
		windows := func(c *source.Connector, n int64, ran chan error) {
			t.Helper()
			deadline := time.Now().Add(60 * time.Second)
			for c.Status().Reports[0].Windows < n {
				select {
				case err := <-ran:
					t.Fatalf("Run ended early: %v", err)
				case <-time.After(50 * time.Millisecond):
				}
				if time.Now().After(deadline) {
					t.Fatalf("fewer than %d windows committed: %+v", n, c.Status())
				}
			}
		}

		first, cancel, ran := instance()
		windows(first, 1, ran) // it has loaded its positions and runs

		// Connector b, which shares the offsets topic, begins a transaction and stops
		// answering: its position record sits open below what a commits next.
		b := kafkatest.Client(t, kc.Seeds, kgo.TransactionalID(source.TransactionalID(dest.TransactionalIDPrefix, "b")),
			kgo.TransactionTimeout(time.Minute))
		ctx := context.Background()
		if err := b.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		rec, err := offsets.Record(dest.OffsetsTopic, offsets.Key{Connector: "b", Server: simulator.DefaultServer, Report: "diagram_13"},
			&offsets.Position{WindowEnd: start})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.ProduceSync(ctx, rec).FirstErr(); err != nil {
			t.Fatal(err)
		}
		windows(first, first.Status().Reports[0].Windows+2, ran) // committed above b's open record
		stop(cancel, ran)

		again, cancel, ran := instance()
		time.Sleep(time.Second) // it waits in its start for b's transaction, and says so
		if r := again.Status().Reports[0]; r.Activity != "loading offsets" || r.ActivitySince.IsZero() {
			t.Errorf("while b's transaction is open: activity %q since %v, want loading offsets", r.Activity, r.ActivitySince)
		}
		// A few seconds on, it names whose transaction it waits for.
		bID := source.TransactionalID(dest.TransactionalIDPrefix, "b")
		for deadline := time.Now().Add(30 * time.Second); !strings.Contains(again.Status().Reports[0].WaitingFor, bID); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the status never named %s: %+v", bID, again.Status().Reports[0])
			}
		}
		if err := b.EndTransaction(ctx, kgo.TryAbort); err != nil {
			t.Fatal(err)
		}
		windows(again, 2, ran)
		if w := again.Status().Reports[0].WaitingFor; w != "" {
			t.Errorf("once loaded, the status still waits for %q", w)
		}
		frozen := clock.Freeze()
		drainUntil(t, again, frozen.Add(5*time.Minute), ran)
		stop(cancel, ran)
		compareWithTruth(t, kc.Seeds, again, sim, cfg, start, clock.Start, frozen, 0)
	})
}

// TestStartEndsACrashedReservation: a worker killed while it reserved calls in the
// token's ledger leaves that transaction open on the offsets topic. The next start
// claims the ledger before it loads its positions, which fences the dead reservation at
// once; loading first waited for the reservation's timeout (here five minutes), since
// a load reads the offsets topic to its high watermark.
func TestStartEndsACrashedReservation(t *testing.T) {
	kafkatest.Clusters(t, func(t *testing.T, kc kafkatest.Cluster) {
		start := time.Date(2026, 11, 20, 6, 0, 0, 0, bogota)
		clock := source.FastClock{Origin: time.Now(), Start: start.Add(time.Hour), Speed: 300}
		sim := connectortest.StartSimulator(t, simulator.Seed(12), simulator.WithClock(clock), simulator.Location(bogota),
			simulator.Reports("diagram_13"), simulator.DefaultRowsPerMinute(3), simulator.DailyQuota(100000))
		prefix := kafkatest.Topic(t)
		dest := testDestination(kc.Seeds, prefix)
		ctx := context.Background()
		if err := offsets.EnsureTopic(ctx, kadm.NewClient(kafkatest.Client(t, kc.Seeds)), dest.OffsetsTopic, 1, -1); err != nil {
			t.Fatal(err)
		}
		hash := offsets.TokenHash(simulator.DefaultToken)
		dead := kafkatest.Client(t, kc.Seeds, kgo.TransactionalID(source.QuotaTransactionalID(dest.TransactionalIDPrefix, hash)),
			kgo.TransactionTimeout(5*time.Minute))
		if err := dead.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		usage, err := offsets.QuotaUsage{Period: start, Reserved: 20}.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if err := dead.ProduceSync(ctx, &kgo.Record{Topic: dest.OffsetsTopic, Key: offsets.QuotaKey(hash), Value: usage}).FirstErr(); err != nil {
			t.Fatal(err)
		}

		cfg := source.Config{Name: "a", Server: simulator.DefaultServer, Token: source.NewSecret(simulator.DefaultToken),
			Location: bogota, DailyQuota: 100000, BaseURL: sim.URL(),
			Reports: []source.ReportConfig{{API: "diagram_13", Start: start, Lookback: 30 * time.Minute, Settle: 2 * time.Minute}}}
		c, err := source.New(cfg, source.WriteTo(dest), source.WithClock(clock), source.Logger(testLogger(t)))
		if err != nil {
			t.Fatal(err)
		}
		runCtx, cancel := context.WithCancel(ctx)
		ran := make(chan error, 1)
		go func() { ran <- c.Run(runCtx) }()
		defer func() {
			cancel()
			if err := <-ran; err != nil {
				t.Errorf("Run: %v", err)
			}
		}()
		for deadline := time.Now().Add(60 * time.Second); c.Status().Reports[0].Windows < 1; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no window committed in 60 s beside the crashed reservation: %+v", c.Status().Reports[0])
			}
		}
		if err := dead.EndTransaction(ctx, kgo.TryCommit); err == nil {
			t.Error("the crashed reservation could still commit after the connector started")
		}
	})
}
