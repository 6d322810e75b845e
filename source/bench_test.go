// Getrusage and /proc/self are Linux's; the benchmark's figures are only meaningful there.

//go:build linux

package source_test

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wolkvox-connect/wolkvox-connect/offsets"
	"github.com/wolkvox-connect/wolkvox-connect/schemas"
	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
	"github.com/wolkvox-connect/wolkvox-connect/sink"
	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/connectortest"
	"github.com/wolkvox-connect/wolkvox-connect/source/simulator"
	"github.com/wolkvox-connect/wolkvox-connect/source/wolkvox"
)

// benchReport is the seed detail report the benchmark reads: nine fields, a three-field
// key, several rows per interaction.
const benchReport = "diagram_13"

// benchStart is where the benchmark's report starts; the window read is
// [benchStart, benchStart+59m], the settle delay keeping the last minute out.
var benchStart = time.Date(2026, 11, 20, 9, 0, 0, 0, bogota)

// BenchmarkWindow60k measures one window of about 60,000 rows end to end: the HTTP call
// and its streaming decode, dedupe, conversion, Avro encoding and the one Kafka
// transaction that the rows stream into and that commits them with the report's offset.
// Sub-benchmarks, on kfake and on the broker named by WOLKVOX_TEST_KAFKA (skipped when
// unset): rows=59999 (one call, just under the API's 60,000-row cap, so not bisected),
// rows=61000 (the first answer holds the cap and is bisected once: three calls), and
// rows=59999/answer=256MB (the same rows, each carrying an extra 4 KiB column, so the
// answer is a 256 MB body of wide rows).
//
// Choices, so that the figures mean one thing:
//   - Each iteration is a fresh connector with fresh topics, offsets topic and
//     transactional ID, so its dedupe state is empty and every row is new. Its setup
//     (fencing, loading offsets, creating topics) runs with the timer stopped: the
//     connector starts paused and the timer starts with Resume; it stops when the
//     connector's observer reports the committed window. The topics are deleted after.
//   - The clock is a FastClock a billion times slower than real time, shared with the
//     simulator: virtual time stands still, so every iteration plans the same window.
//     The simulator answers the first (untimed) window live; its answers are recorded
//     to files and replayed byte for byte to the timed ones, and the simulator is
//     closed: the timings and the peak RSS hold the connector's work, not the
//     simulator's (BenchmarkDetailDay in source/simulator measures that), and the
//     answers are served from the page cache, as from another host. The untimed
//     window is also the correctness check: its events are read back (read_committed)
//     and compared with the simulator's ground truth.
//   - The rows are two bursts, at 09:10 and 09:40, on a report whose rate is otherwise
//     zero, without late rows or edits: the window's midpoint (09:29:30) separates them,
//     so 61,000 rows cost exactly one bisection.
//   - The ceiling, in the same run against the same broker, after the timed windows:
//     the last window's events as committed (same keys, values and headers, so the same
//     sizes and compression), pre-built, produced into one transaction and committed
//     with an offset record, as many times as there were windows, by a writer whose
//     buffer holds the whole window (nothing waits for room).
//
// Metrics besides ns/op, B/op and allocs/op: MB/s (the API's JSON read), rows/s (rows
// committed per second of timed wall time), cpu-s/window (user+sys CPU of the whole
// process over the timed part, from getrusage(RUSAGE_SELF), per window), rows/cpu-s,
// allocs/row, peak-RSS-MiB (VmHWM from /proc/self/status, reset with
// /proc/self/clear_refs once the setup is done, so it covers the timed windows with
// their setup; where the kernel refuses the reset it is the process's peak so far, and
// the benchmark logs so), idle-RSS-MiB (the RSS at that reset: the test binary and the
// benchmark's own clients, before any window), ceiling-rows/s and %-of-ceiling (rows/s
// over ceiling-rows/s).
// CPU and RSS are process-wide: with kfake they include the in-process broker's work
// and the records it holds; against the real broker they do not include the broker.
func BenchmarkWindow60k(b *testing.B) {
	cases := []struct {
		name         string
		rows, splits int
		answerBytes  int64
	}{
		{name: "rows=59999", rows: 59_999},
		{name: "rows=61000", rows: 61_000, splits: 1},
		{name: "rows=59999/answer=256MB", rows: 59_999, answerBytes: 256 << 20},
	}
	for _, cl := range benchClusters() {
		b.Run(cl.name, func(b *testing.B) {
			for _, tc := range cases {
				b.Run(tc.name, func(b *testing.B) {
					// A kfake cluster per case, so one case's records do not weigh on the
					// next one's peak RSS.
					benchWindow(b, cl.seeds(b), tc.rows, tc.splits, tc.answerBytes)
				})
			}
		})
	}
}

// benchClusters are the Kafka clusters the benchmarks run against.
func benchClusters() []struct {
	name  string
	seeds func(testing.TB) []string
} {
	return []struct {
		name  string
		seeds func(testing.TB) []string
	}{
		{kafkatest.NameFake, func(tb testing.TB) []string { return kafkatest.Fake(tb) }},
		{kafkatest.NameReal, kafkatest.Real},
	}
}

// benchSetup is a recorded window: the replayed answers, and how to build a connector
// that reads them.
type benchSetup struct {
	rp    *replay
	mk    func(source.Observer, ...source.Opt) (*source.Connector, error)
	admin *kadm.Client
}

// recordWindow runs the untimed first window against the live simulator, recording its
// answers, checks its events against the ground truth, widens the answers to
// answerBytes if set, and closes the simulator. It expects rows rows after splits
// bisections.
func recordWindow(b *testing.B, seeds []string, rows, splits int, answerBytes int64) *benchSetup {
	clock := source.FastClock{Origin: time.Now(), Start: benchStart.Add(time.Hour), Speed: 1e-9}
	first := rows / 2
	sim, err := simulator.New(simulator.Seed(11), simulator.WithClock(clock), simulator.Location(bogota),
		simulator.Reports(benchReport), simulator.DefaultRowsPerMinute(0),
		simulator.LateRows(0, time.Minute), simulator.Edits(0, time.Minute), simulator.DailyQuota(1_000_000),
		simulator.Bursts(
			simulator.Burst{Report: benchReport, Minute: benchStart.Add(10 * time.Minute), Rows: first},
			simulator.Burst{Report: benchReport, Minute: benchStart.Add(40 * time.Minute), Rows: rows - first},
		))
	if err != nil {
		b.Fatal(err)
	}
	truth, err := sim.Truth(simulator.TruthQuery{Report: benchReport, From: benchStart, To: benchStart.Add(time.Hour), AsOf: clock.Now()})
	if err != nil {
		b.Fatal(err)
	}
	if len(truth) != rows {
		b.Fatalf("the simulator holds %d rows in the window, want %d", len(truth), rows)
	}
	rp := &replay{next: sim.Handler(), dir: b.TempDir(), answers: map[string]*recorded{}}
	srv := httptest.NewServer(rp)
	b.Cleanup(srv.Close)
	// One encoder for every connector: it is safe for concurrent use, and a long-running
	// worker builds it once, not per window.
	enc, err := schemas.NewEncoder()
	if err != nil {
		b.Fatal(err)
	}
	setup := &benchSetup{rp: rp, admin: kadm.NewClient(kafkatest.Client(b, seeds))}
	setup.mk = func(obs source.Observer, extra ...source.Opt) (*source.Connector, error) {
		prefix := kafkatest.Topic(b)
		cfg := source.Config{
			Name: prefix, Server: simulator.DefaultServer, Token: source.NewSecret(simulator.DefaultToken), Location: bogota,
			DailyQuota: 1_000_000, BaseURL: srv.URL,
			Reports: []source.ReportConfig{{API: benchReport, Start: benchStart}},
		}
		// Logs are discarded: a handler's cost is not the connector's.
		return source.New(cfg, append([]source.Opt{source.WriteTo(testDestination(seeds, prefix)), source.WithClock(clock), source.Encoder(enc),
			source.SourceOpts(wolkvox.Backoff(10*time.Millisecond, 100*time.Millisecond, time.Minute)),
			source.WithObserver(obs), source.Logger(slog.New(slog.DiscardHandler))}, extra...)...)
	}
	ctx := b.Context()

	rp.setRecording(true)
	w, err := startPaused(ctx, setup.mk)
	if err != nil {
		b.Fatal(err)
	}
	w.c.Resume()
	err = w.wait()
	if err == nil {
		err = w.finish(rows, splits)
	}
	if err != nil {
		w.stop()
		b.Fatal(err)
	}
	if err := waitStable(ctx, setup.admin, w.topic); err != nil {
		b.Fatal(err)
	}
	checkTruth(b, seeds, w.topic, truth)
	if err := w.deleteTopics(ctx, setup.admin); err != nil {
		b.Fatal(err)
	}
	rp.setRecording(false)
	rp.next = nil
	if err := sim.Close(); err != nil {
		b.Fatal(err)
	}
	if answerBytes > 0 {
		if err := rp.widen(answerBytes, rows); err != nil {
			b.Fatal(err)
		}
	}
	return setup
}

// benchWindow runs the benchmark for one cluster and one row count: it expects every
// window to deliver rows rows after splits bisections.
func benchWindow(b *testing.B, seeds []string, rows, splits int, answerBytes int64) {
	setup := recordWindow(b, seeds, rows, splits, answerBytes)
	ctx := b.Context()
	// MB/s is the API's JSON read per second: every timed window reads what was recorded.
	b.SetBytes(setup.rp.size())

	// The peak counts from here: the first window's read-back and the live simulator are
	// the benchmark's, not the connector's.
	baseline := resetPeak(b)
	b.ReportAllocs()
	var cpu, brokerCPUTime, wall time.Duration
	var mallocs uint64
	readBroker, err := brokerCPU(seeds[0])
	if err != nil {
		b.Fatal(err)
	}
	var last *window
	for b.Loop() {
		b.StopTimer()
		if last != nil {
			if err := last.deleteTopics(ctx, setup.admin); err != nil {
				b.Fatal(err)
			}
		}
		w, err := startPaused(ctx, setup.mk)
		if err != nil {
			b.Fatal(err)
		}
		m0 := mallocCount()
		before, err := cpuTime()
		if err != nil {
			b.Fatal(err)
		}
		brokerBefore, err := brokerTime(readBroker)
		if err != nil {
			b.Fatal(err)
		}
		began := time.Now()
		b.StartTimer()
		w.c.Resume()
		err = w.wait()
		b.StopTimer()
		wall += time.Since(began)
		after, cpuErr := cpuTime()
		brokerAfter, brokerErr := brokerTime(readBroker)
		mallocs += mallocCount() - m0
		err = cmp.Or(err, cpuErr, brokerErr)
		brokerCPUTime += brokerAfter - brokerBefore
		if err == nil {
			err = w.finish(rows, splits)
		}
		if err != nil {
			w.stop()
			b.Fatal(err)
		}
		cpu += after - before
		if n := setup.rp.misses.Load(); n > 0 {
			b.Fatalf("%d calls missed the recorded answers: the timed windows differ from the first", n)
		}
		last = w
		b.StartTimer()
	}
	hwm, err := peakRSS()
	if err != nil {
		b.Fatal(err)
	}
	n := float64(b.N)
	rowsPerSec := float64(rows) * n / wall.Seconds()
	b.ReportMetric(rowsPerSec, "rows/s")
	b.ReportMetric(cpu.Seconds()/n, "cpu-s/window")
	b.ReportMetric(float64(rows)*n/cpu.Seconds(), "rows/cpu-s")
	b.ReportMetric(float64(mallocs)/(float64(rows)*n), "allocs/row")
	b.ReportMetric(float64(hwm)/(1<<20), "peak-RSS-MiB")
	b.ReportMetric(float64(baseline)/(1<<20), "idle-RSS-MiB")

	if err := waitStable(ctx, setup.admin, last.topic); err != nil {
		b.Fatal(err)
	}
	ceiling := commitCeiling(b, seeds, readTopic(b, seeds, last.topic), b.N, readBroker)
	if err := last.deleteTopics(ctx, setup.admin); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(ceiling.rowsPerSec, "ceiling-rows/s")
	b.ReportMetric(100*rowsPerSec/ceiling.rowsPerSec, "%-of-ceiling")
	b.ReportMetric(ceiling.cpu.Seconds()/n, "ceiling-cpu-s/window")
	if readBroker != nil {
		b.ReportMetric(brokerCPUTime.Seconds()/n, "broker-cpu-s/window")
		b.ReportMetric(ceiling.brokerCPU.Seconds()/n, "ceiling-broker-cpu-s/window")
	}
	// The most of the ceiling this much CPU allows: even with every core busy for the
	// whole of every window, a window cannot take less wall time than its CPU time (the
	// connector's and the broker's) over the cores.
	fastest := (cpu + brokerCPUTime).Seconds() / n / float64(runtime.NumCPU())
	b.ReportMetric(100*float64(rows)/fastest/ceiling.rowsPerSec, "max-%-of-ceiling")
}

// brokerTime is read's figure, or zero without a broker process to read.
func brokerTime(read func() (time.Duration, error)) (time.Duration, error) {
	if read == nil {
		return 0, nil
	}
	return read()
}

// ceilingFigures are commitCeiling's: records per second of wall time, and the CPU
// time the commits took in this process and in the broker (zero for kfake, whose work
// is this process's).
type ceilingFigures struct {
	rowsPerSec     float64
	cpu, brokerCPU time.Duration
}

// commitCeiling produces recs (pre-built, as committed) into one transaction with an
// offset record and commits it, times times, each to fresh topics: what the Kafka side
// alone allows. readBroker reads the broker's CPU time (nil: none to read).
func commitCeiling(b *testing.B, seeds []string, recs []*kgo.Record, times int, readBroker func() (time.Duration, error)) ceilingFigures {
	ctx := b.Context()
	var wall time.Duration
	var fig ceilingFigures
	for range times {
		prefix := kafkatest.Topic(b)
		// Room for the whole window in the producer's buffer: nothing waits for room or
		// goes through the spool, as with a producer of unbounded memory.
		w, err := sink.NewWriter(sink.Seeds(seeds...), sink.TransactionalID(prefix), sink.OffsetsTopic(prefix+".offsets"),
			sink.DeadLetterTopic(prefix+".dlq"), sink.MaxBuffered(len(recs)+1, 1<<30))
		if err != nil {
			b.Fatal(err)
		}
		topic := prefix + ".events"
		err = w.Open(ctx)
		if err == nil {
			err = w.EnsureTopics(ctx, topic)
		}
		if err == nil {
			err = offsets.EnsureTopic(ctx, w.Admin(), prefix+".offsets", 1, -1)
		}
		if err != nil {
			b.Fatal(err)
		}
		// Key and value sliced to their length: read back, they are slices of the
		// fetched batch, which the budget would count whole for every record.
		batch := make([]*kgo.Record, len(recs))
		for i, r := range recs {
			batch[i] = &kgo.Record{Topic: topic, Key: r.Key[:len(r.Key):len(r.Key)], Value: r.Value[:len(r.Value):len(r.Value)], Headers: r.Headers}
		}
		off, err := offsets.Record(prefix+".offsets", offsets.Key{Connector: prefix, Server: "0040", Report: benchReport},
			&offsets.Position{WindowEnd: benchStart})
		if err != nil {
			b.Fatal(err)
		}
		cpuBefore, err := cpuTime()
		if err != nil {
			b.Fatal(err)
		}
		brokerBefore, err := brokerTime(readBroker)
		if err != nil {
			b.Fatal(err)
		}
		began := time.Now()
		txn, err := w.Begin(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range batch {
			if err := txn.Produce(r); err != nil {
				b.Fatal(err)
			}
		}
		spooled := txn.Spooled()
		if err := txn.Commit(off); err != nil {
			b.Fatal(err)
		}
		wall += time.Since(began)
		if spooled > 0 {
			b.Fatalf("the ceiling's transaction spooled %d records: its producer was meant to hold the whole window", spooled)
		}
		cpuAfter, err := cpuTime()
		if err != nil {
			b.Fatal(err)
		}
		brokerAfter, err := brokerTime(readBroker)
		if err != nil {
			b.Fatal(err)
		}
		fig.cpu += cpuAfter - cpuBefore
		fig.brokerCPU += brokerAfter - brokerBefore
		if err := w.Close(ctx); err != nil {
			b.Fatal(err)
		}
		if _, err := kadm.NewClient(kafkatest.Client(b, seeds)).DeleteTopics(ctx, topic, prefix+".offsets", prefix+".dlq"); err != nil {
			b.Fatal(err)
		}
	}
	fig.rowsPerSec = float64(len(recs)) * float64(times) / wall.Seconds()
	return fig
}

// BenchmarkCatchUp20 is twenty connectors (twenty tokens) coming back from an outage at
// once, each with one 59,999-row window to catch up on: they read and commit at the same
// time in one process. It reports the process's peak RSS over the catch-up (see
// BenchmarkWindow60k for how it is measured) and the rows committed per second of wall
// time, all connectors together.
func BenchmarkCatchUp20(b *testing.B) {
	const connectors, rows = 20, 59_999
	for _, cl := range benchClusters() {
		b.Run(cl.name, func(b *testing.B) {
			seeds := cl.seeds(b)
			setup := recordWindow(b, seeds, rows, 0, 0)
			ctx := b.Context()
			baseline := resetPeak(b)
			var wall time.Duration
			for b.Loop() {
				b.StopTimer()
				// One budget for the buffered records of all twenty, as a Worker gives its
				// connectors.
				memory := source.ProducerMemory(sink.NewBudget(benchProducerMemory()))
				ws := make([]*window, connectors)
				for i := range ws {
					w, err := startPaused(ctx, setup.mk, memory)
					if err != nil {
						b.Fatal(err)
					}
					ws[i] = w
				}
				began := time.Now()
				b.StartTimer()
				for _, w := range ws {
					w.c.Resume()
				}
				for _, w := range ws {
					if err := w.wait(); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				wall += time.Since(began)
				for _, w := range ws {
					if err := w.finish(rows, 0); err != nil {
						b.Fatal(err)
					}
					if err := w.deleteTopics(ctx, setup.admin); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
			}
			hwm, err := peakRSS()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(hwm)/(1<<20), "peak-RSS-MiB")
			b.ReportMetric(float64(baseline)/(1<<20), "idle-RSS-MiB")
			b.ReportMetric(float64(connectors*rows)*float64(b.N)/wall.Seconds(), "rows/s")
		})
	}
}

// benchProducerMemory is the budget BenchmarkCatchUp20's connectors share: the
// Worker's default, or WOLKVOX_BENCH_PRODUCER_MEMORY MiB (to compare budgets).
func benchProducerMemory() int64 {
	if v, _ := strconv.Atoi(os.Getenv("WOLKVOX_BENCH_PRODUCER_MEMORY")); v > 0 {
		return int64(v) << 20
	}
	return source.DefaultProducerMemory
}

// resetPeak returns the heap the setup left to the OS, resets the peak RSS to the
// current RSS and returns that: the process idle, before the measured work (the test
// binary, the Kafka and HTTP clients, the recorded answers' bookkeeping).
func resetPeak(b *testing.B) int64 {
	debug.FreeOSMemory()
	if err := resetPeakRSS(); err != nil {
		b.Logf("peak RSS is the process's since it started: %v", err)
	}
	rss, err := currentRSS()
	if err != nil {
		b.Fatal(err)
	}
	return rss
}

// mallocCount is the process's heap allocations so far.
func mallocCount() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}

// window is one running connector of the benchmark.
type window struct {
	c         *source.Connector
	topic     string
	cancel    context.CancelFunc
	runErr    chan error
	committed chan struct{}
	stopOnce  sync.Once
	stopErr   error
}

// startPaused builds a connector, starts it paused and returns once Run has finished its
// setup (fenced, loaded offsets, created topics) and waits for Resume: Status shows the
// report's cursor only once the offsets are loaded, and the paused loop is the next step.
func startPaused(ctx context.Context, mk func(source.Observer, ...source.Opt) (*source.Connector, error), extra ...source.Opt) (*window, error) {
	w := &window{runErr: make(chan error, 1), committed: make(chan struct{}, 1)}
	c, err := mk(commitSignal(w.committed), extra...)
	if err != nil {
		return nil, err
	}
	w.c = c
	for _, t := range c.Topics() {
		w.topic = t
	}
	ctx, w.cancel = context.WithCancel(ctx)
	c.Pause()
	go func() { w.runErr <- c.Run(ctx) }()
	// The deadline only keeps a broken setup from hanging the benchmark.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		select {
		case err := <-w.runErr:
			w.cancel()
			return nil, fmt.Errorf("Run ended during setup: %w", err)
		default:
		}
		if st := c.Status(); len(st.Reports) == 1 && !st.Reports[0].Cursor.IsZero() {
			return w, nil
		}
		if time.Now().After(deadline) {
			w.stop()
			return nil, fmt.Errorf("the connector's setup did not end: %+v", c.Status())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// wait returns once the connector has committed a window, or with the reason it will not.
func (w *window) wait() error {
	// Generous: the deadline only keeps a stuck connector from hanging the benchmark.
	timer := time.NewTimer(5 * time.Minute)
	defer timer.Stop()
	select {
	case <-w.committed:
		return nil
	case err := <-w.runErr:
		w.runErr <- err // for stop
		return fmt.Errorf("Run ended before committing a window: %v; status %+v", err, w.c.Status())
	case <-timer.C:
		return fmt.Errorf("no window committed: %+v", w.c.Status())
	}
}

// stop ends Run and returns its error; it may be called more than once.
func (w *window) stop() error {
	w.stopOnce.Do(func() {
		w.cancel()
		w.stopErr = <-w.runErr
	})
	return w.stopErr
}

// finish stops the connector and checks that it committed exactly one window of rows
// rows in one transaction, after splits bisections and no retried call.
func (w *window) finish(rows, splits int) error {
	if err := w.stop(); err != nil {
		return fmt.Errorf("Run: %w", err)
	}
	st := w.c.Status()
	r := st.Reports[0]
	got := []int64{r.Windows, r.Rows, r.Splits, r.Calls, r.Commits, r.DeadLetters, r.Duplicates}
	want := []int64{1, int64(rows), int64(splits), int64(1 + 2*splits), 1, 0, 0}
	if !slices.Equal(got, want) {
		return fmt.Errorf("windows, rows, splits, calls, commits, dead letters, duplicates = %v, want %v (status %+v)", got, want, r)
	}
	return nil
}

// deleteTopics deletes the window's report, offsets and dead-letter topics, so that the
// broker does not accumulate a window's worth of records per iteration.
func (w *window) deleteTopics(ctx context.Context, admin *kadm.Client) error {
	name := w.c.Name()
	resp, err := admin.DeleteTopics(ctx, w.topic, name+".offsets", name+".dlq")
	if err != nil {
		return fmt.Errorf("deleting the window's topics: %w", err)
	}
	for _, r := range resp.Sorted() {
		// The dead-letter topic is created up front, so every topic should exist.
		if r.Err != nil {
			return fmt.Errorf("deleting topic %s: %w", r.Topic, r.Err)
		}
	}
	return nil
}

// commitSignal is the connector's observer: it signals each committed window. The
// connector calls it from its own goroutine, so it never blocks.
type commitSignal chan struct{}

func (s commitSignal) Window(string, string, source.WindowStats) {
	select {
	case s <- struct{}{}:
	default:
	}
}

// Call, Split and Transaction are counted in the connector's Status, which finish checks.
func (commitSignal) Call(string, string, wolkvox.Call) {}
func (commitSignal) Split(string, string)              {}
func (commitSignal) Transaction(string, string, bool)  {}

// checkTruth reads topic back (read_committed) and compares it with the simulator's
// ground truth: every row once, nothing else.
func checkTruth(b *testing.B, seeds []string, topic string, truth []simulator.TruthRow) {
	b.Helper()
	rep, ok := catalog.Lookup(benchReport)
	if !ok {
		b.Fatalf("%s is not in the catalog", benchReport)
	}
	events := connectortest.ReadAll(b, seeds, topic)[topic]
	exp := connectortest.Expect(rep, truth, time.Hour, bogota, time.Time{}, 0)
	if diffs := connectortest.Compare(events, exp); len(diffs) > 0 {
		b.Fatalf("%s: %d differences from the ground truth, the first: %s", topic, len(diffs), strings.Join(diffs[:min(5, len(diffs))], "; "))
	}
	if len(events) != len(truth) {
		b.Fatalf("%s holds %d events, want %d", topic, len(events), len(truth))
	}
}

// waitStable waits until no partition of topic has an open transaction: its last stable
// offset equals its end offset. A real broker writes the commit markers after EndTxn
// returns, and until they land a read_committed reader (connectortest.ReadAll) sees a
// last stable offset of 0 and reads nothing.
func waitStable(ctx context.Context, admin *kadm.Client, topic string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		stable, err := admin.ListCommittedOffsets(ctx, topic)
		if err != nil {
			return fmt.Errorf("last stable offsets of %s: %w", topic, err)
		}
		end, err := admin.ListEndOffsets(ctx, topic)
		if err != nil {
			return fmt.Errorf("end offsets of %s: %w", topic, err)
		}
		open := false
		end.Each(func(o kadm.ListedOffset) {
			if s, ok := stable.Lookup(o.Topic, o.Partition); !ok || s.Offset != o.Offset {
				open = true
			}
		})
		if !open {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s still has an open transaction: %w", topic, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// replay serves the simulator's answers: while recording, it passes calls on and keeps
// each answer by request URI, its body in a file; afterwards it replays them from the
// files, and counts the calls it had to pass on (the timed windows must make none).
type replay struct {
	next   http.Handler
	dir    string
	misses atomic.Int64

	mu        sync.Mutex
	recording bool
	answers   map[string]*recorded
}

type recorded struct {
	status int
	header http.Header
	path   string
	size   int64
}

func (rp *replay) setRecording(on bool) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	rp.recording = on
}

// size is the total size of the recorded bodies.
func (rp *replay) size() int64 {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return rp.sizeLocked()
}

func (rp *replay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.URL.RequestURI()
	rp.mu.Lock()
	a, ok := rp.answers[key]
	recording := rp.recording
	rp.mu.Unlock()
	if !ok {
		if !recording {
			rp.misses.Add(1)
			http.Error(w, "not recorded", http.StatusInternalServerError)
			return
		}
		rec := httptest.NewRecorder()
		rp.next.ServeHTTP(rec, r)
		header := rec.Header().Clone()
		header.Del("Content-Length") // widen may change the body
		a = &recorded{status: rec.Code, header: header,
			path: filepath.Join(rp.dir, strconv.Itoa(len(rp.answers))), size: int64(rec.Body.Len())}
		if err := os.WriteFile(a.path, rec.Body.Bytes(), 0o600); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		rp.mu.Lock()
		rp.answers[key] = a
		rp.mu.Unlock()
	}
	f, err := os.Open(a.path)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer f.Close()
	maps.Copy(w.Header(), a.header)
	w.WriteHeader(a.status)
	_, _ = io.Copy(w, f) // a client that hung up is the connector's to report
}

// widen rewrites every recorded answer that holds rows so that each row carries one more
// column (text the schema does not know, so it lands in wv_extra) and the answers
// together reach about total bytes: rows of several KiB, as wide reports send.
func (rp *replay) widen(total int64, rows int) error {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	pad := max(0, (total-rp.sizeLocked())/int64(rows)) // per row
	for _, a := range rp.answers {
		body, err := os.ReadFile(a.path)
		if err != nil {
			return err
		}
		var env map[string]json.RawMessage
		if err := json.Unmarshal(body, &env); err != nil {
			return fmt.Errorf("widening %s: %w", a.path, err)
		}
		var data []map[string]any
		if err := json.Unmarshal(env["data"], &data); err != nil || len(data) == 0 {
			continue // no rows to widen
		}
		f, err := os.Create(a.path)
		if err != nil {
			return err
		}
		bw := bufio.NewWriterSize(f, 1<<20)
		bw.WriteString(`{"code":` + string(env["code"]) + `,"error":null,"msg":` + string(env["msg"]) + `,"data":[`)
		note := make([]byte, pad/2)
		for i, row := range data {
			// Text that varies from row to row, as free text does: hex of a counter's hash.
			for j := range note {
				note[j] = byte(i*31 + j*7)
			}
			row["notes"] = hex.EncodeToString(note)
			line, err := json.Marshal(row)
			if err != nil {
				return err
			}
			if i > 0 {
				bw.WriteByte(',')
			}
			bw.Write(line)
		}
		bw.WriteString("]}")
		if err := bw.Flush(); err != nil {
			return err
		}
		st, err := f.Stat()
		if err != nil {
			return err
		}
		a.size = st.Size()
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

func (rp *replay) sizeLocked() int64 {
	var n int64
	for _, a := range rp.answers {
		n += a.size
	}
	return n
}

// cpuTime is the user plus system CPU time the process has used, all threads included.
func cpuTime() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// resetPeakRSS sets the process's peak RSS (VmHWM) to its current RSS (Linux 4.0+; see
// proc(5), clear_refs).
func resetPeakRSS() error {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return fmt.Errorf("resetting the peak RSS: %w", err)
	}
	return nil
}

// peakRSS is the process's peak resident set size in bytes (VmHWM in /proc/self/status).
func peakRSS() (int64, error) { return procStatus("VmHWM") }

// currentRSS is the process's resident set size in bytes (VmRSS in /proc/self/status).
func currentRSS() (int64, error) { return procStatus("VmRSS") }

// procStatus reads a size in kB from /proc/self/status ("VmHWM:	  123456 kB").
func procStatus(field string) (int64, error) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("%s: %w", field, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || f[0] != field+":" || f[2] != "kB" {
			continue
		}
		kb, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s %q: %w", field, f[1], err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("no %s line in /proc/self/status", field)
}
