package source_test

import (
	"context"
	"testing"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/connectortest"
	"github.com/wolkvox-connect/wolkvox-connect/source/simulator"
	"github.com/wolkvox-connect/wolkvox-connect/source/wolkvox"
)

// TestQuotaRunsOutMidDay gives the token fewer calls than a day needs: the connector
// spends them, parks without calling while the quota is spent (the simulator counts
// every refused call), resumes at the reset and, in the end, has delivered everything.
func TestQuotaRunsOutMidDay(t *testing.T) {
	kafkatest.Clusters(t, func(t *testing.T, kc kafkatest.Cluster) {
		// The quota day resets at midnight, Bogota time; the run starts at 21:00.
		start := time.Date(2026, 11, 20, 20, 0, 0, 0, bogota)
		// Virtual time passes only while the connector waits: on a FastClock a loaded
		// machine made it fall hours behind, spend fewer than 45 calls before midnight and
		// never run out of quota.
		clock := connectortest.NewWaitClock(start.Add(time.Hour), 900)
		const quota = 45
		sim := connectortest.StartSimulator(t, simulator.Seed(3), simulator.WithClock(clock.Sim()), simulator.Location(bogota),
			simulator.Reports("diagram_13", "act_3", "chat_3"), simulator.DefaultRowsPerMinute(2),
			simulator.DailyQuota(quota), simulator.QuotaResetHour(0))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()

		prefix := kafkatest.Topic(t)
		cfg := source.Config{Name: prefix, Server: simulator.DefaultServer, Token: source.NewSecret(simulator.DefaultToken),
			Location: bogota, DailyQuota: quota, BaseURL: sim.URL()}
		for _, r := range []source.ReportConfig{{API: "diagram_13"}, {API: "act_3", Params: map[string]string{"cod_act": "cod_act1"}}, {API: "chat_3", Settle: 20 * time.Minute}} {
			r.Start, r.Lookback = start, 90*time.Minute
			cfg.Reports = append(cfg.Reports, r)
		}
		c, err := source.New(cfg, source.WriteTo(testDestination(kc.Seeds, prefix)), source.WithClock(clock),

			source.SourceOpts(wolkvox.Backoff(10*time.Millisecond, 100*time.Millisecond, time.Minute)),
			source.Logger(testLogger(t)))
		if err != nil {
			t.Fatal(err)
		}
		runErr := make(chan error, 1)
		go func() { runErr <- c.Run(ctx) }()

		// Wait for the quota to run out before midnight, and check the connector says so.
		// The deadline only bounds a hang: what ends the wait is the virtual midnight.
		sawExhausted := false
		for deadline := time.Now().Add(5 * time.Minute); !sawExhausted; time.Sleep(20 * time.Millisecond) {
			st := c.Status()
			day := clock.Now().Day()
			sawExhausted = st.State == source.StateQuotaExhausted && day == 20 // before the reset at midnight
			if st.QuotaUsed > quota {
				t.Fatalf("the connector counts %d calls against a budget of %d", st.QuotaUsed, quota)
			}
			if !sawExhausted && (day != 20 || time.Now().After(deadline)) {
				t.Fatalf("the connector never reported QUOTA_EXHAUSTED before the reset: %+v", st)
			}
		}
		// After the reset (midnight) it must go on: run to 00:45 on the next day. The clock
		// only moves while the connector waits, so a connector that stopped would stop it.
		for deadline := time.Now().Add(5 * time.Minute); clock.Now().Before(time.Date(2026, 11, 21, 0, 45, 0, 0, bogota)); time.Sleep(50 * time.Millisecond) {
			select {
			case err := <-runErr:
				t.Fatalf("Run ended early: %v", err)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("the clock did not reach 00:45: %+v", c.Status())
			}
		}
		frozen := clock.Sim().Freeze()
		drainUntil(t, c, frozen.Add(5*time.Minute), runErr)
		cancel()
		if err := <-runErr; err != nil {
			t.Fatalf("Run: %v", err)
		}
		stats := sim.Stats().Tokens[simulator.DefaultToken]
		if stats.RefusedQuota != 0 {
			t.Errorf("the connector made %d calls while the quota was spent, want none", stats.RefusedQuota)
		}
		// While parked, intermediate versions come and go unseen: what must hold is that
		// every row's latest version arrived, once, and nothing else.
		compareWithTruth(t, kc.Seeds, c, sim, cfg, start, clock.Start(), frozen, 48*time.Hour)
	})
}
