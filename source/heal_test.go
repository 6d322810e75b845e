package source_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/wolkvox"
)

// lateBootstrap is a Kafka bootstrap address that refuses connections until up is
// called, then forwards them to the broker: a broker that is not up yet when the
// worker starts. (The broker's metadata names its own address, so only the bootstrap
// goes through here.) Its goroutines and connections end with the test.
type lateBootstrap struct {
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
	wg     sync.WaitGroup
}

func newLateBootstrap(t *testing.T, target string) *lateBootstrap {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &lateBootstrap{addr: ln.Addr().String(), target: target}
	ln.Close() // refused until up
	t.Cleanup(func() {
		b.mu.Lock()
		if b.ln != nil {
			b.ln.Close()
		}
		for _, c := range b.conns {
			c.Close()
		}
		b.mu.Unlock()
		b.wg.Wait()
	})
	return b
}

// track keeps c to be closed with the test.
func (b *lateBootstrap) track(c net.Conn) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.conns = append(b.conns, c)
}

func (b *lateBootstrap) up(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", b.addr)
	if err != nil {
		t.Fatalf("listening on the bootstrap address again: %v", err)
	}
	b.mu.Lock()
	b.ln = ln
	b.mu.Unlock()
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			k, err := net.Dial("tcp", b.target)
			if err != nil {
				c.Close()
				continue
			}
			b.track(c)
			b.track(k)
			b.wg.Add(2)
			go func() { defer b.wg.Done(); _, _ = io.Copy(k, c); k.Close() }()
			go func() { defer b.wg.Done(); _, _ = io.Copy(c, k); c.Close() }()
		}
	}()
}

// waitStatus polls c's status until ok holds or 60 s pass.
func waitStatus(t *testing.T, what string, status func() source.Status, ok func(source.Status) bool) source.Status {
	t.Helper()
	var st source.Status
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if st = status(); ok(st) {
			return st
		}
	}
	t.Fatalf("never %s: %+v", what, st)
	return st
}

// TestStartWaitsForKafka: a connector whose broker is not up yet does not fail: it
// reads BACKING_OFF with the error and its next attempt, and starts delivering once
// the broker answers.
func TestStartWaitsForKafka(t *testing.T) {
	kafkatest.Clusters(t, func(t *testing.T, kc kafkatest.Cluster) {
		start := time.Now().In(bogota).Truncate(time.Second)
		up := liveUpstream()
		srv := httptest.NewServer(up)
		defer srv.Close()
		boot := newLateBootstrap(t, kc.Seeds[0])
		c, _ := testConnector(t, []string{boot.addr}, srv.URL, start.Add(-time.Hour), fastClock(start, 60))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		runErr := make(chan error, 1)
		go func() { runErr <- c.Run(ctx) }()

		st := waitStatus(t, "BACKING_OFF while Kafka is down", c.Status, func(st source.Status) bool {
			return st.State == source.StateBackingOff && !st.NextRetry.IsZero()
		})
		if !strings.HasPrefix(st.LastError, "starting: ") {
			t.Errorf("last_error %q, want the start failure", st.LastError)
		}
		select {
		case err := <-runErr:
			t.Fatalf("Run gave up while Kafka was down: %v", err)
		default:
		}
		boot.up(t)
		st = waitStatus(t, "RUNNING and delivering once Kafka is up", c.Status, func(st source.Status) bool {
			return st.State == source.StateRunning && st.Reports[0].Windows > 0
		})
		if st.LastError != "" || !st.NextRetry.IsZero() {
			t.Errorf("after the start: last_error %q, next_retry %v; want both cleared", st.LastError, st.NextRetry)
		}
		cancel()
		if err := <-runErr; err != nil {
			t.Fatal(err)
		}
	})
}

// TestStatusTellsRetriesStallsAndQuota drives one report through failing calls the
// client retries, a call that hangs, and a spent quota, and checks that every status
// snapshot says so: BACKING_OFF with the error during retries (the connector too, its
// only report backing off), Stalled while reading without an answer, and the connector
// QUOTA_EXHAUSTED whenever a report is.
func TestStatusTellsRetriesStallsAndQuota(t *testing.T) {
	seeds := kafkatest.Fake(t)
	start := time.Now().In(bogota).Truncate(time.Second)
	release := make(chan struct{})
	up := &scripted{loc: bogota, answer: func(w source.Window, call int) (int, string) {
		switch {
		case call <= 5:
			return http.StatusInternalServerError, `{"code":500,"error":"INTERNAL","msg":"boom"}`
		case call == 7:
			<-release // hangs until the test has seen the stall
		case call >= 9:
			return http.StatusForbidden, `{"code":403,"error":"FORBIDDEN","msg":"TOKEN LIMIT EXCEEDED"}`
		}
		return http.StatusOK, okBody(liveRow(w))
	}}
	srv := httptest.NewServer(up)
	defer srv.Close()
	defer close(release)
	c, _ := testConnector(t, seeds, srv.URL, start.Add(-time.Hour), fastClock(start, 300),
		source.SourceOpts(wolkvox.Backoff(100*time.Millisecond, 100*time.Millisecond, time.Minute)),
		source.StallTimeout(300*time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(ctx) }()

	var sawRetry, sawStall, sawQuota bool
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline) && !sawQuota; time.Sleep(5 * time.Millisecond) {
		st := c.Status()
		r := st.Reports[0]
		if r.State == source.StateQuotaExhausted || st.State == source.StateQuotaExhausted {
			sawQuota = true
			if st.State != source.StateQuotaExhausted || r.State != source.StateQuotaExhausted {
				t.Errorf("connector %s with its report %s: both must say QUOTA_EXHAUSTED", st.State, r.State)
			}
		}
		if up.calls.Load() <= 5 && up.calls.Load() >= 2 && r.State == source.StateBackingOff && strings.Contains(r.LastError, "500") {
			sawRetry = true
			if st.State != source.StateBackingOff {
				t.Errorf("the connector reads %s while its only report retries failing calls", st.State)
			}
		}
		if up.calls.Load() == 7 && r.Stalled {
			sawStall = true
			if r.Activity != "reading" {
				t.Errorf("stalled report's activity %q, want reading", r.Activity)
			}
			release <- struct{}{}
		}
	}
	if !sawRetry || !sawStall || !sawQuota {
		t.Errorf("saw retrying %v, stalled %v, quota %v; want all three (calls %d)", sawRetry, sawStall, sawQuota, up.calls.Load())
	}
	cancel()
	if err := <-runErr; err != nil {
		t.Fatal(err)
	}
}

// TestWorkerExitsWhenAllFailed: with ExitWhenAllFailed, a worker whose every connector
// failed returns ErrAllConnectorsFailed naming them; one that still has a working
// connector runs on.
func TestWorkerExitsWhenAllFailed(t *testing.T) {
	seeds := kafkatest.Fake(t)
	up := liveUpstream()
	refusing := &scripted{loc: bogota, answer: func(source.Window, int) (int, string) {
		return http.StatusForbidden, `{"code":403,"error":"FORBIDDEN","msg":"PLEASE VALIDATE TOKEN"}`
	}}
	good, bad := httptest.NewServer(up), httptest.NewServer(refusing)
	defer good.Close()
	defer bad.Close()
	prefix := kafkatest.Topic(t)
	start := time.Now().Add(-time.Hour)
	mk := func(name, url string) source.Config {
		return source.Config{Name: prefix + "-" + name, Server: "0040", Token: source.NewSecret("tok-" + name), Location: bogota, DailyQuota: 1000,
			BaseURL: url, Reports: []source.ReportConfig{{API: "diagram_13", Start: start}}}
	}
	worker := func(cfgs ...source.Config) *source.Worker {
		w, err := source.NewWorker(cfgs, source.WriteTo(workerDestination(seeds, prefix)),
			source.Logger(testLogger(t)),
			source.ExitWhenAllFailed())
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := worker(mk("bad1", bad.URL), mk("bad2", bad.URL)).Run(ctx)
	if !errors.Is(err, source.ErrAllConnectorsFailed) || !strings.Contains(err.Error(), prefix+"-bad1") || !strings.Contains(err.Error(), prefix+"-bad2") {
		t.Errorf("Run = %v, want ErrAllConnectorsFailed naming both connectors", err)
	}
	if ctx.Err() != nil {
		t.Fatal("Run did not return before the deadline")
	}

	w := worker(mk("bad3", bad.URL), mk("good", good.URL))
	runCtx, runCancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx) }()
	status := func(name string) func() source.Status {
		return func() source.Status { st, _ := w.Status(prefix + "-" + name); return st }
	}
	waitStatus(t, "bad3 FAILED", status("bad3"), func(st source.Status) bool { return st.State == source.StateFailed })
	waitStatus(t, "good delivering", status("good"), func(st source.Status) bool { return st.Reports[0].Windows > 0 })
	select {
	case err := <-done:
		t.Fatalf("the worker ended with a connector still working: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	runCancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestStatusShowsAFrozenBroker: a broker that stops answering produce requests leaves
// the report committing; after StallTimeout the status says it is stalled, and once the
// broker answers again the report goes on by itself.
func TestStatusShowsAFrozenBroker(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	var frozen atomic.Bool
	thaw := make(chan struct{})
	cluster.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		if frozen.Load() {
			cluster.SleepControl(func() { <-thaw })
		}
		return nil, nil, false
	})
	srv := httptest.NewServer(liveUpstream())
	defer srv.Close()
	start := time.Now().In(bogota).Truncate(time.Second)
	c, _ := testConnector(t, cluster.ListenAddrs(), srv.URL, start.Add(-time.Hour), fastClock(start, 300),
		source.StallTimeout(300*time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(ctx) }()

	waitStatus(t, "delivering", c.Status, func(st source.Status) bool { return st.Reports[0].Windows > 0 })
	frozen.Store(true)
	st := waitStatus(t, "stalled while committing", c.Status, func(st source.Status) bool { return st.Reports[0].Stalled })
	if r := st.Reports[0]; r.Activity != "committing" {
		t.Errorf("stalled report's activity %q, want committing", r.Activity)
	}
	windows := st.Reports[0].Windows
	frozen.Store(false)
	close(thaw)
	waitStatus(t, "delivering again", c.Status, func(st source.Status) bool {
		return st.Reports[0].Windows > windows && !st.Reports[0].Stalled
	})
	cancel()
	if err := <-runErr; err != nil {
		t.Fatal(err)
	}
}

// TestKafkaOutageSpendsNoCalls: while Kafka answers nothing, no call is made beyond the
// poll that falls due first: its commit waits for Kafka, and a report whose window failed on Kafka's side asks
// Kafka (which costs no call) before reading the window again; once Kafka answers, the
// report goes on within seconds, not after a backoff grown meanwhile.
func TestKafkaOutageSpendsNoCalls(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	var down, refuseCommits atomic.Bool
	for key := int16(0); key <= int16(kmsg.MaxKey); key++ {
		cluster.ControlKey(key, func(req kmsg.Request) (kmsg.Response, error, bool) {
			cluster.KeepControl()
			switch {
			case refuseCommits.Load() && key == int16(kmsg.Metadata):
				return nil, errors.New("broker down"), true
			case refuseCommits.Load() && key != int16(kmsg.EndTxn):
				return nil, nil, false
			case refuseCommits.Load():
				// The commit fails outright (as after a coordinator lost its state),
				// and nothing else answers: the report must wait without calling.
				resp := req.ResponseKind().(*kmsg.EndTxnResponse)
				resp.ErrorCode = kerr.TransactionAbortable.Code
				return resp, nil, true
			case down.Load():
				return nil, errors.New("broker down"), true // the connection is closed
			}
			return nil, nil, false
		})
	}
	up := liveUpstream()
	srv := httptest.NewServer(up)
	defer srv.Close()
	start := time.Now().In(bogota).Truncate(time.Second)
	c, _ := testConnector(t, cluster.ListenAddrs(), srv.URL, start.Add(-time.Hour), fastClock(start, 60))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(ctx) }()

	waitStatus(t, "delivering", c.Status, func(st source.Status) bool { return st.Reports[0].Windows > 1 })
	for _, outage := range []struct {
		name   string
		refuse bool
	}{{"commits hang", false}, {"commits fail", true}} {
		down.Store(!outage.refuse)
		refuseCommits.Store(outage.refuse)
		time.Sleep(500 * time.Millisecond) // a call in flight may end
		calls := up.calls.Load()
		time.Sleep(5 * time.Second) // five virtual minutes: a poll or two would be due
		// The poll that falls due first still reads its window (a transaction begins
		// without Kafka); then no call, however long the outage lasts.
		if n := up.calls.Load(); n > calls+1 {
			t.Errorf("%s: %d calls to Wolkvox while Kafka was down, want at most the one poll that fell due", outage.name, n-calls)
		}
		st := c.Status().Reports[0]
		t.Logf("%s: while Kafka was down: %s, activity %q, %q", outage.name, st.State, st.Activity, st.LastError)
		windows := st.Windows
		down.Store(false)
		refuseCommits.Store(false)
		back := time.Now()
		waitStatus(t, "delivering again", c.Status, func(st source.Status) bool { return st.Reports[0].Windows > windows })
		t.Logf("%s: delivering again %v after Kafka answered", outage.name, time.Since(back).Round(time.Millisecond))
	}
	cancel()
	if err := <-runErr; err != nil {
		t.Fatal(err)
	}
}
