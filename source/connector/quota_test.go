package connector_test

import (
	"context"
	"testing"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/connector"
	"github.com/wolkvox-connect/wolkvox-connect/source/connector/connectortest"
	"github.com/wolkvox-connect/wolkvox-connect/source/simulator"
)

// TestQuotaRunsOutMidDay gives the token fewer calls than a day needs: the connector
// spends them, parks without calling while the quota is spent (the simulator counts
// every refused call), resumes at the reset and, in the end, has delivered everything.
func TestQuotaRunsOutMidDay(t *testing.T) {
	kafkatest.Clusters(t, func(t *testing.T, kc kafkatest.Cluster) {
		// The quota day resets at midnight, Bogota time; the run starts at 21:00.
		start := time.Date(2026, 11, 20, 20, 0, 0, 0, bogota)
		clock := &connectortest.Freezable{FastClock: connector.FastClock{Origin: time.Now(), Start: start.Add(time.Hour), Speed: 900}}
		const quota = 45
		sim, err := simulator.New(simulator.Seed(3), simulator.WithClock(clock), simulator.Location(bogota),
			simulator.Reports("diagram_13", "act_3", "chat_3"), simulator.DefaultRowsPerMinute(2),
			simulator.DailyQuota(quota), simulator.QuotaResetHour(0))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if err := sim.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer sim.Close()

		prefix := kafkatest.Topic(t)
		cfg := connector.Config{Name: prefix, Server: simulator.DefaultServer, Token: simulator.DefaultToken,
			Location: bogota, DailyQuota: quota, BaseURL: sim.URL()}
		for _, r := range []connector.ReportConfig{{API: "diagram_13"}, {API: "act_3", Params: map[string]string{"cod_act": "cod_act1"}}, {API: "chat_3", Settle: 20 * time.Minute}} {
			r.Start, r.Lookback = start, 90*time.Minute
			cfg.Reports = append(cfg.Reports, r)
		}
		c, err := connector.New(cfg, connector.Kafka(kc.Seeds), connector.WithClock(clock.FastClock),
			connector.TopicTemplate(prefix+".{report}"), connector.OffsetsTopic(prefix+".offsets"),
			connector.DeadLetterTopic(prefix+".dlq"), connector.TransactionalIDPrefix(prefix+"-"),
			connector.SourceOpts(source.Backoff(10*time.Millisecond, 100*time.Millisecond, time.Minute)),
			connector.Logger(testLogger(t)))
		if err != nil {
			t.Fatal(err)
		}
		runErr := make(chan error, 1)
		go func() { runErr <- c.Run(ctx) }()

		// Wait for the quota to run out before midnight, and check the connector says so.
		sawExhausted := false
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && !sawExhausted; time.Sleep(20 * time.Millisecond) {
			st := c.Status()
			sawExhausted = st.State == connector.StateQuotaExhausted && clock.Now().Day() == 20 // before the reset at midnight
			if st.QuotaUsed > quota {
				t.Fatalf("the connector counts %d calls against a budget of %d", st.QuotaUsed, quota)
			}
		}
		if !sawExhausted {
			t.Fatalf("the connector never reported QUOTA_EXHAUSTED before the reset: %+v", c.Status())
		}
		// After the reset (midnight) it must go on: run to 01:00 on the next day.
		for clock.Now().Before(time.Date(2026, 11, 21, 0, 45, 0, 0, bogota)) {
			time.Sleep(50 * time.Millisecond)
		}
		frozen := clock.Freeze()
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
		compareWithTruth(t, kc.Seeds, c, sim, cfg, start, clock.Start, frozen, 48*time.Hour)
	})
}
