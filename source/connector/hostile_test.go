package connector_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
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
	"github.com/wolkvox-connect/wolkvox-connect/source/connector"
)

// scripted is a fake Wolkvox API for hostile-input tests: answer decides every
// reports_manager call from the window asked for and the call's number (1, 2, ...).
type scripted struct {
	loc    *time.Location
	answer func(w connector.Window, call int) (status int, body string)

	calls atomic.Int64
	mu    sync.Mutex
	asked []connector.Window
}

func (s *scripted) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	start, err1 := time.ParseInLocation("20060102150405", q.Get("date_ini"), s.loc)
	end, err2 := time.ParseInLocation("20060102150405", q.Get("date_end"), s.loc)
	if err1 != nil || err2 != nil {
		http.Error(rw, `{"code":400,"error":"BAD REQUEST","msg":"SOME PARAMETERS ARE REQUIRED"}`, http.StatusBadRequest)
		return
	}
	w := connector.Window{Start: start, End: end}
	s.mu.Lock()
	s.asked = append(s.asked, w)
	s.mu.Unlock()
	status, body := s.answer(w, int(s.calls.Add(1)))
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	_, _ = rw.Write([]byte(body))
}

func (s *scripted) windows() []connector.Window {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]connector.Window(nil), s.asked...)
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

// hostileRun runs one diagram_13 connector against up until the report's cursor passes
// until (virtual time) and returns the connector, the topics' prefix and the clock.
func hostileRun(t *testing.T, kc kafkatest.Cluster, up *scripted, start, until time.Time, opts ...connector.Opt) (*connector.Connector, string) {
	t.Helper()
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	clock := connector.FastClock{Origin: time.Now(), Start: start.Add(10 * time.Minute), Speed: 600}
	prefix := kafkatest.Topic(t)
	cfg := connector.Config{Name: prefix, Server: "0040", Token: "tok", Location: bogota, DailyQuota: 100000, BaseURL: srv.URL,
		Reports: []connector.ReportConfig{{API: "diagram_13", Start: start, Lookback: 10 * time.Minute, Settle: time.Minute}}}
	c, err := connector.New(cfg, append([]connector.Opt{connector.Kafka(kc.Seeds), connector.WithClock(clock),
		connector.TopicTemplate(prefix + ".{report}"), connector.OffsetsTopic(prefix + ".offsets"),
		connector.DeadLetterTopic(prefix + ".dlq"), connector.TransactionalIDPrefix(prefix + "-"),
		connector.SourceOpts(source.Backoff(5*time.Millisecond, 20*time.Millisecond, 200*time.Millisecond)),
		connector.MaxBackoff(time.Minute), connector.Logger(testLogger(t))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
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
func readTopic(t *testing.T, seeds []string, topic string) []*kgo.Record {
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
		up := &scripted{loc: bogota, answer: func(w connector.Window, _ int) (int, string) {
			return http.StatusOK, okBody(
				d13("old.1990", "1990-01-01 00:00:00"),
				d13("future.2030", "2030-01-01 00:00:00"),
				d13("millis", "2026-11-20 06:00:05.250"),
				noKey, nullKey,
				d13("live."+w.End.Format("150405"), w.End.Format("2006-01-02 15:04:05")),
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
		if live < 5 {
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
		up := &scripted{loc: bogota, answer: func(w connector.Window, _ int) (int, string) {
			return http.StatusOK, okBody(huge, d13("live."+w.End.Format("150405"), w.End.Format("2006-01-02 15:04:05")))
		}}
		c, prefix := hostileRun(t, kc, up, start, start.Add(30*time.Minute))

		st := c.Status().Reports[0]
		if st.Aborts != 0 {
			t.Errorf("%d transactions aborted: the oversized row was produced", st.Aborts)
		}
		if calls := up.calls.Load(); calls != st.Windows {
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
		if st.Rows < 3 {
			t.Errorf("%d rows delivered: the other rows must go on", st.Rows)
		}
	})
}
