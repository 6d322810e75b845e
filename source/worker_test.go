package source_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/wolkvox-connect/wolkvox-connect/offsets"
	"github.com/wolkvox-connect/wolkvox-connect/sink"
	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/connectortest"
	"github.com/wolkvox-connect/wolkvox-connect/source/simulator"
)

// TestWrongTokenStopsOnlyItsConnector runs two connectors in one worker, one with a
// token Wolkvox refuses: that one fails with the reason, the other goes on delivering.
func TestWrongTokenStopsOnlyItsConnector(t *testing.T) {
	seeds := kafkatest.Fake(t)
	sim := connectortest.StartSimulator(t, simulator.Seed(1), simulator.Location(bogota), simulator.Reports("diagram_13"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	prefix := kafkatest.Topic(t)
	start := time.Now().Add(-3 * time.Hour)
	mk := func(name, token string) source.Config {
		return source.Config{Name: name, Server: simulator.DefaultServer, Token: source.NewSecret(token), Location: bogota,
			DailyQuota: 1000, BaseURL: sim.URL(), Reports: []source.ReportConfig{{API: "diagram_13", Start: start}}}
	}
	w, err := source.NewWorker([]source.Config{mk(prefix+"-good", simulator.DefaultToken), mk(prefix+"-bad", "Secret-XYZ-123")},
		source.WriteTo(workerDestination(seeds, prefix)), source.Logger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var good, bad source.Status
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		good, _ = w.Status(prefix + "-good")
		bad, _ = w.Status(prefix + "-bad")
		if bad.State == source.StateFailed && good.Reports[0].Windows > 0 {
			break
		}
	}
	if bad.State != source.StateFailed || !strings.Contains(bad.LastError, "token") {
		t.Errorf("the connector with a wrong token: state %s, error %q; want FAILED saying the token is wrong", bad.State, bad.LastError)
	}
	if strings.Contains(bad.LastError, "Secret-XYZ-123") {
		t.Errorf("the error shows the token: %s", bad.LastError)
	}
	if good.State != source.StateRunning || good.Reports[0].Windows == 0 {
		t.Errorf("the other connector: state %s, %d windows; want RUNNING and delivering", good.State, good.Reports[0].Windows)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestLifecycleStorm fires hundreds of concurrent pause, resume, stop, restart, status
// and offset changes at one connector, then checks that exactly one instance ran at a
// time: no instance was ever fenced by another (FAILED), and once stopped no call
// reaches Wolkvox any more. Offset changes of both reports while stopped are each one
// transaction, so the two positions always agree.
func TestLifecycleStorm(t *testing.T) {
	kafkatest.Clusters(t, func(t *testing.T, kc kafkatest.Cluster) {
		start := time.Now().In(bogota).Truncate(time.Second)
		up := liveUpstream()
		srv := httptest.NewServer(up)
		defer srv.Close()
		prefix := kafkatest.Topic(t)
		name := prefix + "-c"
		cfg := source.Config{Name: name, Server: "0040", Token: source.NewSecret("tok"), Location: bogota, DailyQuota: 1_000_000, BaseURL: srv.URL,
			Reports: []source.ReportConfig{{API: "diagram_13", Start: start}, {API: "act_3", Params: map[string]string{"cod_act": "x"}, Start: start}}}
		clock := source.FastClock{Origin: time.Now(), Start: start.Add(10 * time.Minute), Speed: 600}
		w, err := source.NewWorker([]source.Config{cfg}, source.WriteTo(workerDestination(kc.Seeds, prefix)), source.WithClock(clock),
			source.Logger(testLogger(t)))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- w.Run(ctx) }()
		// Restart before Run has started is ErrNotRunning: let the worker run first.
		waitStatus(t, "running", func() source.Status { st, _ := w.Status(name); return st },
			func(st source.Status) bool { return st.State == source.StateRunning })

		keys := func() []offsets.Key {
			var out []offsets.Key
			for _, r := range cfg.Reports {
				out = append(out, offsets.Key{Connector: name, Server: "0040", Report: r.API, Params: r.Params})
			}
			return out
		}()
		setBoth := func(i int) error {
			pos := offsets.Position{WindowEnd: start.Add(-time.Duration(i) * time.Second).UTC()}
			var changes []source.OffsetChange
			for _, k := range keys {
				changes = append(changes, source.OffsetChange{Key: k, Position: &pos})
			}
			plan, err := w.PlanOffsets(ctx, name, changes, start)
			if err != nil {
				return err
			}
			return w.ApplyOffsets(ctx, plan)
		}
		var failed atomic.Int64
		checkStatus := func() {
			st, err := w.Status(name)
			if err != nil {
				t.Error(err)
				return
			}
			if st.State == source.StateFailed {
				if failed.Add(1) == 1 {
					t.Errorf("connector FAILED during the storm: %s", st.LastError)
				}
			}
		}
		const ops = 240
		var wg sync.WaitGroup
		for i := range ops {
			wg.Add(1)
			go func() {
				defer wg.Done()
				opCtx, opCancel := context.WithTimeout(ctx, 2*time.Minute)
				defer opCancel()
				var err error
				switch i % 6 {
				case 0:
					err = w.Pause(name)
				case 1:
					err = w.Resume(name)
				case 2:
					err = w.Stop(opCtx, name)
				case 3:
					err = w.Restart(opCtx, name)
				case 4:
					if i%12 == 4 {
						var plan *source.OffsetPlan
						if plan, err = w.PlanOffsetReset(opCtx, name, nil, start); err == nil {
							err = w.ApplyOffsets(opCtx, plan)
						}
					} else {
						err = setBoth(i)
					}
					if errors.Is(err, source.ErrNotStopped) {
						err = nil
					}
				case 5:
					checkStatus()
				}
				if err != nil {
					t.Errorf("op %d: %v", i, err)
				}
			}()
		}
		wg.Wait()
		checkStatus()

		// Stopped means stopped: no instance goes on calling.
		if err := w.Stop(ctx, name); err != nil {
			t.Fatal(err)
		}
		before := up.calls.Load()
		time.Sleep(1500 * time.Millisecond) // 15 virtual minutes: three intervals
		if after := up.calls.Load(); after != before {
			t.Errorf("%d calls reached Wolkvox after Stop: an instance outlived it", after-before)
		}
		if st, _ := w.Status(name); st.State != source.StateStopped {
			t.Errorf("state %s after Stop", st.State)
		}

		// Concurrent offset changes while stopped: every one succeeds, and the two
		// positions agree, since each change is one transaction.
		var owg sync.WaitGroup
		for i := range 20 {
			owg.Add(1)
			go func() {
				defer owg.Done()
				if err := setBoth(1000 + i); err != nil {
					t.Errorf("ApplyOffsets while stopped: %v", err)
				}
			}()
		}
		owg.Wait()
		got, err := w.Offsets(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || !got[0].Position.WindowEnd.Equal(got[1].Position.WindowEnd) {
			t.Errorf("positions after concurrent changes disagree: %+v", got)
		}

		// And the connector comes back as one healthy instance.
		if err := w.Restart(ctx, name); err != nil {
			t.Fatal(err)
		}
		var st source.Status
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if st, _ = w.Status(name); st.Reports[0].Windows > 0 && st.Reports[1].Windows > 0 {
				break
			}
		}
		if st.State != source.StateRunning || st.Reports[0].Windows == 0 {
			t.Errorf("after the storm: state %s, %+v; want RUNNING and delivering", st.State, st.Reports)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// TestWorkerConnectorsShareTheProducerMemory: a worker's connectors buffer their
// records in one budget. With the broker holding every produce to the events topics,
// the two connectors together fill it and never hold more (with a budget each, they
// would hold twice as much), and spool the rest; once the broker answers, both
// deliver and hold nothing.
func TestWorkerConnectorsShareTheProducerMemory(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	var frozen atomic.Bool
	frozen.Store(true)
	thaw := make(chan struct{})
	cluster.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		for _, topic := range req.(*kmsg.ProduceRequest).Topics {
			if frozen.Load() && strings.HasSuffix(topic.Topic, ".diagram_13") {
				cluster.SleepControl(func() { <-thaw })
				break
			}
		}
		return nil, nil, false
	})
	sim := connectortest.StartSimulator(t, simulator.Seed(1), simulator.Location(bogota), simulator.Reports("diagram_13"),
		simulator.DefaultRowsPerMinute(20), simulator.FlatRate())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	prefix := kafkatest.Topic(t)
	start := time.Now().Add(-3 * time.Hour) // 3,600 rows a connector, some 3 MB of records
	mk := func(name string) source.Config {
		return source.Config{Name: name, Server: simulator.DefaultServer, Token: source.NewSecret(simulator.DefaultToken), Location: bogota,
			DailyQuota: 1000, MaxInFlight: 2, BaseURL: sim.URL(), Reports: []source.ReportConfig{{API: "diagram_13", Start: start}}}
	}
	const limit = 256 << 10
	names := []string{prefix + "-a", prefix + "-b"}
	// The spool files go to the temporary directory; one of the test's own shows them.
	spoolDir := t.TempDir()
	t.Setenv("TMPDIR", spoolDir)
	w, err := source.NewWorker([]source.Config{mk(names[0]), mk(names[1])},
		source.WriteTo(workerDestination(cluster.ListenAddrs(), prefix)), source.Logger(testLogger(t)),
		source.ProducerMemory(sink.NewBudget(limit)))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	statuses := func() []source.Status {
		var sts []source.Status
		for _, name := range names {
			st, err := w.Status(name)
			if err != nil {
				t.Fatal(err)
			}
			sts = append(sts, st)
		}
		return sts
	}
	// The broker answers nothing for the events, so what is held only grows: sample it,
	// checking the bound all along, until both connectors spool to a file, which they
	// do once the budget refuses them a record (each window is some 3 MB of records,
	// twelve times the budget). With a budget each, both would by then hold all of
	// theirs. Which connector holds how much depends on whose rows came first.
	const largest = 4 << 10 // a diagram_13 event, with its headers and overhead, is well under this
	var held, most int64
	settled := false
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		sts := statuses()
		held = 0
		for _, st := range sts {
			if st.ProducerMemoryLimit != limit {
				t.Fatalf("%s: producer memory limit %d, want the worker's %d", st.Name, st.ProducerMemoryLimit, limit)
			}
			held += st.ProducerMemory
		}
		if held > limit+largest {
			t.Fatalf("the connectors hold %d and %d bytes, over their budget of %d", sts[0].ProducerMemory, sts[1].ProducerMemory, limit)
		}
		most = max(most, held)
		if spools, _ := filepath.Glob(filepath.Join(spoolDir, "wolkvox-connect-spool-*")); len(spools) == len(names) && settled {
			break
		} else if len(spools) == len(names) {
			settled = true // sampled once more: what is held now was held when both spooled
		}
		if time.Now().After(deadline) {
			t.Fatalf("the connectors never both spooled (holding %d and %d bytes)", sts[0].ProducerMemory, sts[1].ProducerMemory)
		}
	}
	// A record is refused only when it does not fit, or while another waits for room
	// with an eighth of the budget to spare.
	if most < limit-limit/8-largest {
		t.Errorf("the connectors held at most %d bytes before both spooled, want their budget of %d nearly full", most, limit)
	}
	frozen.Store(false)
	close(thaw)
	for _, name := range names {
		waitStatus(t, name+" delivering and holding nothing", func() source.Status {
			st, _ := w.Status(name)
			return st
		}, func(st source.Status) bool {
			return st.Reports[0].Windows > 0 && st.Reports[0].Rows >= 3000 && st.ProducerMemory == 0
		})
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
