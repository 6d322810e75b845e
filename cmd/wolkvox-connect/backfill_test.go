package main

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
	"github.com/wolkvox-connect/wolkvox-connect/source/connectortest"
	"github.com/wolkvox-connect/wolkvox-connect/source/simulator"
)

// TestBackfill re-reads a past range twice, the second time a larger one overlapping the
// first: the topic ends up with every row of the larger range exactly once, and the
// live offsets are never touched.
func TestBackfill(t *testing.T) {
	seeds := kafkatest.Fake(t)
	sim := connectortest.StartSimulator(t, simulator.Seed(5), simulator.Location(bogotaLoc()), simulator.Reports("diagram_13"), simulator.DefaultRowsPerMinute(2))
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
	// The progress bar (this goroutine) and the logger (the connector's) write to one
	// plain buffer: the console serializes them, which -race checks.
	run := func(args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		env := &environment{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
		code := runMain(context.Background(), env, args)
		if code != 0 {
			t.Fatalf("%s exited %d: %s", args[0], code, stderr.String())
		}
		if args[0] == "backfill" && !strings.Contains(stdout.String(), "already done") {
			if !strings.Contains(stderr.String(), "100%") {
				t.Errorf("no finished progress bar in:\n%s", stderr.String())
			}
			// The cursor is shown in the operation's zone, with its offset.
			if !strings.Contains(stderr.String(), "-05:00, ") {
				t.Errorf("the progress bar shows no zone offset:\n%s", stderr.String())
			}
		}
		return stdout.String()
	}
	backfill := func(to time.Time) string {
		return run("backfill", "--config", path, "--report", "diagram_13", "--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339))
	}
	first := backfill(from.Add(4 * time.Hour))
	second := backfill(from.Add(8 * time.Hour))
	t.Log(strings.TrimSpace(first))
	t.Log(strings.TrimSpace(second))
	written := regexp.MustCompile(`: (\d+) rows written`).FindStringSubmatch(first)
	if written == nil || written[1] == "0" {
		t.Fatalf("the first backfill wrote nothing: %s", first)
	}
	// The second range holds the first: the topic held exactly the first's events.
	if want := written[1] + " events already in the topic before"; !strings.Contains(second, want) {
		t.Errorf("the second backfill does not say %q: %s", want, second)
	}
	if !strings.Contains(first, "1 call;") && !strings.Contains(first, " calls;") {
		t.Errorf("calls not counted with their plural: %s", first)
	}

	// The first range again: already done, said so, with the command that redoes it,
	// which works.
	again := backfill(from.Add(4 * time.Hour))
	t.Log(strings.TrimSpace(again))
	reset := regexp.MustCompile(`wolkvox-connect (offsets reset .*) --yes`).FindStringSubmatch(again)
	if !strings.Contains(again, "was already done") || reset == nil {
		t.Fatalf("re-running a finished range does not say it is done and how to redo it: %s", again)
	}
	args := append(strings.Fields(strings.ReplaceAll(reset[1], "'", "")), "--yes")
	t.Log(run(args...))
	redo := backfill(from.Add(4 * time.Hour))
	t.Log(strings.TrimSpace(redo))
	if !strings.Contains(redo, "0 rows written") || strings.Contains(redo, "already done") {
		t.Errorf("after the reset the range is read again, writing nothing new: %s", redo)
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
		// The reset range's progress was deleted and written again: still one each.
		t.Errorf("offsets: %d positions (%v), want one per backfill range", len(pos), slices.Sorted(maps.Keys(pos)))
	}
	for k := range pos {
		if !strings.Contains(k, `"backfill"`) {
			t.Errorf("the backfill stored its progress under %s, the live connector's key", k)
		}
	}
}
