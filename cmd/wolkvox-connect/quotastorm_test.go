package main

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/offsets"
	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/simulator"
)

// TestRestartStormKeepsTheQuota kills one worker 30 times in a row during a catch-up on
// a token of 30 calls a day: a year of diagram_13 at two rows a minute, twelve 31-day
// windows of 89,000 rows, each capped and bisected, so the catch-up needs about 36
// calls and a killed process reads its window again. It runs late in the quota day
// (from 21:00), where the pace line allows the whole budget, so only the count stops
// the calls. Each process resumes the day's count from the offsets topic instead of
// starting at zero, so the simulator never counts more calls than the quota and never
// refuses one for quota (it would, had any process called while the stored count said
// the day was spent). Without the stored count, every process spends afresh: the
// simulator refuses calls by the third or fourth.
func TestRestartStormKeepsTheQuota(t *testing.T) {
	seeds := kafkatest.Real(t)
	const quota = 30
	e := newE2E(t, seeds, e2eOptions{speed: 60, quota: quota, interval: "1h", reports: "      - {api: diagram_13}",
		start: time.Date(2025, 11, 21, 0, 0, 0, 0, bogotaLoc()), now: time.Date(2026, 11, 20, 21, 0, 0, 0, bogotaLoc()), simOpts: []simulator.Opt{
			simulator.Reports("diagram_13"), simulator.DefaultRowsPerMinute(2), simulator.DailyQuota(quota),
			simulator.WithFaults(simulator.Faults{Status503: 0.05}), // retries cost calls too
		}})
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	const kills = 30
	for range kills {
		e.launch()
		time.Sleep(time.Duration(400+rng.IntN(1200)) * time.Millisecond)
		e.kill()
	}
	e.launch()
	time.Sleep(5 * time.Second)
	e.stop()

	st := e.sim.Stats().Tokens[simulator.DefaultToken]
	t.Logf("simulator: %d calls, %d of %d counted today, %d refused for quota; %d processes", st.Calls, st.QuotaUsed, st.QuotaLimit, st.RefusedQuota, e.procN)
	if st.QuotaUsed > quota || st.RefusedQuota > 0 {
		t.Errorf("the token was overspent: %d calls counted of %d, %d refused for quota", st.QuotaUsed, quota, st.RefusedQuota)
	}
	if st.Calls < quota/2 {
		t.Errorf("only %d calls in %d runs: the storm did not exercise the quota", st.Calls, e.procN)
	}
	if strings.Contains(e.logs.String(), "TOKEN LIMIT") {
		t.Errorf("a worker was told the token's limit was exceeded")
	}
	// The stored count is at least every call made.
	ledger, err := offsets.NewStore(e.name+".offsets", offsets.Seeds(seeds...))
	if err != nil {
		t.Fatal(err)
	}
	l, err := offsets.NewLedger(ledger, offsets.TokenHash(simulator.DefaultToken), source.QuotaTransactionalID(source.DefaultTxnIDPrefix, offsets.TokenHash(simulator.DefaultToken)))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	u, err := l.Claim(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if u.Reserved < st.Calls {
		t.Errorf("stored count %d is below the %d calls the simulator counted", u.Reserved, st.Calls)
	}
}
