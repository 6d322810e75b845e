package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/connectortest"
	"github.com/wolkvox-connect/wolkvox-connect/source/simulator"
)

// clusterTokens: ten connectors on five tokens, 3+3+2+1+1.
var clusterTokens = []int{3, 3, 2, 1, 1}

// clusterQuota is every token's daily quota, in the simulator and in the file.
const clusterQuota = 5000

// group is several worker processes of one group, one file, one simulator.
type group struct {
	t      testing.TB
	bin    string
	seeds  []string
	sim    *simulator.Server
	clock  *connectortest.Freezable
	config string
	name   string
	start  time.Time
	procs  map[string]*member    // live workers by worker ID
	logs   *connectortest.Buffer // every process's output, each line prefixed with its worker
	runs   int
}

type member struct {
	cmd  *exec.Cmd
	out  *connectortest.Buffer
	addr string // its REST API, once it listens
}

// newGroup writes the group's file: its workers' session timeout and heartbeat are
// session and heartbeat (Go durations).
func newGroup(t testing.TB, seeds []string, speed float64, session, heartbeat string) *group {
	t.Helper()
	start := time.Date(2026, 11, 20, 6, 0, 0, 0, bogotaLoc())
	clock := &connectortest.Freezable{FastClock: source.FastClock{Origin: time.Now(), Start: start.Add(2 * time.Hour), Speed: speed}}
	simOpts := []simulator.Opt{simulator.Seed(21), simulator.WithClock(clock), simulator.Location(bogotaLoc()),
		simulator.Reports("diagram_13", "act_3"), simulator.DefaultRowsPerMinute(2),
		simulator.LateRows(0.2, 10*time.Minute), simulator.Edits(0.1, 20*time.Minute), simulator.DailyQuota(clusterQuota),
		simulator.WithFaults(simulator.Faults{Status503: 0.02, Truncate: 0.01})}
	for i := range clusterTokens {
		simOpts = append(simOpts, simulator.Token(fmt.Sprintf("tok-%d", i), fmt.Sprintf("%04d", 41+i)))
	}
	sim := connectortest.StartSimulator(t, simOpts...)
	name := kafkatest.Topic(t)
	var b strings.Builder
	// The connectors' names are c0, c1...: the prefix keeps their transactional IDs
	// apart from another run's on the same broker, which would fence them.
	fmt.Fprintf(&b, `kafka: {brokers: [%s], transactional_id_prefix: %s.}
topics: {template: "%s.{connector}.{report}", offsets: %s.offsets, dead_letter: %s.dlq}
rest: {address: "127.0.0.1:0"}
log: {level: info}
clock: {start: %q, origin: %q, speed: %g}
cluster: {group: %s, worker_id: "${WORKER_ID}", session_timeout: %s, heartbeat_interval: %s}
connectors:
`, strings.Join(seeds, ", "), name, name, name, name, clock.Start.Format(time.RFC3339), clock.Origin.Format(time.RFC3339Nano), speed, name, session, heartbeat)
	n := 0
	for i, size := range clusterTokens {
		for range size {
			fmt.Fprintf(&b, `  - name: c%d
    server: %q
    token: tok-%d
    daily_quota: %d
    base_url: %s
    defaults: {interval: 5m, lookback: 90m, settle: 2m, start: %q}
    reports:
      - {api: diagram_13}
      - {api: act_3, params: {cod_act: cod_act1}}
`, n, fmt.Sprintf("%04d", 41+i), i, clusterQuota, sim.URL(), start.Format(time.RFC3339))
			n++
		}
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	g := &group{t: t, bin: buildBinary(t, "testclock"), seeds: seeds, sim: sim, clock: clock, config: path, name: name,
		start: start, procs: map[string]*member{}, logs: &connectortest.Buffer{}}
	t.Cleanup(func() {
		for id := range g.procs {
			g.kill(id)
		}
		if t.Failed() {
			t.Logf("worker logs (last 12 KiB):\n%s", connectortest.Tail(g.logs.String(), 12<<10))
		}
	})
	return g
}

// connectors are the file's connector names.
func (g *group) connectors() []string {
	var out []string
	for i := range 10 {
		out = append(out, fmt.Sprintf("c%d", i))
	}
	return out
}

// launch starts worker id.
func (g *group) launch(id string) {
	g.t.Helper()
	g.runs++
	out := &connectortest.Buffer{}
	cmd := exec.Command(g.bin, "run", "--config", g.config)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), "WOLKVOX_CONNECT_CONFIG=", "WORKER_ID="+id)
	if err := cmd.Start(); err != nil {
		g.t.Fatal(err)
	}
	g.procs[id] = &member{cmd: cmd, out: out}
}

// kill ends worker id with SIGKILL; stop with SIGTERM, expecting a clean exit, once the
// worker listens (a SIGTERM before the process has set up its signal handling would end
// it uncleanly, which is not what stop tests).
func (g *group) kill(id string) { g.end(id, syscall.SIGKILL) }
func (g *group) stop(id string) {
	g.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !listening.MatchString(g.procs[id].out.String()) {
		if time.Now().After(deadline) {
			g.t.Fatalf("worker %s did not listen within 60 s", id)
		}
		time.Sleep(50 * time.Millisecond)
	}
	g.end(id, syscall.SIGTERM)
}

func (g *group) end(id string, sig syscall.Signal) {
	m := g.procs[id]
	_ = m.cmd.Process.Signal(sig)
	done := make(chan error, 1)
	go func() { done <- m.cmd.Wait() }()
	select {
	case err := <-done:
		if sig == syscall.SIGTERM && err != nil {
			g.t.Errorf("worker %s exited with %v after SIGTERM", id, err)
		}
	case <-time.After(30 * time.Second):
		g.t.Errorf("worker %s did not end within 30 s of %v", id, sig)
		_ = m.cmd.Process.Kill()
		<-done
	}
	for _, line := range strings.SplitAfter(m.out.String(), "\n") {
		if line != "" {
			fmt.Fprintf(g.logs, "%s| %s", id, line)
		}
	}
	delete(g.procs, id)
}

var listening = regexp.MustCompile(`msg="REST API listening" component=restapi address=(\S+)`)

// statuses asks every live worker for every connector's status, and returns who runs
// what, once every worker is in one stable generation of all live workers and all
// agree that each connector runs on one live worker; else what is not yet settled.
func (g *group) statuses() (map[string][]string, string) {
	runs := map[string][]string{}
	owner := map[string]string{}
	gens := map[int32]bool{}
	for _, id := range slices.Sorted(maps.Keys(g.procs)) {
		m := g.procs[id]
		if m.addr == "" {
			match := listening.FindStringSubmatch(m.out.String())
			if match == nil {
				return nil, id + " does not listen yet"
			}
			m.addr = match[1]
		}
		var root struct {
			Group struct {
				State      string `json:"state"`
				Generation int32  `json:"generation"`
				Members    []struct {
					WorkerID string `json:"worker_id"`
				} `json:"members"`
			} `json:"group"`
		}
		if err := getJSON("http://"+m.addr+"/", &root); err != nil {
			return nil, err.Error()
		}
		if st := root.Group; st.State != "STABLE" || len(st.Members) != len(g.procs) {
			return nil, fmt.Sprintf("%s: group %s with %d members", id, st.State, len(st.Members))
		}
		gens[root.Group.Generation] = true
		resp, err := http.Get("http://" + m.addr + "/connectors?expand=status")
		if err != nil {
			return nil, err.Error()
		}
		var body map[string]struct {
			Status struct {
				Connector struct {
					State    string `json:"state"`
					WorkerID string `json:"worker_id"`
				} `json:"connector"`
			} `json:"status"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil {
			return nil, err.Error()
		}
		// Every worker answers for every connector, with its owner's status.
		for _, c := range g.connectors() {
			st := body[c].Status.Connector
			if st.State != "RUNNING" {
				return nil, fmt.Sprintf("%s, asked of %s, is %s", c, id, st.State)
			}
			if _, live := g.procs[st.WorkerID]; !live {
				return nil, fmt.Sprintf("%s, asked of %s, runs on %q, not a live worker", c, id, st.WorkerID)
			}
			if other, ok := owner[c]; ok && other != st.WorkerID {
				return nil, fmt.Sprintf("%s runs on %s as one worker says and on %s as %s says", c, other, st.WorkerID, id)
			}
			owner[c] = st.WorkerID
		}
	}
	for c, id := range owner {
		runs[id] = append(runs[id], c)
	}
	for _, cs := range runs {
		slices.Sort(cs)
	}
	if len(owner) != 10 {
		return nil, fmt.Sprintf("%d of 10 connectors run", len(owner))
	}
	if len(gens) != 1 {
		return nil, fmt.Sprintf("the workers are in generations %v", slices.Sorted(maps.Keys(gens)))
	}
	return runs, ""
}

func getJSON(u string, into any) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(into)
}

// settled waits until every connector runs on exactly one live worker.
func (g *group) settled(timeout time.Duration) map[string][]string {
	g.t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		runs, problem := g.statuses()
		if problem == "" {
			return runs
		}
		last = problem
		time.Sleep(200 * time.Millisecond)
	}
	g.t.Fatalf("the group did not settle within %v: %s", timeout, last)
	return nil
}

// checkSpread: loads differ by at most one; a token's connectors share a worker.
func (g *group) checkSpread(runs map[string][]string) {
	g.t.Helper()
	var loads []int
	for id := range g.procs {
		loads = append(loads, len(runs[id]))
	}
	if slices.Max(loads)-slices.Min(loads) > 1 {
		g.t.Errorf("loads %v: max − min > 1 (%v)", loads, runs)
	}
	tokenOf := func(c string) int {
		var n int
		fmt.Sscanf(c, "c%d", &n)
		for tok, size := range clusterTokens {
			if n < size {
				return tok
			}
			n -= size
		}
		return -1
	}
	on := map[int]string{}
	for id, cs := range runs {
		for _, c := range cs {
			if other, ok := on[tokenOf(c)]; ok && other != id {
				g.t.Errorf("the connectors of tok-%d run on %s and %s", tokenOf(c), other, id)
			}
			on[tokenOf(c)] = id
		}
	}
}

// compare checks every connector's topics against the simulator's ground truth and the
// tokens' calls against their quota.
func (g *group) compare(frozen time.Time) {
	g.t.Helper()
	var topics []string
	for _, c := range g.connectors() {
		topics = append(topics, g.name+"."+c+".diagram_13", g.name+"."+c+".act_3")
	}
	delivered := connectortest.ReadAll(g.t, g.seeds, topics...)
	failing := map[string]bool{}
	defer func() {
		for _, c := range slices.Sorted(maps.Keys(failing)) {
			for _, line := range g.story(c) {
				g.t.Logf("%s: %s", c, line)
			}
		}
	}()
	for _, r := range []struct {
		api    string
		params url.Values
	}{{"diagram_13", nil}, {"act_3", url.Values{"cod_act": {"cod_act1"}}}} {
		rep, _ := catalog.Lookup(r.api)
		truth, err := g.sim.Truth(simulator.TruthQuery{Report: r.api, Params: r.params, From: g.start, To: frozen.Add(time.Second), AsOf: frozen, Bucket: source.DefaultBucket})
		if err != nil {
			g.t.Fatal(err)
		}
		exp := connectortest.Expect(rep, truth, source.DefaultBucket, bogotaLoc(), g.clock.Start, 30*time.Minute)
		for _, c := range g.connectors() {
			events := delivered[g.name+"."+c+"."+r.api]
			diffs := connectortest.Compare(events, exp)
			if len(diffs) > 0 || len(events) == 0 {
				// A line each: what reports a failure keeps single lines, not continuations.
				g.t.Errorf("%s of %s does not match the ground truth: %s", r.api, c, strings.SplitN(connectortest.Summary(r.api, events, exp, diffs), "\n", 2)[0])
				for _, d := range diffs[:min(len(diffs), 20)] {
					g.t.Logf("%s of %s: %s", r.api, c, d)
				}
				failing[c] = true
			}
		}
	}
	st := g.sim.Stats()
	for tok, ts := range st.Tokens {
		if ts.QuotaUsed > clusterQuota || ts.RefusedQuota > 0 {
			g.t.Errorf("%s: %d calls counted of %d, %d refused for quota", tok, ts.QuotaUsed, clusterQuota, ts.RefusedQuota)
		}
	}
}

// story is what every worker logged of connector c, a line an event, each cut short:
// who ran it when, what it resumed from, what it committed, what failed.
func (g *group) story(c string) []string {
	var out []string
	for _, line := range strings.Split(g.logs.String(), "\n") {
		if !strings.Contains(line, " connector="+c+" ") || strings.Contains(line, "level=DEBUG") {
			continue
		}
		if len(out) == 400 {
			return append(out, "(more lines left out)")
		}
		line = strings.Replace(line, " component=source", "", 1)
		if len(line) > 320 {
			line = line[:320] + "…"
		}
		out = append(out, line)
	}
	return out
}

// drain waits until every report of every connector has committed past until.
func (g *group) drain(until time.Time, timeout time.Duration) {
	g.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		behind := []string{}
		for _, c := range g.connectors() {
			pos := positionsOf(g.t, g.seeds, g.name+".offsets", c)
			if len(pos) < 2 {
				behind = append(behind, c+" (no offsets)")
			}
			for k, p := range pos {
				if p.WindowEnd.Before(until) {
					behind = append(behind, c+" "+k)
				}
			}
		}
		if len(behind) == 0 {
			return
		}
		if time.Now().After(deadline) {
			sort.Strings(behind)
			g.t.Fatalf("not drained to %s within %v: %v", until, timeout, behind)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestClusterSharesAndSurvivesKills runs the worker processes of one group: three
// share ten connectors on five tokens (each on exactly one worker, balanced, by
// token); then 20 SIGKILLs of random workers, each restarted after a random delay,
// with a fourth worker added for good halfway and one removed for good near the end.
// Afterwards a read_committed consumer finds in every connector's topics exactly the
// simulator's ground truth (late and edited rows included), and no token was charged
// more calls than its quota.
func TestClusterSharesAndSurvivesKills(t *testing.T) {
	seeds := kafkatest.Real(t)
	g := newGroup(t, seeds, 120, "6s", "1s")
	for _, id := range []string{"w1", "w2", "w3"} {
		g.launch(id)
	}
	runs := g.settled(90 * time.Second)
	g.checkSpread(runs)
	t.Logf("three workers: %v", runs)
	g.checkForwarding(runs)

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	const kills = 20
	for i := range kills {
		switch i {
		case kills / 2:
			g.launch("w4")
		case kills - 3:
			g.stop("w2")
		}
		live := slices.Sorted(maps.Keys(g.procs))
		victim := live[rng.IntN(len(live))]
		time.Sleep(time.Duration(500+rng.IntN(2500)) * time.Millisecond)
		g.kill(victim)
		time.Sleep(time.Duration(rng.IntN(3000)) * time.Millisecond)
		g.launch(victim)
	}
	runs = g.settled(90 * time.Second)
	g.checkSpread(runs)
	t.Logf("after %d kills, %d processes: %v", kills, g.runs, runs)
	// The simulator's time stops; the workers' goes on, past the settle and lookback.
	frozen := g.clock.Freeze()
	g.drain(frozen.Add(20*time.Minute), 3*time.Minute)
	for _, id := range slices.Sorted(maps.Keys(g.procs)) {
		g.stop(id)
	}
	g.compare(frozen)
}

// checkForwarding: a worker answers the status of a connector another worker runs (its
// worker_id that other's), and passes a pause and a resume to it.
func (g *group) checkForwarding(runs map[string][]string) {
	g.t.Helper()
	var owner, other string
	for _, id := range slices.Sorted(maps.Keys(g.procs)) {
		if slices.Contains(runs[id], "c0") {
			owner = id
		} else if other == "" {
			other = id
		}
	}
	base := "http://" + g.procs[other].addr + "/connectors/c0"
	state := func(via string) (string, string) {
		var st struct {
			Connector struct {
				State    string `json:"state"`
				WorkerID string `json:"worker_id"`
			} `json:"connector"`
		}
		if err := getJSON("http://"+g.procs[via].addr+"/connectors/c0/status", &st); err != nil {
			g.t.Fatal(err)
		}
		return st.Connector.State, st.Connector.WorkerID
	}
	if st, wid := state(other); st != "RUNNING" || wid != owner {
		g.t.Errorf("c0's status asked of %s: %s on %q, want RUNNING on %s", other, st, wid, owner)
	}
	for _, step := range []struct{ action, want string }{{"pause", "PAUSED"}, {"resume", "RUNNING"}} {
		req, _ := http.NewRequest(http.MethodPut, base+"/"+step.action, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			g.t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			g.t.Errorf("PUT %s via %s: %s, want 202", step.action, other, resp.Status)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			if st, _ := state(owner); st == step.want {
				break
			}
			if time.Now().After(deadline) {
				st, _ := state(owner)
				g.t.Errorf("after PUT %s via %s, c0 on %s is %s, want %s", step.action, other, owner, st, step.want)
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// BenchmarkFailover measures how long a SIGKILLed worker's connector takes to run
// again on a survivor: from the kill to the new owner's first committed window (the
// connector's offsets move), with the default session timeout of 10 s and heartbeat of
// 3 s, over 5 kills of whichever worker runs c0 (two workers; the killed one is
// restarted before the next kill). It reports the median and the max in seconds.
//
//	go test -run '^$' -bench Failover -benchtime 1x ./cmd/wolkvox-connect
func BenchmarkFailover(b *testing.B) {
	seeds := kafkatest.Real(b)
	for range b.N {
		failovers := measureFailover(b, seeds, 5)
		b.Logf("failovers: %v", failovers)
		slices.Sort(failovers)
		b.ReportMetric(failovers[len(failovers)/2].Seconds(), "median-s")
		b.ReportMetric(failovers[len(failovers)-1].Seconds(), "max-s")
	}
}

// measureFailover kills the worker that runs c0 kills times and returns, for each,
// the time from the kill until c0's offsets move (a window committed by its new owner).
func measureFailover(tb testing.TB, seeds []string, kills int) []time.Duration {
	g := newGroup(tb, seeds, 120, "10s", "3s")
	g.launch("w1")
	g.launch("w2")
	runs := g.settled(90 * time.Second)
	newest := func() time.Time {
		var last time.Time
		for _, p := range positionsOf(tb, seeds, g.name+".offsets", "c0") {
			if p.WindowEnd.After(last) {
				last = p.WindowEnd
			}
		}
		return last
	}
	var out []time.Duration
	for range kills {
		owner := "w1"
		if slices.Contains(runs["w2"], "c0") {
			owner = "w2"
		}
		killed := time.Now()
		g.kill(owner)
		// A commit the killed worker had sent may still become visible: start from what
		// is there a moment after the kill.
		time.Sleep(300 * time.Millisecond)
		before := newest()
		for newest().Equal(before) {
			if time.Since(killed) > 2*time.Minute {
				tb.Fatalf("c0 did not commit on a survivor within 2 minutes of the kill of %s", owner)
			}
			time.Sleep(100 * time.Millisecond)
		}
		out = append(out, time.Since(killed))
		g.launch(owner)
		runs = g.settled(90 * time.Second)
	}
	return out
}
