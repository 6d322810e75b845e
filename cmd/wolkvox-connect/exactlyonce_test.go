package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/wolkvox-connect/wolkvox-connect/offsets"
	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/config"
	"github.com/wolkvox-connect/wolkvox-connect/source/connectortest"
	"github.com/wolkvox-connect/wolkvox-connect/source/simulator"
)

// buildBinary compiles wolkvox-connect for a test, with the given build tags (testclock:
// the configuration may set a virtual clock shared with the test's simulator).
func buildBinary(t testing.TB, tags ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "wolkvox-connect")
	cmd := exec.Command("go", "build", "-tags", strings.Join(tags, ","), "-o", bin, ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("building the binary: %v", err)
	}
	return bin
}

// e2e is a worker process, the simulator it reads and the Kafka it writes, for tests
// that kill, restart and inspect the worker from outside.
type e2e struct {
	t      *testing.T
	bin    string
	seeds  []string
	sim    *simulator.Server
	clock  *connectortest.Freezable
	config string
	name   string
	start  time.Time
	logs   *connectortest.Buffer
	proc   *exec.Cmd
	procN  int
}

type e2eOptions struct {
	speed   float64
	simOpts []simulator.Opt
	quota   int
	extra   string // appended to the connector's YAML
	// start is where the reports start (default 06:00 Bogota on 2026-11-20); the clock
	// starts at now (default three hours after start). interval is the reports' (default
	// 5m).
	start, now time.Time
	interval   string
	// reports replaces the connector's reports (YAML list items, indented by six).
	reports string
}

func newE2E(t *testing.T, seeds []string, o e2eOptions) *e2e {
	t.Helper()
	start := cmp.Or(o.start, time.Date(2026, 11, 20, 6, 0, 0, 0, bogotaLoc()))
	interval := cmp.Or(o.interval, "5m")
	reports := cmp.Or(o.reports, `      - {api: diagram_13}
      - {api: act_3, params: {cod_act: cod_act1}}
      - {api: diagram_4}
      - {api: diagram_1_3, settle: 12m}
      - {api: chat_3, settle: 12m}`)
	now := cmp.Or(o.now, start.Add(3*time.Hour))
	clock := &connectortest.Freezable{FastClock: source.FastClock{Origin: time.Now(), Start: now, Speed: o.speed}}
	sim := connectortest.StartSimulator(t, append([]simulator.Opt{simulator.Seed(11), simulator.WithClock(clock), simulator.Location(bogotaLoc()),
		simulator.Reports("diagram_13", "act_3", "diagram_4", "diagram_1_3", "chat_3")}, o.simOpts...)...)
	name := kafkatest.Topic(t)
	cfg := fmt.Sprintf(`kafka: {brokers: [%s]}
topics: {template: "%s.{report}", offsets: %s.offsets, dead_letter: %s.dlq}
rest: {address: "127.0.0.1:0"}
log: {level: info}
clock: {start: %q, origin: %q, speed: %g}
connectors:
  - name: %s
    server: %q
    token: %s
    time_zone: America/Bogota
    daily_quota: %d
    base_url: %s
    defaults: {interval: %s, lookback: 90m, settle: 2m, start: %q}
    reports:
%s
%s`, strings.Join(seeds, ", "), name, name, name,
		clock.Start.Format(time.RFC3339), clock.Origin.Format(time.RFC3339Nano), o.speed,
		name, simulator.DefaultServer, simulator.DefaultToken, o.quota, sim.URL(), interval, start.Format(time.RFC3339), reports, o.extra)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	e := &e2e{t: t, bin: buildBinary(t, "testclock"), seeds: seeds, sim: sim, clock: clock, config: path, name: name, start: start, logs: &connectortest.Buffer{}}
	t.Cleanup(func() {
		e.kill()
		if t.Failed() {
			t.Logf("worker logs (last 8 KiB):\n%s", connectortest.Tail(e.logs.String(), 8<<10))
		}
	})
	return e
}

func bogotaLoc() *time.Location {
	loc, err := time.LoadLocation("America/Bogota")
	if err != nil {
		return time.FixedZone("America/Bogota", -5*3600)
	}
	return loc
}

// launch starts a worker process.
func (e *e2e) launch() {
	e.t.Helper()
	e.procN++
	fmt.Fprintf(e.logs, "---- process %d ----\n", e.procN)
	cmd := exec.Command(e.bin, "run", "--config", e.config)
	cmd.Stdout, cmd.Stderr = e.logs, e.logs
	cmd.Env = append(os.Environ(), "WOLKVOX_CONNECT_CONFIG=")
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.proc = cmd
}

// kill ends the worker with SIGKILL: no shutdown, no abort, nothing flushed.
func (e *e2e) kill() {
	if e.proc == nil {
		return
	}
	_ = e.proc.Process.Kill()
	_ = e.proc.Wait()
	e.proc = nil
}

// stop ends the worker with SIGTERM and expects a clean exit.
func (e *e2e) stop() {
	e.t.Helper()
	if err := e.proc.Process.Signal(syscall.SIGTERM); err != nil {
		e.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- e.proc.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			e.t.Errorf("worker exited with %v after SIGTERM", err)
		}
	case <-time.After(30 * time.Second):
		e.t.Errorf("worker did not stop within 30 s of SIGTERM")
		_ = e.proc.Process.Kill()
		<-done
	}
	e.proc = nil
}

// positions reads the committed offsets of the test's connector.
func (e *e2e) positions() map[string]offsets.Position {
	e.t.Helper()
	return positionsOf(e.t, e.seeds, e.name+".offsets", e.name)
}

// positionsOf reads the committed offsets of connector from topic.
func positionsOf(t testing.TB, seeds []string, topic, connector string) map[string]offsets.Position {
	t.Helper()
	store, err := offsets.NewStore(topic, offsets.Seeds(seeds...))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pos, err := store.Load(ctx, connector)
	if err != nil {
		t.Fatalf("loading offsets: %v", err)
	}
	return pos
}

// drain waits until every report's committed cursor has passed until.
func (e *e2e) drain(reports int, until time.Time, timeout time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		pos := e.positions()
		behind := 0
		for _, p := range pos {
			if p.WindowEnd.Before(until) {
				behind++
			}
		}
		if len(pos) == reports && behind == 0 {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("the worker did not drain to %s within %s: %d of %d reports have offsets, %d behind", until, timeout, len(pos), reports, behind)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// compare checks every report topic against the simulator's ground truth.
func (e *e2e) compare(frozen, polledFrom time.Time, minLife time.Duration) {
	e.t.Helper()
	s, err := config.Load(e.config, os.Getenv)
	if err != nil {
		e.t.Fatal(err)
	}
	cfg := s.Connectors[0].Config
	var topics []string
	for _, r := range cfg.Reports {
		topics = append(topics, e.name+"."+r.API)
	}
	delivered := connectortest.ReadAll(e.t, e.seeds, topics...)
	for _, r := range cfg.Reports {
		rep, _ := catalog.Lookup(r.API)
		params := url.Values{}
		for k, v := range r.Params {
			params.Set(k, v)
		}
		bucket := r.Bucket
		if bucket == 0 {
			bucket = source.DefaultBucket
		}
		// Truth ranges end exclusively; a row stamped the very second the simulator froze
		// is visible, so the range runs one second past it.
		to := frozen.Add(time.Second)
		if rep.Kind == catalog.RangeAggregate {
			to = frozen.Add(-r.Settle).Truncate(bucket)
		}
		truth, err := e.sim.Truth(simulator.TruthQuery{Report: r.API, Params: params, From: e.start, To: to, AsOf: frozen, Bucket: bucket})
		if err != nil {
			e.t.Fatal(err)
		}
		exp := connectortest.Expect(rep, truth, bucket, cfg.Location, polledFrom, minLife)
		events := delivered[e.name+"."+r.API]
		if rep.Kind == catalog.RangeAggregate {
			events = connectortest.BucketsBefore(events, to)
		}
		diffs := connectortest.Compare(events, exp)
		e.t.Log(connectortest.Summary(r.API, events, exp, diffs))
		if len(diffs) > 0 || len(events) == 0 {
			e.t.Errorf("%s does not match the ground truth", r.API)
		}
	}
}

// TestKillNineExactlyOnce is the crash proof of the exactly-once promise, on the real
// broker: the worker process reads the simulator (late rows, edited rows, injected
// upstream failures, a burst past the 60,000-row cap) and is killed with SIGKILL at
// random moments, 22 times; after a last run and a drain, a read_committed consumer
// finds in every topic exactly the simulator's ground truth.
func TestKillNineExactlyOnce(t *testing.T) {
	seeds := kafkatest.Real(t)
	const speed = 300
	start := time.Date(2026, 11, 20, 6, 0, 0, 0, bogotaLoc())
	e := newE2E(t, seeds, e2eOptions{speed: speed, quota: 100000, simOpts: []simulator.Opt{
		simulator.DefaultRowsPerMinute(3), simulator.LateRows(0.2, 10*time.Minute), simulator.Edits(0.1, 20*time.Minute),
		simulator.DailyQuota(100000),
		// 61,000 rows in one minute of the catch-up: the first window must be bisected.
		simulator.Bursts(simulator.Burst{Report: "diagram_13", Minute: start.Add(20 * time.Minute), Rows: 61000}),
		simulator.WithFaults(simulator.Faults{Status500: 0.03, Status503: 0.02, HTML200: 0.01, Truncate: 0.01}),
	}})
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	const kills = 22
	for i := range kills {
		e.launch()
		// The first runs have the big catch-up window to chew on; later ones poll.
		wait := time.Duration(300+rng.IntN(2200)) * time.Millisecond
		if i < 3 {
			wait += time.Duration(rng.IntN(3000)) * time.Millisecond
		}
		time.Sleep(wait)
		e.kill()
	}
	e.launch()
	time.Sleep(3 * time.Second)
	frozen := e.clock.Freeze()
	// The last run may have the burst's whole bisection ahead (nine capped answers of
	// 60,000 rows): on a loaded machine that alone can take minutes.
	e.drain(5, frozen.Add(20*time.Minute), 5*time.Minute)
	e.stop()
	if !strings.Contains(e.logs.String(), "bisecting") {
		t.Errorf("no window was bisected: the 60,000-row cap was never hit")
	}
	// Intermediate versions must be present if they lived long enough to be seen
	// despite kills: two polls plus a restart.
	e.compare(frozen, e.clock.Start, 30*time.Minute)
}

// privateBroker starts a broker of the test's own with deploy/local/kafka.sh (so it can
// be restarted or frozen without disturbing the shared one). It is gated like every
// real-Kafka test.
func privateBroker(t *testing.T) *testBroker {
	t.Helper()
	kafkatest.Real(t) // skip or fail exactly as the other real-broker tests do
	script, err := filepath.Abs("../../deploy/local/kafka.sh")
	if err != nil {
		t.Fatal(err)
	}
	b := &testBroker{t: t, script: script, instance: fmt.Sprintf("private-%d", os.Getpid())}
	b.addr = b.run("start")
	t.Cleanup(func() { b.run("stop") })
	return b
}

// testBroker is a broker of one test's own.
type testBroker struct {
	t                *testing.T
	script, instance string
	addr             string
}

func (b *testBroker) run(arg string) string {
	b.t.Helper()
	cmd := exec.Command(b.script, arg)
	cmd.Env = append(os.Environ(), "KAFKA_INSTANCE="+b.instance)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		b.t.Fatalf("kafka.sh %s: %v\n%s", arg, err, errb.String())
	}
	b.t.Logf("kafka.sh %s: %s", arg, strings.TrimSpace(errb.String()))
	return strings.TrimSpace(out.String())
}

// restart stops the broker (TERM) and starts it again on the same ports and data.
func (b *testBroker) restart() { b.run("restart") }

// signal sends sig to the broker's JVM: SIGSTOP freezes it (it keeps its connections
// open but answers nothing), SIGCONT thaws it.
func (b *testBroker) signal(sig syscall.Signal) {
	b.t.Helper()
	var pid int
	if _, err := fmt.Sscanf(b.run("status"), "running: pid %d,", &pid); err != nil {
		b.t.Fatalf("reading the broker's pid: %v", err)
	}
	if err := syscall.Kill(pid, sig); err != nil {
		b.t.Fatalf("signalling the broker: %v", err)
	}
}

// TestBrokerRestart stops and starts the (real) broker in the middle of a run: the
// worker rides it out by itself, and every topic still equals the ground truth.
func TestBrokerRestart(t *testing.T) {
	rideOut(t, func(b *testBroker) { b.restart() })
}

// TestFrozenBroker freezes the (real) broker with SIGSTOP in the middle of a run, long
// enough for a transaction to be caught with its records half produced, then thaws it:
// the worker rides it out by itself, and every topic still equals the ground truth,
// nothing lost or repeated.
func TestFrozenBroker(t *testing.T) {
	rideOut(t, func(b *testBroker) {
		b.signal(syscall.SIGSTOP)
		time.Sleep(6 * time.Second) // half an hour of virtual traffic piles up meanwhile
		b.signal(syscall.SIGCONT)
	})
}

// rideOut runs the worker against a broker of the test's own, disturbs the broker in
// the middle of the run, and checks that the worker went on by itself: it did not exit,
// every report progressed after the disturbance, and every topic equals the ground truth.
func rideOut(t *testing.T, disturb func(*testBroker)) {
	b := privateBroker(t)
	e := newE2E(t, []string{b.addr}, e2eOptions{speed: 300, quota: 100000, simOpts: []simulator.Opt{
		simulator.DefaultRowsPerMinute(3), simulator.LateRows(0.2, 10*time.Minute), simulator.Edits(0.1, 20*time.Minute),
		simulator.DailyQuota(100000),
	}})
	e.launch()
	time.Sleep(4 * time.Second)
	before := e.positions()
	disturb(b)
	time.Sleep(4 * time.Second)
	frozen := e.clock.Freeze()
	e.drain(5, frozen.Add(20*time.Minute), 2*time.Minute)
	if e.proc.ProcessState != nil {
		t.Fatalf("the worker exited during the disturbance")
	}
	e.stop()
	moved := 0
	for k, p := range e.positions() {
		if p.WindowEnd.After(before[k].WindowEnd) {
			moved++
		}
	}
	if moved != 5 {
		t.Errorf("only %d of 5 reports progressed after the disturbance", moved)
	}
	e.compare(frozen, e.clock.Start, 30*time.Minute)
}

// TestProductionRefusesClock: a production build (no testclock tag) refuses a
// configuration that sets a virtual clock, for validate and run alike, naming the field.
func TestProductionRefusesClock(t *testing.T) {
	bin := buildBinary(t)
	path := filepath.Join(t.TempDir(), "clock.yaml")
	cfg := `kafka: {brokers: ["127.0.0.1:9"]}
clock: {start: "2026-11-01T08:00:00-05:00", speed: 60}
connectors:
  - {name: bogota, server: "0040", token: tok-12345, daily_quota: 3000, reports: [{api: diagram_13}]}
`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, command := range []string{"validate", "run"} {
		out, err := exec.Command(bin, command, "--config", path).CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Errorf("%s: %v, want exit 1\n%s", command, err, out)
		}
		if !strings.Contains(string(out), "clock") || !strings.Contains(string(out), "test setting") {
			t.Errorf("%s does not name the clock as a test setting:\n%s", command, out)
		}
	}
}

// TestKillNineMidTransaction kills the worker (SIGKILL) at the two moments streaming
// makes delicate, each checked on the broker before the kill: in the middle of a window
// whose rows are streaming into its open transaction (records written, none committed),
// and in the middle of a bisection (the capped answer's rows in the open transaction,
// its halves being read). It alternates the two, three times each, on the catch-up
// window that holds a 61,000-row burst; then a last run drains, and every topic must
// equal the ground truth: nothing of an open transaction visible, nothing lost or
// repeated.
func TestKillNineMidTransaction(t *testing.T) {
	seeds := kafkatest.Real(t)
	start := time.Date(2026, 11, 20, 6, 0, 0, 0, bogotaLoc())
	e := newE2E(t, seeds, e2eOptions{speed: 300, quota: 100000, simOpts: []simulator.Opt{
		simulator.DefaultRowsPerMinute(3), simulator.LateRows(0.2, 10*time.Minute), simulator.Edits(0.1, 20*time.Minute),
		simulator.DailyQuota(100000),
		simulator.Bursts(simulator.Burst{Report: "diagram_13", Minute: start.Add(20 * time.Minute), Rows: 61000}),
	}})
	topic := e.name + ".diagram_13"
	adm := kadm.NewClient(kafkatest.Client(t, seeds))
	// Created here, as the worker would, so that the admin client knows its partitions
	// from the first poll instead of caching "unknown topic" while the window streams.
	if _, err := adm.CreateTopic(t.Context(), -1, -1, nil, topic); err != nil {
		t.Fatal(err)
	}
	var killedAt int64 // the topic's end when the last process was killed
	for i := range 6 {
		midBisection := i%2 == 1
		e.launch()
		proc := fmt.Sprintf("---- process %d ----", e.procN)
		deadline := time.Now().Add(2 * time.Minute)
		for {
			if time.Now().After(deadline) {
				t.Fatalf("kill %d: no open transaction with rows on %s (mid-bisection %v) within 2 minutes", i+1, topic, midBisection)
			}
			logs := e.logs.String()
			bisecting := strings.Contains(logs[strings.LastIndex(logs, proc):], "bisecting")
			// Records beyond the stable offset, once the new process has fenced the
			// killed one (its transaction aborted, the stable offset past it), are this
			// process's open transaction.
			end, stable := topicOffsets(t, adm, topic)
			if bisecting == midBisection && stable >= killedAt && end > stable {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		e.kill()
		end, stable := topicOffsets(t, adm, topic)
		killedAt = end
		t.Logf("kill %d (mid-bisection %v): %d records of the open transaction on the broker", i+1, midBisection, end-stable)
	}
	e.launch()
	time.Sleep(3 * time.Second)
	frozen := e.clock.Freeze()
	e.drain(5, frozen.Add(20*time.Minute), 3*time.Minute)
	e.stop()
	e.compare(frozen, e.clock.Start, 30*time.Minute)
}

// topicOffsets sums the end offsets and the last stable offsets of topic's partitions:
// the records between the two belong to a transaction still open (or, for a moment
// after a commit, one whose markers are being written), which read_committed consumers
// cannot see.
func topicOffsets(t *testing.T, adm *kadm.Client, topic string) (end, stable int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("end offsets of %s: %v", topic, err)
	}
	stables, err := adm.ListCommittedOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("stable offsets of %s: %v", topic, err)
	}
	ends.Each(func(o kadm.ListedOffset) {
		if s, ok := stables.Lookup(o.Topic, o.Partition); ok && o.Err == nil && s.Err == nil {
			end, stable = end+o.Offset, stable+s.Offset
		}
	})
	return end, stable
}
