package main

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
	"github.com/wolkvox-connect/wolkvox-connect/source/catalog"
	"github.com/wolkvox-connect/wolkvox-connect/source/connector/connectortest"
	"github.com/wolkvox-connect/wolkvox-connect/source/simulator"
)

// TestBackfill re-reads a past range twice, the second time a larger one overlapping the
// first: the topic ends up with every row of the larger range exactly once, and the
// live offsets are never touched.
func TestBackfill(t *testing.T) {
	seeds := kafkatest.Fake(t)
	sim, err := simulator.New(simulator.Seed(5), simulator.Location(bogotaLoc()), simulator.Reports("diagram_13"), simulator.DefaultRowsPerMinute(2))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := sim.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	name := kafkatest.Topic(t)
	cfg := fmt.Sprintf(`kafka: {brokers: [%s]}
topics: {template: "%s.{report}", offsets: %s.offsets, dead_letter: %s.dlq}
connectors:
  - name: %s
    server: %q
    token: %s
    daily_quota: 1000
    base_url: %s
    reports: [{api: diagram_13}]
`, strings.Join(seeds, ","), name, name, name, name, simulator.DefaultServer, simulator.DefaultToken, sim.URL())
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	day := time.Now().In(bogotaLoc()).AddDate(0, 0, -2)
	from := time.Date(day.Year(), day.Month(), day.Day(), 6, 0, 0, 0, bogotaLoc())
	backfill := func(to time.Time) string {
		var stdout, stderr bytes.Buffer
		env := &environment{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
		code := runMain(context.Background(), env, []string{"backfill", "--config", path, "--report", "diagram_13",
			"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339)})
		if code != 0 {
			t.Fatalf("backfill exited %d: %s", code, stderr.String())
		}
		if !strings.Contains(stderr.String(), "100%") {
			t.Errorf("no finished progress bar in:\n%s", stderr.String())
		}
		return stdout.String()
	}
	first := backfill(from.Add(4 * time.Hour))
	second := backfill(from.Add(8 * time.Hour))
	t.Log(strings.TrimSpace(first))
	t.Log(strings.TrimSpace(second))
	if !strings.Contains(second, "already there") || strings.Contains(second, " 0 already there") {
		t.Errorf("the second backfill did not recognise the first one's rows: %s", second)
	}

	rep, _ := catalog.Lookup("diagram_13")
	truth, err := sim.Truth(simulator.TruthQuery{Report: "diagram_13", Params: url.Values{}, From: from, To: from.Add(8*time.Hour + time.Second), AsOf: time.Now()}) // --to is inclusive
	if err != nil {
		t.Fatal(err)
	}
	// A backfill of a settled range sees every row's latest version only.
	exp := connectortest.Expect(rep, truth, time.Hour, bogotaLoc(), time.Now(), 48*time.Hour)
	events := connectortest.ReadAll(t, seeds, name+".diagram_13")[name+".diagram_13"]
	var latest []connectortest.Expected
	for _, e := range exp {
		if e.Required {
			latest = append(latest, e)
		}
	}
	if diffs := connectortest.Compare(events, latest); len(diffs) > 0 || len(events) == 0 {
		t.Errorf("%s", connectortest.Summary("diagram_13", events, latest, diffs))
	}
	// Each range keeps its own progress (so an interrupted backfill resumes), and the
	// live connector's key is never written.
	pos := positionsOf(t, seeds, name+".offsets", name)
	if len(pos) != 2 {
		t.Errorf("offsets: %d positions, want one per backfill range", len(pos))
	}
	for k := range pos {
		if !strings.Contains(k, `"backfill"`) {
			t.Errorf("the backfill stored its progress under %s, the live connector's key", k)
		}
	}
}
