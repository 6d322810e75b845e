package source_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wolkvox-connect/wolkvox-connect/offsets"
	"github.com/wolkvox-connect/wolkvox-connect/sink"
	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/wolkvox"
)

// scripted is a fake Wolkvox API for hostile-input tests: answer decides every
// reports_manager call from the window asked for and the call's number (1, 2, ...).
type scripted struct {
	loc    *time.Location
	answer func(w source.Window, call int) (status int, body string)

	calls atomic.Int64
	mu    sync.Mutex
	asked []source.Window
}

func (s *scripted) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	start, err1 := time.ParseInLocation("20060102150405", q.Get("date_ini"), s.loc)
	end, err2 := time.ParseInLocation("20060102150405", q.Get("date_end"), s.loc)
	if err1 != nil || err2 != nil {
		http.Error(rw, `{"code":400,"error":"BAD REQUEST","msg":"SOME PARAMETERS ARE REQUIRED"}`, http.StatusBadRequest)
		return
	}
	w := source.Window{Start: start, End: end}
	s.mu.Lock()
	s.asked = append(s.asked, w)
	s.mu.Unlock()
	status, body := s.answer(w, int(s.calls.Add(1)))
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	_, _ = rw.Write([]byte(body))
}

func (s *scripted) windows() []source.Window {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]source.Window(nil), s.asked...)
}

// okBody is a 200 answer holding rows, with an honest count in msg.
func okBody(rows ...map[string]any) string {
	if rows == nil {
		rows = []map[string]any{}
	}
	b, _ := json.Marshal(map[string]any{"code": "200", "error": nil, "msg": fmt.Sprintf("%d records were found", len(rows)), "data": rows})
	return string(b)
}

// d13 is a diagram_13 row: conn_id, second_event and cod_opc_menu are its key.
func d13(connID, date string) map[string]any {
	return map[string]any{"conn_id": connID, "second_event": "3", "cod_opc_menu": "1", "date": date,
		"customer_id": "1", "channel": "voice", "attempt": "1", "telephone": "3001234567"}
}

// testConnector is a diagram_13 connector with topics of its own, reading the fake API
// at url from start (virtual time) with a 10-minute lookback, on clock.
func testConnector(t *testing.T, seeds []string, url string, start time.Time, clock source.Clock, opts ...source.Opt) (*source.Connector, string) {
	t.Helper()
	prefix := kafkatest.Topic(t)
	cfg := source.Config{Name: prefix, Server: "0040", Token: source.NewSecret("tok"), Location: bogota, DailyQuota: 100000, BaseURL: url,
		Reports: []source.ReportConfig{{API: "diagram_13", Start: start, Lookback: 10 * time.Minute, Settle: time.Minute}}}
	c, err := source.New(cfg, append([]source.Opt{source.WriteTo(testDestination(seeds, prefix)), source.WithClock(clock),
		source.Logger(testLogger(t))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c, prefix
}

// fastClock runs from start at speed virtual seconds per real second.
func fastClock(start time.Time, speed float64) source.FastClock {
	return source.FastClock{Origin: time.Now(), Start: start, Speed: speed}
}

// liveRow is the one ordinary row of window w: stamped at its end.
func liveRow(w source.Window) map[string]any {
	return d13("live."+w.End.Format("150405"), w.End.Format("2006-01-02 15:04:05"))
}

// liveUpstream answers every window with its liveRow.
func liveUpstream() *scripted {
	return &scripted{loc: bogota, answer: func(w source.Window, _ int) (int, string) {
		return http.StatusOK, okBody(liveRow(w))
	}}
}

// hostileRun runs a testConnector against up until the report's cursor passes until
// (virtual time) and returns the connector and its topics' prefix.
func hostileRun(t *testing.T, kc kafkatest.Cluster, up *scripted, start, until time.Time, opts ...source.Opt) (*source.Connector, string) {
	t.Helper()
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	c, prefix := testConnector(t, kc.Seeds, srv.URL, start, fastClock(start.Add(10*time.Minute), 600), append([]source.Opt{
		source.SourceOpts(wolkvox.Backoff(5*time.Millisecond, 20*time.Millisecond, 200*time.Millisecond)),
		source.MaxBackoff(time.Minute)}, opts...)...)
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(ctx) }()
	drainUntil(t, c, until, runErr)
	cancel()
	if err := <-runErr; err != nil {
		t.Fatalf("Run: %v", err)
	}
	return c, prefix
}

// readTopic returns every committed record of topic.
func readTopic(t testing.TB, seeds []string, topic string) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out []*kgo.Record
	if err := sink.ReadCommitted(ctx, []kgo.Opt{kgo.SeedBrokers(seeds...)}, []string{topic}, func(r *kgo.Record) bool {
		out = append(out, r)
		return true
	}); err != nil {
		t.Fatalf("reading %s: %v", topic, err)
	}
	return out
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// TestHostileRows feeds, in every answer, rows whose own time lies outside the window
// (1990, 2030, a time with milliseconds the layout does not parse) and rows without
// their key fields, plus one ordinary row per window stamped at the window's end:
//   - each row is delivered exactly once, however many windows return it (the dedupe
//     state is dated by the windows that return a row, not by its own time);
//   - the 2030 row does not move last_seen, is counted, and no dedupe entry is dated 2030;
//   - rows missing a key field are dead letters (once each), never events keyed "||".
func TestHostileRows(t *testing.T) {
	kafkatest.Clusters(t, func(t *testing.T, kc kafkatest.Cluster) {
		start := time.Date(2026, 11, 20, 6, 0, 0, 0, bogota)
		noKey := map[string]any{"date": "2026-11-20 06:00:30", "channel": "voice"}
		nullKey := d13("", "2026-11-20 06:00:40")
		nullKey["conn_id"] = nil
		up := &scripted{loc: bogota, answer: func(w source.Window, _ int) (int, string) {
			return http.StatusOK, okBody(
				d13("old.1990", "1990-01-01 00:00:00"),
				d13("future.2030", "2030-01-01 00:00:00"),
				d13("millis", "2026-11-20 06:00:05.250"),
				noKey, nullKey,
				liveRow(w),
			)
		}}
		until := start.Add(70 * time.Minute) // several lookbacks of 10 minutes
		c, prefix := hostileRun(t, kc, up, start, until)

		events := readTopic(t, kc.Seeds, prefix+".diagram_13")
		perKey := map[string]int{}
		for _, r := range events {
			perKey[string(r.Key)]++
			if strings.HasPrefix(string(r.Key), "|") || strings.Contains(string(r.Key), "||") {
				t.Errorf("event keyed %q: a row without its key fields became an event", r.Key)
			}
		}
		for _, k := range []string{"old.1990|3|1", "future.2030|3|1", "millis|3|1"} {
			if perKey[k] != 1 {
				t.Errorf("%s delivered %d times, want once (%d windows read)", k, perKey[k], len(up.windows()))
			}
		}
		live := 0
		for k, n := range perKey {
			if strings.HasPrefix(k, "live.") {
				live++
				if n != 1 {
					t.Errorf("%s delivered %d times, want once", k, n)
				}
			}
		}
		if live < 3 { // one per window; how many windows depends on the machine's speed
			t.Errorf("%d windows delivered their live row, want several", live)
		}

		dlq := readTopic(t, kc.Seeds, prefix+".dlq")
		if len(dlq) != 2 {
			t.Errorf("%d dead letters, want 2 (the two rows without a conn_id, once each)", len(dlq))
		}
		for _, r := range dlq {
			if cl := header(r, sink.HeaderErrorClass); cl != "missing_key" {
				t.Errorf("dead letter class %q, want missing_key; error %q", cl, header(r, sink.HeaderError))
			}
		}

		st := c.Status().Reports[0]
		if st.FutureRows != 1 {
			t.Errorf("FutureRows = %d, want 1", st.FutureRows)
		}
		if st.LastSeen.Year() != 2026 {
			t.Errorf("last_seen %v: a row dated 2030 (or 1990) moved it", st.LastSeen)
		}
		store, err := offsets.NewStore(prefix+".offsets", offsets.Seeds(kc.Seeds...))
		if err != nil {
			t.Fatal(err)
		}
		positions, err := store.Load(context.Background(), prefix)
		if err != nil {
			t.Fatal(err)
		}
		for _, pos := range positions {
			if !pos.LastSeen.Before(until.Add(time.Hour)) {
				t.Errorf("stored last_seen %v", pos.LastSeen)
			}
			for _, s := range pos.Seen {
				if got := time.Unix(s.Time, 0); got.After(until.Add(time.Hour)) || got.Before(start) {
					t.Errorf("dedupe entry dated %v: the state is pinned by a row's own time", got)
				}
			}
			// Rows returned within one lookback: the 5 returned every time, and the
			// live rows of the last 10 minutes (two or three windows).
			if len(pos.Seen) > 9 {
				t.Errorf("%d dedupe entries, want those of one lookback (≤ 9)", len(pos.Seen))
			}
		}
	})
}

// TestOversizedRowIsADeadLetter: a row whose event exceeds the topic's
// max.message.bytes is a dead letter (cut to fit, with the reason), decided before
// producing, instead of failing every transaction of its window for ever and spending
// a call on each retry.
func TestOversizedRowIsADeadLetter(t *testing.T) {
	kafkatest.Clusters(t, func(t *testing.T, kc kafkatest.Cluster) {
		start := time.Date(2026, 11, 20, 6, 0, 0, 0, bogota)
		huge := d13("huge", "2026-11-20 06:00:10")
		huge["telephone"] = strings.Repeat("0123456789", 150_000) // 1.5 MB; topics take about 1 MB
		up := &scripted{loc: bogota, answer: func(w source.Window, _ int) (int, string) {
			return http.StatusOK, okBody(huge, liveRow(w))
		}}
		c, prefix := hostileRun(t, kc, up, start, start.Add(30*time.Minute))

		st := c.Status().Reports[0]
		if st.Aborts != 0 {
			t.Errorf("%d transactions aborted: the oversized row was produced", st.Aborts)
		}
		// One more call than windows at most: the read under way when the test stopped.
		if calls := up.calls.Load(); calls > st.Windows+1 {
			t.Errorf("%d calls for %d windows: windows were read again", calls, st.Windows)
		}
		dlq := readTopic(t, kc.Seeds, prefix+".dlq")
		if len(dlq) != 1 {
			t.Fatalf("%d dead letters, want the oversized row once", len(dlq))
		}
		if cl := header(dlq[0], sink.HeaderErrorClass); cl != "record_too_large" {
			t.Errorf("dead letter class %q (%s), want record_too_large", cl, header(dlq[0], sink.HeaderError))
		}
		if header(dlq[0], sink.HeaderTruncated) == "" || !strings.Contains(string(dlq[0].Value), `"conn_id":"huge"`) {
			t.Errorf("dead letter: truncated header %q, value starts %.40q", header(dlq[0], sink.HeaderTruncated), dlq[0].Value)
		}
		for _, r := range readTopic(t, kc.Seeds, prefix+".diagram_13") {
			if strings.HasPrefix(string(r.Key), "huge") {
				t.Error("the oversized row was delivered as an event")
			}
		}
		if st.Rows < 2 { // each window's live row; how many windows depends on the machine's speed
			t.Errorf("%d rows delivered: the other rows must go on", st.Rows)
		}
	})
}

// TestBisectsDownToOneSecond: the last step of bisection sends one-second windows
// (date_ini == date_end). A second holding fewer rows than the cap is delivered whole;
// one holding the cap itself stops the report as "window too dense", not as a bad
// request.
func TestBisectsDownToOneSecond(t *testing.T) {
	start := time.Date(2026, 11, 20, 6, 0, 0, 0, bogota)
	dense := start.Add(7 * time.Minute)
	rowsIn := func(perDense int) func(w source.Window, _ int) (int, string) {
		return func(w source.Window, _ int) (int, string) {
			var rows []map[string]any
			for s := w.Start; !s.After(w.End); s = s.Add(time.Second) {
				n := 0
				switch {
				case s.Equal(dense):
					n = perDense
				case s.Equal(dense.Add(-time.Second)), s.Equal(dense.Add(time.Second)):
					n = 5
				}
				for i := range n {
					rows = append(rows, d13(fmt.Sprintf("%s.%d", s.Format("150405"), i), s.Format("2006-01-02 15:04:05")))
				}
			}
			return http.StatusOK, okBody(rows...)
		}
	}
	oneSecond := func(up *scripted) bool {
		for _, w := range up.windows() {
			if w.Start.Equal(dense) && w.End.Equal(dense) {
				return true
			}
		}
		return false
	}
	kafkatest.Clusters(t, func(t *testing.T, kc kafkatest.Cluster) {
		up := &scripted{loc: bogota, answer: rowsIn(9)}
		c, prefix := hostileRun(t, kc, up, start, start.Add(20*time.Minute), source.SourceOpts(wolkvox.RowCap(10)))
		if !oneSecond(up) {
			t.Errorf("the one-second window %s was never asked for; windows: %v", dense, up.windows())
		}
		events := readTopic(t, kc.Seeds, prefix+".diagram_13")
		if len(events) != 19 {
			t.Errorf("%d events, want the 19 rows around %s once each", len(events), dense)
		}
		if st := c.Status().Reports[0]; st.Splits == 0 || st.State == source.StateFailed {
			t.Errorf("splits %d, state %s (%s)", st.Splits, st.State, st.LastError)
		}
	})
	t.Run("too dense", func(t *testing.T) {
		up := &scripted{loc: bogota, answer: rowsIn(10)}
		srv := httptest.NewServer(up)
		defer srv.Close()
		c, _ := testConnector(t, kafkatest.Fake(t), srv.URL, start, fastClock(start.Add(10*time.Minute), 600), source.SourceOpts(wolkvox.RowCap(10)))
		err := c.Run(context.Background()) // its only report fails: Run ends
		if !errors.Is(err, source.ErrAllFailed) {
			t.Fatalf("Run = %v, want ErrAllFailed", err)
		}
		st := c.Status().Reports[0]
		if !strings.Contains(st.LastError, "one-second window") || strings.Contains(st.LastError, "bad request") {
			t.Errorf("last_error %q, want the too-dense error", st.LastError)
		}
		if !oneSecond(up) {
			t.Error("the one-second window was never asked for")
		}
	})
}

// TestCountMismatchHoldsTheWindow: an answer whose msg states more records than it
// carries is never committed (as an empty window, say): the window is held, the status
// says why, and once Wolkvox answers consistently the rows are delivered.
func TestCountMismatchHoldsTheWindow(t *testing.T) {
	kafkatest.Clusters(t, func(t *testing.T, kc kafkatest.Cluster) {
		start := time.Date(2026, 11, 20, 6, 0, 0, 0, bogota)
		var honest atomic.Bool
		up := &scripted{loc: bogota, answer: func(w source.Window, _ int) (int, string) {
			row := d13("row."+w.End.Format("150405"), w.End.Format("2006-01-02 15:04:05"))
			if !honest.Load() {
				return http.StatusOK, `{"code":"200","error":null,"msg":"4017 records were found","data":[]}`
			}
			return http.StatusOK, okBody(row)
		}}
		srv := httptest.NewServer(up)
		defer srv.Close()
		c, prefix := testConnector(t, kc.Seeds, srv.URL, start, fastClock(start.Add(10*time.Minute), 600),
			source.SourceOpts(wolkvox.Backoff(5*time.Millisecond, 10*time.Millisecond, 50*time.Millisecond)), source.MaxBackoff(time.Second))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		runErr := make(chan error, 1)
		go func() { runErr <- c.Run(ctx) }()
		st := waitStatus(t, "holding the window", c.Status, func(st source.Status) bool {
			return up.calls.Load() >= 6 && strings.Contains(st.Reports[0].LastError, "held")
		})
		if r := st.Reports[0]; r.Windows != 0 || r.Commits != 0 || !r.Cursor.Equal(start) {
			t.Errorf("a contradicting answer was committed: %d windows, cursor %v", r.Windows, r.Cursor)
		}
		honest.Store(true)
		waitStatus(t, "delivering once answers agree", c.Status, func(st source.Status) bool {
			return st.Reports[0].Windows > 0 && st.Reports[0].LastError == ""
		})
		cancel()
		if err := <-runErr; err != nil {
			t.Fatal(err)
		}
		if n := len(readTopic(t, kc.Seeds, prefix+".diagram_13")); n == 0 {
			t.Error("nothing delivered after the answers agreed")
		}
	})
}

// endlessBody answers every call with a 200 whose data never ends.
type endlessBody struct{ calls atomic.Int64 }

func (e *endlessBody) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.calls.Add(1)
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"code":"200","error":null,"msg":"","data":[`)
	row := []byte(`{"conn_id":"12462.0277.1782402643.44005","second_event":"3","cod_opc_menu":"1","date":"2026-11-20 06:00:01","channel":"voice"},`)
	for r.Context().Err() == nil {
		if _, err := w.Write(row); err != nil {
			return
		}
	}
}

// TestEndlessBodyMemoryBounded: a worker fed 200 answers that never end reads each
// only up to the row cap, bisects, and stops the report as too dense at one second,
// committing nothing, while its heap stays far below 128 MiB.
func TestEndlessBodyMemoryBounded(t *testing.T) {
	start := time.Date(2026, 11, 20, 6, 0, 0, 0, bogota)
	up := &endlessBody{}
	srv := httptest.NewServer(up)
	defer srv.Close()
	c, _ := testConnector(t, kafkatest.Fake(t), srv.URL, start, fastClock(start.Add(2*time.Hour), 60))
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := c.Run(ctx)
	close(stop)
	<-sampled
	if !errors.Is(err, source.ErrAllFailed) {
		t.Fatalf("Run = %v, want the report stopped (ErrAllFailed)", err)
	}
	st := c.Status().Reports[0]
	t.Logf("%d calls, %d splits, heap peak %d MiB, last error: %s", up.calls.Load(), st.Splits, peak.Load()>>20, st.LastError)
	if st.Windows != 0 || st.Rows != 0 {
		t.Errorf("an endless answer was taken as data: %d windows, %d rows", st.Windows, st.Rows)
	}
	if !strings.Contains(st.LastError, "one-second window") {
		t.Errorf("last_error %q, want the too-dense stop", st.LastError)
	}
	if peak.Load() > 128<<20 {
		t.Errorf("heap peaked at %d MiB, want under 128 MiB", peak.Load()>>20)
	}
}

// TestRowTooLongToDecode: a row longer than the client's MaxRowBytes is never decoded:
// it becomes one dead letter holding its start (row_too_large), however often the
// lookback reads it again, and the report goes on.
func TestRowTooLongToDecode(t *testing.T) {
	kafkatest.Clusters(t, func(t *testing.T, kc kafkatest.Cluster) {
		start := time.Date(2026, 11, 20, 6, 0, 0, 0, bogota)
		long := d13("long", "2026-11-20 06:00:10")
		long["telephone"] = strings.Repeat("9", 300<<10)
		up := &scripted{loc: bogota, answer: func(w source.Window, _ int) (int, string) {
			return http.StatusOK, okBody(long, liveRow(w))
		}}
		c, prefix := hostileRun(t, kc, up, start, start.Add(30*time.Minute), source.SourceOpts(wolkvox.MaxRowBytes(64<<10)))
		dlq := readTopic(t, kc.Seeds, prefix+".dlq")
		if len(dlq) != 1 {
			t.Fatalf("%d dead letters, want the long row once", len(dlq))
		}
		if cl := header(dlq[0], sink.HeaderErrorClass); cl != "row_too_large" {
			t.Errorf("class %q (%s), want row_too_large", cl, header(dlq[0], sink.HeaderError))
		}
		if header(dlq[0], sink.HeaderTruncated) == "" || len(dlq[0].Value) == 0 || len(dlq[0].Value) > 64<<10 {
			t.Errorf("dead letter of %d bytes, truncated header %q", len(dlq[0].Value), header(dlq[0], sink.HeaderTruncated))
		}
		if st := c.Status().Reports[0]; st.Rows < 2 || st.State == source.StateFailed {
			t.Errorf("%d rows, state %s: the report must go on", st.Rows, st.State)
		}
	})
}
