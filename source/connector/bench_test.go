// Getrusage and /proc/self are Linux's; the benchmark's figures are only meaningful there.

//go:build linux

package connector_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/wolkvox-connect/wolkvox-connect/schemas"
	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/catalog"
	"github.com/wolkvox-connect/wolkvox-connect/source/connector"
	"github.com/wolkvox-connect/wolkvox-connect/source/connector/connectortest"
	"github.com/wolkvox-connect/wolkvox-connect/source/simulator"
)

// benchReport is the seed detail report the benchmark reads: nine fields, a three-field
// key, several rows per interaction.
const benchReport = "diagram_13"

// benchStart is where the benchmark's report starts; the window read is
// [benchStart, benchStart+59m], the settle delay keeping the last minute out.
var benchStart = time.Date(2026, 11, 20, 9, 0, 0, 0, bogota)

// BenchmarkWindow60k measures one window of about 60,000 rows end to end: the HTTP call
// and its streaming decode, dedupe, conversion, Avro encoding and the one Kafka
// transaction that commits the events with the report's offset. Sub-benchmarks:
// kfake/rows=59999 (one call, just under the API's 60,000-row cap, so not bisected),
// kfake/rows=61000 (the first answer holds the cap and is bisected once: three calls),
// and the same against the broker named by WOLKVOX_TEST_KAFKA (skipped when unset).
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
//     and replayed byte for byte to the timed ones, so the timings hold the connector's
//     work, not the simulator's generation of 60,000 rows (BenchmarkDetailDay in
//     source/simulator measures that). The untimed window is also the correctness
//     check: its events are read back (read_committed) and compared with the
//     simulator's ground truth.
//   - The rows are two bursts, at 09:10 and 09:40, on a report whose rate is otherwise
//     zero, without late rows or edits: any bisection point of the window separates them,
//     so 61,000 rows cost exactly one bisection.
//
// Metrics besides ns/op: rows/s (rows committed per second of timed wall time),
// cpu-s/window (user+sys CPU of the whole process over the timed part, from
// getrusage(RUSAGE_SELF), per window) and peak-RSS-MiB (VmHWM from /proc/self/status,
// reset with /proc/self/clear_refs at the start of each sub-benchmark when the kernel
// allows it, otherwise the process's peak so far). Both are process-wide: with kfake
// they include the in-process broker's work and the records it holds; against the real
// broker they do not include the broker.
func BenchmarkWindow60k(b *testing.B) {
	clusters := []struct {
		name  string
		seeds func(testing.TB) []string
	}{
		{kafkatest.NameFake, func(tb testing.TB) []string { return kafkatest.Fake(tb) }},
		{kafkatest.NameReal, kafkatest.Real},
	}
	cases := []struct {
		rows, splits int
	}{
		{rows: 59_999, splits: 0},
		{rows: 61_000, splits: 1},
	}
	for _, cl := range clusters {
		b.Run(cl.name, func(b *testing.B) {
			for _, tc := range cases {
				b.Run("rows="+strconv.Itoa(tc.rows), func(b *testing.B) {
					// A kfake cluster per case, so one case's records do not weigh on the
					// next one's peak RSS.
					benchWindow(b, cl.seeds(b), tc.rows, tc.splits)
				})
			}
		})
	}
}

// benchWindow runs the benchmark for one cluster and one row count.
func benchWindow(b *testing.B, seeds []string, rows, splits int) {
	clock := connector.FastClock{Origin: time.Now(), Start: benchStart.Add(time.Hour), Speed: 1e-9}
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
	b.Cleanup(func() { _ = sim.Close() })
	truth, err := sim.Truth(simulator.TruthQuery{Report: benchReport, From: benchStart, To: benchStart.Add(time.Hour), AsOf: clock.Now()})
	if err != nil {
		b.Fatal(err)
	}
	if len(truth) != rows {
		b.Fatalf("the simulator holds %d rows in the window, want %d", len(truth), rows)
	}
	rp := &replay{next: sim.Handler(), answers: map[string]*recorded{}}
	srv := httptest.NewServer(rp)
	b.Cleanup(srv.Close)
	// One encoder for every iteration: it is safe for concurrent use, and a long-running
	// connector builds it once, not per window.
	enc, err := schemas.NewEncoder()
	if err != nil {
		b.Fatal(err)
	}
	admin := kadm.NewClient(kafkatest.Client(b, seeds))
	want := windowWant{rows: rows, splits: splits}
	mk := func() (*connector.Connector, error) {
		prefix := kafkatest.Topic(b)
		cfg := connector.Config{
			Name: prefix, Server: simulator.DefaultServer, Token: simulator.DefaultToken, Location: bogota,
			DailyQuota: 1_000_000, BaseURL: srv.URL,
			Reports: []connector.ReportConfig{{API: benchReport, Start: benchStart}},
		}
		return connector.New(cfg, connector.Kafka(seeds), connector.WithClock(clock), connector.Encoder(enc),
			connector.TopicTemplate(prefix+".{report}"), connector.OffsetsTopic(prefix+".offsets"),
			connector.DeadLetterTopic(prefix+".dlq"), connector.TransactionalIDPrefix(prefix+"-"),
			connector.SourceOpts(source.Backoff(10*time.Millisecond, 100*time.Millisecond, time.Minute)),
			connector.WithObserver(&want), connector.Logger(testLogger(b)))
	}

	debug.FreeOSMemory() // hand the previous sub-benchmark's heap back before the peak is reset
	rssReset := resetPeakRSS()
	if rssReset != nil {
		b.Logf("peak RSS is the process's since it started: %v", rssReset)
	}

	// The untimed first window: read live from the simulator, recorded, and checked
	// against the ground truth.
	rp.setRecording(true)
	w, err := startPaused(b.Context(), mk)
	if err != nil {
		b.Fatal(err)
	}
	w.c.Resume()
	if err := w.finish(b, &want, admin); err != nil {
		b.Fatal(err)
	}
	checkTruth(b, seeds, w.topic, truth)
	if err := w.cleanup(b.Context(), admin); err != nil {
		b.Fatal(err)
	}
	rp.setRecording(false)

	b.ReportAllocs()
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		w, err := startPaused(b.Context(), mk)
		if err != nil {
			b.Fatal(err)
		}
		before, err := cpuTime()
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		w.c.Resume()
		done := w.wait(b)
		b.StopTimer()
		after, err := cpuTime()
		if err != nil {
			b.Fatal(err)
		}
		cpu += after - before
		if done != nil {
			b.Fatal(done)
		}
		if err := w.finish(b, &want, admin); err != nil {
			b.Fatal(err)
		}
		if err := w.cleanup(b.Context(), admin); err != nil {
			b.Fatal(err)
		}
		if n := rp.misses.Load(); n > 0 {
			b.Fatalf("%d calls missed the recorded answers and reached the simulator: the timed windows differ from the first", n)
		}
		b.StartTimer()
	}

	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/window")
	if hwm, err := peakRSS(); err == nil {
		b.ReportMetric(float64(hwm)/(1<<20), "peak-RSS-MiB")
	} else {
		b.Logf("no peak RSS: %v", err)
	}
}

// windowWant is what one window must come to, and the observer that tells the benchmark
// the window has been committed.
type windowWant struct {
	rows, splits int

	mu        sync.Mutex
	committed chan struct{} // replaced for each window by startPaused
}

func (w *windowWant) arm() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.committed = make(chan struct{}, 1)
	return w.committed
}

// Window is called by the connector after each commit; it must not block.
func (w *windowWant) Window(string, string, connector.WindowStats) {
	w.mu.Lock()
	defer w.mu.Unlock()
	select {
	case w.committed <- struct{}{}:
	default:
	}
}

// Call, Split and Transaction are counted by the connector's Status, which finish reads.
func (w *windowWant) Call(string, source.Call)          {}
func (w *windowWant) Split(string, string)              {}
func (w *windowWant) Transaction(string, string, bool) {}

// window is one running connector of the benchmark.
type window struct {
	c         *connector.Connector
	topic     string
	cancel    context.CancelFunc
	runErr    chan error
	committed <-chan struct{}
}

// startPaused builds a connector, starts it paused and returns once Run has finished its
// setup (fenced, loaded offsets, created topics) and waits for Resume: Status shows the
// report's cursor only after the offsets are loaded, and the paused loop is the next step.
func startPaused(ctx context.Context, mk func() (*connector.Connector, error)) (*window, error) {
	c, err := mk()
	if err != nil {
		return nil, err
	}
	var obs *windowWant
	ctx, cancel := context.WithCancel(ctx)
	w := &window{c: c, cancel: cancel, runErr: make(chan error, 1)}
	for _, t := range c.Topics() {
		w.topic = t
	}
	_ = obs
	c.Pause()
	go func() { w.runErr <- c.Run(ctx) }()
	deadline := time.Now().Add(time.Minute)
	for {
		select {
		case err := <-w.runErr:
			cancel()
			return nil, fmt.Errorf("Run ended during setup: %w", err)
		default:
		}
		if st := c.Status(); len(st.Reports) == 1 && !st.Reports[0].Cursor.IsZero() {
			return w, nil
		}
		if time.Now().After(deadline) {
			w.stop()
			return nil, fmt.Errorf("connector setup took over a minute: %+v", c.Status())
		}
		time.Sleep(2 * time.Millisecond)
	}
}
