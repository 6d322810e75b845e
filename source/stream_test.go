package source_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/wolkvox"
)

// heldAnswer answers the first call with rows it sends at once and then holds the body
// open until release is closed (or a minute passes), and every later call with nothing.
type heldAnswer struct {
	rows    []map[string]any
	release chan struct{}
	calls   atomic.Int64
}

func (h *heldAnswer) ServeHTTP(rw http.ResponseWriter, _ *http.Request) {
	rw.Header().Set("Content-Type", "application/json")
	if h.calls.Add(1) > 1 {
		rw.Write([]byte(okBody()))
		return
	}
	fmt.Fprintf(rw, `{"code":"200","error":null,"msg":"%d records were found","data":[`, len(h.rows))
	for i, row := range h.rows {
		b, _ := json.Marshal(row)
		if i > 0 {
			rw.Write([]byte(","))
		}
		rw.Write(b)
	}
	rw.(http.Flusher).Flush()
	select {
	case <-h.release:
	case <-time.After(time.Minute):
	}
	rw.Write([]byte("]}"))
}

// TestRowsStreamIntoTheOpenTransaction: a window's rows reach Kafka while its answer is
// still being read — the records are on the broker (read_uncommitted sees them) before
// the body has ended — yet nothing is visible to read_committed consumers until the
// window commits, and then every row is there once. A connector that held the window's
// rows until the answer ended would never let the uncommitted reader see them.
func TestRowsStreamIntoTheOpenTransaction(t *testing.T) {
	kafkatest.Clusters(t, func(t *testing.T, kc kafkatest.Cluster) {
		start := time.Date(2026, 11, 20, 6, 0, 0, 0, bogota)
		up := &heldAnswer{release: make(chan struct{})}
		for i := range 500 {
			up.rows = append(up.rows, d13(fmt.Sprintf("held.%d", i), start.Add(time.Minute).Format("2006-01-02 15:04:05")))
		}
		srv := httptest.NewServer(up)
		defer srv.Close()
		c, prefix := testConnector(t, kc.Seeds, srv.URL, start, fastClock(start.Add(10*time.Minute), 600))
		topic := prefix + ".diagram_13"
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		runErr := make(chan error, 1)
		go func() { runErr <- c.Run(ctx) }()

		uncommitted := kafkatest.Client(t, kc.Seeds, kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(kgo.ReadUncommitted()),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		seen := 0
		waitCtx, waitCancel := context.WithTimeout(ctx, 45*time.Second)
		for seen < len(up.rows) && waitCtx.Err() == nil {
			fs := uncommitted.PollFetches(waitCtx)
			fs.EachRecord(func(*kgo.Record) { seen++ })
		}
		waitCancel()
		if seen < len(up.rows) {
			t.Fatalf("with the answer still open, %d of its %d rows reached the broker: they were not streamed", seen, len(up.rows))
		}
		if n := len(readTopic(t, kc.Seeds, topic)); n != 0 {
			t.Fatalf("read_committed sees %d events of a window whose answer has not ended", n)
		}
		close(up.release)
		drainUntil(t, c, start.Add(12*time.Minute), runErr)
		cancel()
		if err := <-runErr; err != nil {
			t.Fatalf("Run: %v", err)
		}
		keys := map[string]int{}
		for _, r := range readTopic(t, kc.Seeds, topic) {
			keys[string(r.Key)]++
		}
		if len(keys) != len(up.rows) {
			t.Errorf("%d distinct rows committed, want %d", len(keys), len(up.rows))
		}
		for k, n := range keys {
			if n != 1 {
				t.Errorf("row %s committed %d times", k, n)
			}
		}
	})
}

// TestFailedHalfRestartsTheWindow: a window bisected because its answer hit the cap
// keeps that answer's rows in its transaction; when the answer for one half then fails
// midway (a truncated body, after rows), those rows cannot be taken back alone, so the
// transaction is aborted and the window read again — without calling again for the
// window already known to hit the cap. Every row lands once; the capped window was
// asked for once.
func TestFailedHalfRestartsTheWindow(t *testing.T) {
	kafkatest.Clusters(t, func(t *testing.T, kc kafkatest.Cluster) {
		start := time.Date(2026, 11, 20, 6, 0, 0, 0, bogota)
		dense := start.Add(3 * time.Minute)
		rowsIn := func(w source.Window) []map[string]any {
			var rows []map[string]any
			for s := w.Start; !s.After(w.End); s = s.Add(time.Second) {
				if s.Sub(dense) >= 0 && s.Sub(dense) < 15*time.Second {
					for _, id := range []string{"a", "b"} {
						rows = append(rows, d13("dense."+s.Format("150405")+id, s.Format("2006-01-02 15:04:05")))
					}
				}
			}
			return rows
		}
		var truncated, firstEnd atomic.Int64
		up := &scripted{loc: bogota, answer: func(w source.Window, call int) (int, string) {
			if call == 1 {
				firstEnd.Store(w.End.Unix())
			}
			rows := rowsIn(w)
			if w.End.Unix() > firstEnd.Load() {
				// A later window: its lookback would deliver what the first one lost.
				rows = nil
			}
			// The half holding the last dense rows fails once, cut in its last row (the
			// rows before it were handed on): the halves read before it put rows into
			// the transaction.
			last := dense.Add(14 * time.Second)
			if len(rows) <= 10 && !w.Start.After(last) && !w.End.Before(last) && truncated.CompareAndSwap(0, 1) {
				body := okBody(rows...)
				return http.StatusOK, body[:strings.LastIndex(body, "{")]
			}
			return http.StatusOK, okBody(rows...)
		}}
		c, prefix := hostileRun(t, kc, up, start, start.Add(20*time.Minute), source.SourceOpts(wolkvox.RowCap(10)))
		if truncated.Load() != 1 {
			t.Fatalf("no half was truncated: windows %v", up.windows())
		}
		asked, first := 0, up.windows()[0]
		for _, w := range up.windows() {
			if w == first {
				asked++
			}
		}
		if asked != 1 {
			t.Errorf("the capped window %v was asked for %d times, want once: reading again skips it", first, asked)
		}
		keys := map[string]int{}
		for _, r := range readTopic(t, kc.Seeds, prefix+".diagram_13") {
			keys[string(r.Key)]++
		}
		if len(keys) != 30 {
			t.Errorf("%d distinct rows committed, want the 30 dense ones", len(keys))
		}
		for k, n := range keys {
			if n != 1 {
				t.Errorf("row %s committed %d times", k, n)
			}
		}
		if st := c.Status().Reports[0]; st.Aborts == 0 || st.Splits == 0 {
			t.Errorf("aborts %d, splits %d: want the restarted window counted; windows %v", st.Aborts, st.Splits, up.windows())
		}
	})
}

// TestCappedRangeAggregateIsNotKept: the rows of a range aggregate are aggregates over
// the window that returned them, so a capped answer's rows are not what its halves
// return (the same agent, other figures) and must not be committed: its transaction is
// restarted and only the halves' rows land.
func TestCappedRangeAggregateIsNotKept(t *testing.T) {
	kafkatest.Clusters(t, func(t *testing.T, kc kafkatest.Cluster) {
		start := time.Date(2026, 11, 20, 6, 0, 0, 0, bogota)
		up := &scripted{loc: bogota, answer: func(w source.Window, _ int) (int, string) {
			agents := 12
			switch {
			case !w.Start.Before(start.Add(time.Hour)):
				agents = 0 // only the first bucket has rows
			case w.End.Sub(w.Start) < 59*time.Minute:
				agents = 6 // a half: six agents were active in each
			}
			var rows []map[string]any
			for i := range agents {
				rows = append(rows, map[string]any{"agent_id": fmt.Sprint(i), "agent_dni": "1", "agent_name": "a",
					"aux_state": "break", "time": w.End.Sub(w.Start).String()})
			}
			return http.StatusOK, okBody(rows...)
		}}
		srv := httptest.NewServer(up)
		defer srv.Close()
		prefix := kafkatest.Topic(t)
		cfg := source.Config{Name: prefix, Server: "0040", Token: source.NewSecret("tok"), Location: bogota, DailyQuota: 100000, BaseURL: srv.URL,
			Reports: []source.ReportConfig{{API: "agent_3", Start: start, Bucket: time.Hour, Settle: time.Minute}}}
		c, err := source.New(cfg, source.WriteTo(testDestination(kc.Seeds, prefix)), source.WithClock(fastClock(start.Add(70*time.Minute), 600)),
			source.Logger(testLogger(t)), source.SourceOpts(wolkvox.RowCap(10), wolkvox.Backoff(5*time.Millisecond, 20*time.Millisecond, 200*time.Millisecond)))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		runErr := make(chan error, 1)
		go func() { runErr <- c.Run(ctx) }()
		drainUntil(t, c, start.Add(time.Hour+2*time.Minute), runErr) // the first bucket committed
		cancel()
		if err := <-runErr; err != nil {
			t.Fatalf("Run: %v", err)
		}
		events := readTopic(t, kc.Seeds, prefix+".agent_3")
		if len(events) != 12 {
			t.Errorf("%d events, want the halves' 12 rows (6 each) and none of the capped answer's", len(events))
		}
		if st := c.Status().Reports[0]; st.Splits != 1 || st.Aborts != 1 {
			t.Errorf("splits %d, aborts %d; want the one capped window and its aborted transaction", st.Splits, st.Aborts)
		}
	})
}
