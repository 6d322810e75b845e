package source_test

import (
	"context"
	"log/slog"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/connectortest"
	"github.com/wolkvox-connect/wolkvox-connect/source/simulator"
	"github.com/wolkvox-connect/wolkvox-connect/source/wolkvox"
)

var bogota = func() *time.Location {
	loc, err := time.LoadLocation("America/Bogota")
	if err != nil {
		return time.FixedZone("America/Bogota", -5*3600)
	}
	return loc
}()

// seedReports are the user's five reports: three detail reports (one keyed by three
// fields), two range aggregates.
var seedReports = []source.ReportConfig{
	{API: "diagram_13"}, {API: "act_3", Params: map[string]string{"cod_act": "cod_act1"}},
	{API: "diagram_4"}, {API: "diagram_1_3"}, {API: "chat_3"},
}

func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("WOLKVOX_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// TestDeliversGroundTruth runs a connector against the simulator — late rows, edited
// rows, injected upstream failures, a burst that overflows the row cap — on a fast
// virtual clock, then freezes the simulator, lets the connector drain, and compares
// every topic with the ground truth, on kfake and on the real broker.
func TestDeliversGroundTruth(t *testing.T) {
	kafkatest.Clusters(t, func(t *testing.T, kc kafkatest.Cluster) {
		start := time.Date(2026, 11, 20, 6, 0, 0, 0, bogota)
		clock := &connectortest.Freezable{FastClock: source.FastClock{Origin: time.Now(), Start: start.Add(2 * time.Hour), Speed: 300}}
		sim := connectortest.StartSimulator(t, simulator.Seed(7), simulator.WithClock(clock), simulator.Location(bogota),
			simulator.Reports("diagram_13", "act_3", "diagram_4", "diagram_1_3", "chat_3"),
			simulator.DefaultRowsPerMinute(3), simulator.LateRows(0.2, 10*time.Minute), simulator.Edits(0.1, 15*time.Minute),
			simulator.DailyQuota(100000), simulator.MaxRows(400),
			simulator.Bursts(simulator.Burst{Report: "diagram_13", Minute: start.Add(70 * time.Minute), Rows: 900}),
			simulator.WithFaults(simulator.Faults{Status500: 0.05, HTML200: 0.02, Truncate: 0.02}),
		)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()

		prefix := kafkatest.Topic(t)
		cfg := source.Config{
			Name: prefix, Server: simulator.DefaultServer, Token: source.NewSecret(simulator.DefaultToken), Location: bogota,
			DailyQuota: 100000, BaseURL: sim.URL(),
		}
		for _, r := range seedReports {
			r.Start, r.Lookback, r.Settle = start, 90*time.Minute, 2*time.Minute
			cfg.Reports = append(cfg.Reports, r)
		}
		// Aggregates are read once per closed bucket: their settle must outlast the
		// upstream's lateness, or a bucket is read before its late rows arrive.
		for i := range cfg.Reports {
			if rep, _ := catalog.Lookup(cfg.Reports[i].API); rep.Kind == catalog.RangeAggregate {
				cfg.Reports[i].Settle = 12 * time.Minute
			}
		}
		c, err := source.New(cfg, source.WriteTo(testDestination(kc.Seeds, prefix)), source.WithClock(clock.FastClock),

			source.SourceOpts(wolkvox.RowCap(400)),
			// Client retries wait in real time; on a 300× clock a real second is five
			// virtual minutes, so keep them short.
			source.SourceOpts(wolkvox.Backoff(10*time.Millisecond, 100*time.Millisecond, time.Minute)), source.MaxBackoff(time.Minute), source.Logger(testLogger(t)))
		if err != nil {
			t.Fatal(err)
		}
		runErr := make(chan error, 1)
		go func() { runErr <- c.Run(ctx) }()

		time.Sleep(8 * time.Second) // 40 minutes of virtual traffic on top of the catch-up
		frozen := clock.Freeze()
		drainUntil(t, c, frozen.Add(15*time.Minute), runErr)
		cancel()
		if err := <-runErr; err != nil {
			t.Fatalf("Run: %v", err)
		}

		st := c.Status()
		var splits int64
		for _, r := range st.Reports {
			splits += r.Splits
		}
		if splits == 0 {
			t.Errorf("no window was bisected: the row cap was never exercised")
		}
		compareWithTruth(t, kc.Seeds, c, sim, cfg, start, clock.Start, frozen, 0)
	})
}

// drainUntil waits until every report's cursor has passed until, or, for range
// aggregates, the start of the last bucket compareWithTruth checks.
func drainUntil(t *testing.T, c *source.Connector, until time.Time, runErr chan error) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	cfgs := map[string]source.ReportConfig{}
	for _, r := range c.Config().Reports {
		cfgs[r.Key()] = r
	}
	for time.Now().Before(deadline) {
		select {
		case err := <-runErr:
			t.Fatalf("Run ended early: %v", err)
		default:
		}
		done := true
		for _, r := range c.Status().Reports {
			target := until
			if rep, _ := catalog.Lookup(r.Report); rep.Kind == catalog.RangeAggregate {
				rc := cfgs[r.Key]
				target = until.Add(-rc.Settle).Truncate(rc.Bucket)
			}
			if r.Cursor.Before(target) {
				done = false
			}
		}
		if done {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("connector did not drain to %s: %+v", until, c.Status())
}

// compareWithTruth checks every topic against the ground truth from..frozen; an
// intermediate version is required if it became visible after polledFrom and lived
// minLife (zero: three intervals plus settle delays).
func compareWithTruth(t *testing.T, seeds []string, c *source.Connector, sim *simulator.Server, cfg source.Config, from, polledFrom, frozen time.Time, minLife time.Duration) {
	t.Helper()
	topics := c.Topics()
	var names []string
	for _, tp := range topics {
		names = append(names, tp)
	}
	delivered := connectortest.ReadAll(t, seeds, names...)
	for _, r := range c.Config().Reports {
		rep, _ := catalog.Lookup(r.API)
		params := url.Values{}
		for k, v := range r.Params {
			params.Set(k, v)
		}
		// Truth ranges end exclusively; a row stamped the very second the simulator froze
		// is visible, so the range runs one second past it.
		to := frozen.Add(time.Second)
		if rep.Kind == catalog.RangeAggregate {
			to = frozen.Add(-r.Settle).Truncate(r.Bucket) // buckets the connector could read
		}
		truth, err := sim.Truth(simulator.TruthQuery{Report: r.API, Params: params, From: from, To: to, AsOf: frozen, Bucket: r.Bucket})
		if err != nil {
			t.Fatal(err)
		}
		life := minLife
		if life == 0 {
			// Three polls' worth: a slow machine (-race on 2 cores) may fall a poll behind.
			life = 3 * (r.Interval + r.Settle)
		}
		exp := connectortest.Expect(rep, truth, r.Bucket, cfg.Location, polledFrom, life)
		events := delivered[topics[r.Key()]]
		if rep.Kind == catalog.RangeAggregate {
			events = connectortest.BucketsBefore(events, to)
		}
		diffs := connectortest.Compare(events, exp)
		t.Log(connectortest.Summary(r.Key(), events, exp, diffs))
		if len(diffs) > 0 {
			t.Errorf("%s does not match the ground truth", r.Key())
		}
		if len(events) == 0 {
			t.Errorf("%s delivered nothing", r.Key())
		}
	}
}
