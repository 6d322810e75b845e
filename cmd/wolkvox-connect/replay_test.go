package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/linkedin/goavro/v2"

	"github.com/wolkvox-connect/wolkvox-connect/schemas"
	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/connectortest"
	"github.com/wolkvox-connect/wolkvox-connect/source/replay"
	"github.com/wolkvox-connect/wolkvox-connect/source/simulator"
)

// replayed is a run of the worker against the simulator (late and edited rows) that
// has been frozen and drained: its topics hold the final version of every row.
type replayed struct {
	seeds  []string
	sim    *simulator.Server
	config string
	name   string
	start  time.Time // the configured start of the reports
	frozen time.Time
}

// replayReports are the reports the fixture runs, by report key: api and parameters.
var replayReports = map[string]struct {
	api    string
	params url.Values
}{
	"diagram_13":             {"diagram_13", url.Values{}},
	"act_3,cod_act=cod_act1": {"act_3", url.Values{"cod_act": {"cod_act1"}}},
}

// runForReplay runs the worker in this process on a virtual clock 300 times faster
// than real time, an hour behind at first, then polling live for an hour (the
// simulator's late rows and edits happen live), then freezes the simulator and waits
// until both reports have read past the freeze.
func runForReplay(t *testing.T, seeds []string) *replayed {
	t.Helper()
	const speed = 300
	start := time.Date(2026, 11, 20, 6, 0, 0, 0, bogotaLoc())
	clock := &connectortest.Freezable{FastClock: source.FastClock{Origin: time.Now(), Start: start.Add(time.Hour), Speed: speed}}
	sim := connectortest.StartSimulator(t, simulator.Seed(17), simulator.WithClock(clock), simulator.Location(bogotaLoc()),
		simulator.Reports("diagram_13", "act_3"), simulator.DefaultRowsPerMinute(3),
		simulator.LateRows(0.2, 10*time.Minute), simulator.Edits(0.3, 20*time.Minute))
	name := kafkatest.Topic(t)
	cfg := fmt.Sprintf(`kafka: {brokers: [%s]}
topics: {template: "%s.{report}", offsets: %s.offsets, dead_letter: %s.dlq}
log: {level: warn}
clock: {start: %q, origin: %q, speed: %d}
connectors:
  - name: %s
    server: %q
    token: %s
    time_zone: America/Bogota
    daily_quota: 100000
    base_url: %s
    defaults: {interval: 5m, lookback: 90m, settle: 2m, start: %q}
    reports:
      - {api: diagram_13}
      - {api: act_3, params: {cod_act: cod_act1}}
`, strings.Join(seeds, ", "), name, name, name, clock.Start.Format(time.RFC3339), clock.Origin.Format(time.RFC3339Nano), speed,
		name, simulator.DefaultServer, simulator.DefaultToken, sim.URL(), start.Format(time.RFC3339))
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &connectortest.Buffer{}
	done := make(chan int, 1)
	go func() {
		env := &environment{stdout: logs, stderr: logs, getenv: func(string) string { return "" }}
		done <- runMain(ctx, env, []string{"run", "--config", path})
	}()
	stop := func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("run exited %d:\n%s", code, connectortest.Tail(logs.String(), 8<<10))
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("run did not stop within 30 s")
		}
	}
	// An hour of virtual time polling live, then the simulator stops changing.
	time.Sleep(12 * time.Second)
	frozen := clock.Freeze()
	until := frozen.Add(20 * time.Minute)
	// A liveness bound, generous for a loaded machine (the worker runs in this process,
	// under the race detector): it returns as soon as both reports are there.
	waitFor(t, "both reports to read past the freeze", 5*time.Minute, func() bool {
		pos := positionsOf(t, seeds, name+".offsets", name)
		for _, p := range pos {
			if p.WindowEnd.Before(until) {
				return false
			}
		}
		return len(pos) == len(replayReports)
	})
	stop()
	return &replayed{seeds: seeds, sim: sim, config: path, name: name, start: start, frozen: frozen}
}

// want is the ground truth of a replay of [from, to): the final version of every row of
// report key whose time lies in it.
func (g *replayed) want(t *testing.T, key string, from, to time.Time) []connectortest.Expected {
	t.Helper()
	r := replayReports[key]
	rep, _ := catalog.Lookup(r.api)
	truth, err := g.sim.Truth(simulator.TruthQuery{Report: r.api, Params: r.params, From: from, To: to, AsOf: g.frozen})
	if err != nil {
		t.Fatal(err)
	}
	var latest []connectortest.Expected
	for _, e := range connectortest.Expect(rep, truth, time.Hour, bogotaLoc(), g.frozen.Add(time.Hour), 1<<62) {
		if e.Required { // with an observable start after the freeze: the latest versions only
			latest = append(latest, e)
		}
	}
	return latest
}

// replay runs the replay command with args and returns its stdout and stderr.
func (g *replayed) replay(t *testing.T, args ...string) (string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := &environment{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	if code := runMain(context.Background(), env, append([]string{"replay", "--config", g.config}, args...)); code != 0 {
		t.Fatalf("replay %v exited %d: %s", args, code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "100% ") {
		t.Errorf("no finished progress bar in:\n%s", stderr.String())
	}
	return stdout.String(), stderr.String()
}

// jsonLine is one line of the replay's JSON output, as tail prints it.
type jsonLine struct {
	Topic   string            `json:"topic"`
	Key     string            `json:"key"`
	Headers map[string]string `json:"headers"`
	Value   json.RawMessage   `json:"value"`
}

func parseJSONLines(t *testing.T, out string) []jsonLine {
	t.Helper()
	var lines []jsonLine
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l jsonLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("not a JSON line: %v: %s", err, sc.Bytes())
		}
		lines = append(lines, l)
	}
	return lines
}

// replayCount is the count of rows the summary line says were written.
var replayCount = regexp.MustCompile(`into \S+: (\d+) rows? \(`)

// TestReplayGroundTruth runs the worker against the simulator's late and edited rows,
// then replays a range of its topics into each output: each holds exactly the final
// version of every ground-truth row of the range, nothing outside it, nothing twice.
// The OCF file holds, field by field, what the JSON lines hold.
func TestReplayGroundTruth(t *testing.T) {
	kafkatest.Clusters(t, func(t *testing.T, c kafkatest.Cluster) {
		g := runForReplay(t, c.Seeds)
		// A range of the live hour, ending before the freeze.
		from, to := g.start.Add(time.Hour), g.start.Add(time.Hour+45*time.Minute)
		rangeArgs := []string{"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339)}
		topicOf := func(key string) string { return g.name + "." + replayReports[key].api }
		compare := func(output, key string, events []connectortest.Event) {
			t.Helper()
			want := g.want(t, key, from, to)
			diffs := connectortest.Compare(events, want)
			t.Log(output + ": " + connectortest.Summary(key, events, want, diffs))
			if len(diffs) > 0 || len(events) == 0 {
				t.Errorf("%s: the replay of %s does not hold the final version of each row of the range", output, key)
			}
		}

		// The proof needs what it claims to handle: rows of the range edited (several
		// versions in the topic, the replay keeping one; diagram_13 has no field Wolkvox
		// edits, act_3 has), late rows, rows outside the range.
		edits := 0
		for key := range replayReports {
			events := connectortest.ReadAll(t, g.seeds, topicOf(key))[topicOf(key)]
			inRange := map[string]bool{}
			for _, e := range g.want(t, key, from, to) {
				inRange[e.Key] = true
			}
			versions := map[string]int{}
			outside := 0
			for _, e := range events {
				if inRange[e.Key] {
					versions[e.Key]++
				} else {
					outside++
				}
			}
			edited := 0
			for _, n := range versions {
				if n > 1 {
					edited++
				}
			}
			r := replayReports[key]
			truth, err := g.sim.Truth(simulator.TruthQuery{Report: r.api, Params: r.params, From: from, To: to, AsOf: g.frozen})
			if err != nil {
				t.Fatal(err)
			}
			late := 0
			for _, tr := range truth {
				if tr.Version == 0 && tr.At.Sub(tr.Time) > 3*time.Minute {
					late++
				}
			}
			t.Logf("%s: %d events in the topic, %d rows of the range, %d of them edited, %d late, %d events outside the range", key, len(events), len(inRange), edited, late, outside)
			if late == 0 || outside == 0 {
				t.Fatalf("%s: the run has no late row in the range, or nothing outside it: the test proves nothing", key)
			}
			edits += edited
		}
		if edits == 0 {
			t.Fatalf("no row of the range was edited: the test proves nothing")
		}

		// JSON lines of every report, to stdout; the counts go to stderr.
		out, errOut := g.replay(t, append([]string{"--all"}, rangeArgs...)...)
		lines := parseJSONLines(t, out)
		values := map[string]json.RawMessage{} // by key, for the OCF check
		for key := range replayReports {
			var events []connectortest.Event
			for _, l := range lines {
				if l.Topic == topicOf(key) {
					events = append(events, connectortest.Event{Key: l.Key, Version: l.Headers[source.HeaderRowVersion]})
					values[key+"/"+l.Key] = l.Value
				}
			}
			compare("json", key, events)
		}
		if m := replayCount.FindStringSubmatch(errOut); m == nil || m[1] != fmt.Sprint(len(lines)) {
			t.Errorf("the summary does not count the %d lines written: %s", len(lines), errOut)
		}

		// An OCF file per report: the same rows, field by field.
		for key, r := range replayReports {
			file := filepath.Join(t.TempDir(), r.api+".avro")
			out, _ := g.replay(t, append([]string{"--report", key, "--format", "ocf", "--output", file}, rangeArgs...)...)
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			ocf, err := goavro.NewOCFReader(bufio.NewReader(f))
			if err != nil {
				t.Fatal(err)
			}
			set, _ := schemas.Embedded()
			sc, _ := set.Lookup(r.api)
			if ocf.Codec().CanonicalSchema() == "" || string(ocf.MetaData()["avro.schema"]) != sc.Text {
				t.Errorf("%s: the file does not embed the report's schema", key)
			}
			var events []connectortest.Event
			for ocf.Scan() {
				v, err := ocf.Read()
				if err != nil {
					t.Fatal(err)
				}
				ev := &schemas.Event{Schema: sc.Text, Native: v.(map[string]any)}
				rowID := ev.Values()[schemas.FieldRowID].(string)
				got, err := ev.MarshalJSON()
				if err != nil {
					t.Fatal(err)
				}
				want, ok := values[key+"/"+rowID]
				switch {
				case !ok:
					t.Errorf("ocf %s: row %s is not in the JSON lines", key, rowID)
				case !bytes.Equal(got, want):
					t.Errorf("ocf %s: row %s differs:\n ocf  %s\n json %s", key, rowID, got, want)
				}
				delete(values, key+"/"+rowID)
				events = append(events, connectortest.Event{Key: rowID})
			}
			f.Close()
			if m := replayCount.FindStringSubmatch(out); m == nil || m[1] != fmt.Sprint(len(events)) {
				t.Errorf("ocf %s: the summary does not count the %d rows written: %s", key, len(events), out)
			}
		}
		for k := range values {
			t.Errorf("ocf: row %s of the JSON lines is in no file", k)
		}

		// Into another topic, one transaction per report, read back read_committed.
		for key := range replayReports {
			target := topicOf(key) + ".replayed"
			out, _ := g.replay(t, append([]string{"--report", key, "--into", target}, rangeArgs...)...)
			events := connectortest.ReadAll(t, g.seeds, target)[target]
			compare("topic", key, events)
			if m := replayCount.FindStringSubmatch(out); m == nil || m[1] != fmt.Sprint(len(events)) {
				t.Errorf("topic %s: the summary does not count the %d records read back: %s", key, len(events), out)
			}
		}
	})
}

// TestReplayUsage: flag combinations that name no report, no range or no single output
// are the user's to fix (exit 2), before any file is read or broker reached.
func TestReplayUsage(t *testing.T) {
	cfg := []string{"--config", configdata + "minimal.good.yaml"}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no report", []string{"--from", "2026-11-01", "--to", "2026-11-02"}, "give --report KEY or --all"},
		{"report and all", []string{"--report", "diagram_13", "--all", "--from", "2026-11-01", "--to", "2026-11-02"}, "give --report KEY or --all"},
		{"no range", []string{"--report", "diagram_13"}, "--from and --to are required"},
		{"unknown format", []string{"--report", "diagram_13", "--from", "2026-11-01", "--to", "2026-11-02", "--format", "csv"}, `--format "csv"`},
		{"ocf to stdout", []string{"--report", "diagram_13", "--from", "2026-11-01", "--to", "2026-11-02", "--format", "ocf"}, "--format ocf needs --output FILE"},
		{"ocf of all", []string{"--all", "--from", "2026-11-01", "--to", "2026-11-02", "--format", "ocf", "-o", "x.avro"}, "--all replays several reports"},
		{"topic and file", []string{"--report", "diagram_13", "--from", "2026-11-01", "--to", "2026-11-02", "--into", "t", "-o", "x"}, "--into writes to a topic"},
		{"timeout without topic", []string{"--report", "diagram_13", "--from", "2026-11-01", "--to", "2026-11-02", "--transaction-timeout", "1m"}, "--transaction-timeout is for --into"},
		{"argument", []string{"--report", "diagram_13", "--from", "2026-11-01", "--to", "2026-11-02", "extra"}, `unexpected argument "extra"`},
		{"bad time", []string{"--report", "diagram_13", "--from", "yesterday", "--to", "2026-11-02"}, "--from:"},
		{"empty range", []string{"--report", "diagram_13", "--from", "2026-11-02", "--to", "2026-11-02"}, "is not before --to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, testEnv, append(append([]string{"replay"}, cfg...), tt.args...)...)
			checkCLI(t, code, out, errOut, 2, nil, []string{tt.want, "run 'wolkvox-connect replay --help'"})
		})
	}
}

// TestReplayLine: the progress bar counts each report's two passes as halves of its share.
func TestReplayLine(t *testing.T) {
	tests := []struct {
		p    replay.Progress
		want string
	}{
		{replay.Progress{}, "replay: starting"},
		{replay.Progress{Report: "diagram_13", Index: 1, Of: 1, Phase: replay.Indexing, Read: 50, Records: 100},
			"[#######.......................]  25% diagram_13 (1/1) indexing: 50 of 100 records read, 0 rows written"},
		{replay.Progress{Report: "act_3", Index: 2, Of: 2, Phase: replay.Writing, Read: 100, Records: 100, Written: 1},
			"[##############################] 100% act_3 (2/2) writing: 100 of 100 records read, 1 row written"},
		{replay.Progress{Report: "act_3", Index: 1, Of: 2, Phase: replay.Done, Written: 7},
			"[##############################] 100% act_3 (1/2) done: 0 of 0 records read, 7 rows written"},
	}
	for _, tt := range tests {
		if got := replayLine(tt.p); got != tt.want {
			t.Errorf("replayLine(%+v) =\n %q, want\n %q", tt.p, got, tt.want)
		}
	}
}

// TestReplayHelpInREADME: the README's "Replay from the topics" quotes replay --help as
// the command prints it.
func TestReplayHelpInREADME(t *testing.T) {
	code, out, errOut := runCLI(t, nil, "replay", "--help")
	if code != 0 {
		t.Fatalf("replay --help exited %d: %s", code, errOut)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const intro = "`wolkvox-connect replay --help`:\n\n```\n"
	_, quoted, ok := strings.Cut(string(readme), "\n## Replay from the topics\n")
	if ok {
		_, quoted, ok = strings.Cut(quoted, intro)
	}
	if !ok {
		t.Fatalf("README: no %q under ## Replay from the topics", intro)
	}
	quoted, _, _ = strings.Cut(quoted, "\n```")
	if quoted+"\n" != out {
		t.Errorf("the README quotes another replay --help; the command prints:\n%s", out)
	}
}
