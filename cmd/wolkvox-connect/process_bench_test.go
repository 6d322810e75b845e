package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/offsets"
	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/connectortest"
	"github.com/wolkvox-connect/wolkvox-connect/source/simulator"
	"github.com/wolkvox-connect/wolkvox-connect/source/wolkvox"
)

// BenchmarkWorkerProcess runs the real worker (wolkvox-connect run, a process of its
// own) catching up one diagram_13 window per connector: 59,999 rows for one connector
// and for twenty (twenty tokens, so they read at once), and 61,000 rows (bisected
// once) for one. It reports the worker process's own figures: its peak RSS (VmHWM in
// /proc/<pid>/status) and its CPU (getrusage of the child), start-up included. The
// in-process benchmarks of package source (BenchmarkWindow60k, BenchmarkCatchUp20)
// share their process with the benchmark's clients and the test binary, about 40 MiB
// idle; this one measures what a deployment sees. The simulator and Kafka (kfake, or
// the broker WOLKVOX_TEST_KAFKA names) run outside the worker.
//
// Each iteration is a fresh process with fresh topics; the clock is virtual and stands
// still (the simulator shares it), so every iteration reads the same window: the
// iteration ends when every connector has committed it, and the worker is stopped
// with SIGTERM. Metrics: worker-peak-RSS-MiB (the largest of the iterations),
// worker-cpu-s (per iteration) and rows/worker-cpu-s.
//
//	go test -run '^$' -bench WorkerProcess -benchtime 2x ./cmd/wolkvox-connect
func BenchmarkWorkerProcess(b *testing.B) {
	bin := buildBinary(b, "testclock")
	clusters := []struct {
		name  string
		seeds func(testing.TB) []string
	}{
		{kafkatest.NameFake, func(tb testing.TB) []string { return kafkatest.Fake(tb) }},
		{kafkatest.NameReal, kafkatest.Real},
	}
	for _, cl := range clusters {
		b.Run(cl.name, func(b *testing.B) {
			seeds := cl.seeds(b)
			for _, tc := range []struct{ connectors, rows int }{{1, 59_999}, {1, 61_000}, {20, 59_999}} {
				b.Run(fmt.Sprintf("connectors=%d/rows=%d", tc.connectors, tc.rows), func(b *testing.B) {
					benchWorkerProcess(b, bin, seeds, tc.connectors, tc.rows)
				})
			}
		})
	}
}

func benchWorkerProcess(b *testing.B, bin string, seeds []string, connectors, rows int) {
	start := time.Date(2026, 11, 20, 9, 0, 0, 0, bogotaLoc())
	clock := source.FastClock{Origin: time.Now(), Start: start.Add(time.Hour), Speed: 1e-9}
	simOpts := []simulator.Opt{simulator.Seed(11), simulator.WithClock(clock), simulator.Location(bogotaLoc()),
		simulator.Reports("diagram_13"), simulator.DefaultRowsPerMinute(0), simulator.DailyQuota(1_000_000),
		simulator.LateRows(0, time.Minute), simulator.Edits(0, time.Minute),
		// Two bursts on either side of the window's midpoint, so that more than 60,000
		// rows cost exactly one bisection.
		simulator.Bursts(simulator.Burst{Report: "diagram_13", Minute: start.Add(10 * time.Minute), Rows: rows / 2},
			simulator.Burst{Report: "diagram_13", Minute: start.Add(40 * time.Minute), Rows: rows - rows/2})}
	for i := range connectors {
		simOpts = append(simOpts, simulator.Token(fmt.Sprint("tok-", i), simulator.DefaultServer))
	}
	sim := connectortest.StartSimulator(b, simOpts...)
	// Each connector reads its window in one call, or in three when the answer holds the
	// API's row cap (the whole window, then its two halves): any other count means the
	// iteration did not measure the window it names.
	callsPerWindow := int64(1)
	if rows >= wolkvox.MaxRows {
		callsPerWindow = 3
	}

	var peak int64
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		prefix := kafkatest.Topic(b)
		var cfg strings.Builder
		fmt.Fprintf(&cfg, `kafka: {brokers: [%s]}
topics: {template: "%s.{connector}.{report}", offsets: %s.offsets, dead_letter: %s.dlq}
rest: {address: "127.0.0.1:0"}
log: {level: warn}
clock: {start: %q, origin: %q, speed: %g}
connectors:
`, strings.Join(seeds, ", "), prefix, prefix, prefix, clock.Start.Format(time.RFC3339), clock.Origin.Format(time.RFC3339Nano), clock.Speed)
		for i := range connectors {
			fmt.Fprintf(&cfg, `  - {name: c%d, server: %q, token: tok-%d, time_zone: America/Bogota, daily_quota: 1000000, base_url: %s,
     reports: [{api: diagram_13, start: %q}]}
`, i, simulator.DefaultServer, i, sim.URL(), start.Format(time.RFC3339))
		}
		path := filepath.Join(b.TempDir(), "config.yaml")
		if err := os.WriteFile(path, []byte(cfg.String()), 0o600); err != nil {
			b.Fatal(err)
		}
		logs := &connectortest.Buffer{}
		cmd := exec.Command(bin, "run", "--config", path)
		cmd.Stdout, cmd.Stderr = logs, logs
		cmd.Env = append(os.Environ(), "WOLKVOX_CONNECT_CONFIG=")
		callsBefore := simulatorCalls(sim)
		b.StartTimer()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		waitErr := waitCommitted(seeds, prefix+".offsets", connectors, start)
		b.StopTimer()
		// The child's own peak, read while it lives: getrusage's ru_maxrss would say the
		// benchmark process's, since Linux counts the memory of the process a child was
		// forked from until it execs.
		hwm, err := processPeakRSS(cmd.Process.Pid)
		if err == nil {
			peak = max(peak, hwm)
		} else if waitErr == nil {
			waitErr = err
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil && waitErr == nil {
			waitErr = fmt.Errorf("the worker: %w", err)
		}
		if calls := simulatorCalls(sim) - callsBefore; waitErr == nil && calls != int64(connectors)*callsPerWindow {
			waitErr = fmt.Errorf("%d calls for %d connectors, want %d each", calls, connectors, callsPerWindow)
		}
		if waitErr != nil {
			b.Fatalf("%v; worker logs:\n%s", waitErr, connectortest.Tail(logs.String(), 8<<10))
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		cpu += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(float64(peak)/(1<<20), "worker-peak-RSS-MiB")
	b.ReportMetric(cpu.Seconds()/n, "worker-cpu-s")
	b.ReportMetric(float64(connectors*rows)*n/cpu.Seconds(), "rows/worker-cpu-s")
}

// simulatorCalls is how many calls the simulator's tokens have answered.
func simulatorCalls(sim *simulator.Server) int64 {
	var n int64
	for _, st := range sim.Stats().Tokens {
		n += st.Calls
	}
	return n
}

// waitCommitted waits until each of the connectors has committed a window past from,
// as the offsets topic says (which the worker creates: until then it cannot be read).
func waitCommitted(seeds []string, offsetsTopic string, connectors int, from time.Time) error {
	store, err := offsets.NewStore(offsetsTopic, offsets.Seeds(seeds...))
	if err != nil {
		return err
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		entries, err := store.List(ctx)
		cancel()
		done := map[string]bool{}
		for _, e := range entries {
			if e.Err == nil && e.Position.WindowEnd.After(from) {
				done[e.Key.Connector] = true
			}
		}
		if len(done) == connectors {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d connectors committed their window within 5 minutes (last read: %v)", len(done), connectors, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// processPeakRSS is process pid's peak resident set size in bytes (VmHWM in
// /proc/<pid>/status).
func processPeakRSS(pid int) (int64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(status)) {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmHWM:" && f[2] == "kB" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}
