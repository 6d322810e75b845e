package source_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wolkvox-connect/wolkvox-connect/offsets"
	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
	"github.com/wolkvox-connect/wolkvox-connect/source"
)

// TestOffsetAdministration plans and applies position changes on kfake and the real
// broker: where each kind of report reads next (the engine's own plan, not window_end
// minus the lookback), what is delivered again or skipped, the partition and future
// checks, the listing order, one transaction per plan, and a running connector refused.
func TestOffsetAdministration(t *testing.T) {
	kafkatest.Clusters(t, func(t *testing.T, kc kafkatest.Cluster) {
		ctx := context.Background()
		at := func(s string) time.Time {
			tm, err := time.ParseInLocation(time.DateTime, "2026-11-20 "+s, bogota)
			if err != nil {
				t.Fatal(err)
			}
			return tm
		}
		now := at("12:00:00")
		prefix := kafkatest.Topic(t)
		name, other := prefix+"-c", prefix+"-gone"
		offTopic := prefix + ".offsets"
		srv := httptest.NewServer(liveUpstream())
		defer srv.Close()
		cfg := source.Config{Name: name, Server: "0040", Token: source.NewSecret("tok"), Location: bogota, DailyQuota: 1000, BaseURL: srv.URL,
			Reports: []source.ReportConfig{
				{API: "diagram_13", Start: at("00:00:00")},
				{API: "skill_4"}, // bucketed by the hour, within the cursor's day
				{API: "chat_3"},  // range aggregate: the bucket the cursor is in
			}}
		w, err := source.NewWorker([]source.Config{cfg}, source.WriteTo(testDestination(kc.Seeds, prefix)),
			source.Logger(testLogger(t)))
		if err != nil {
			t.Fatal(err)
		}
		adm := kadm.NewClient(kafkatest.Client(t, kc.Seeds))
		if err := offsets.EnsureTopic(ctx, adm, offTopic, 1, -1); err != nil {
			t.Fatal(err)
		}
		seed, err := offsets.NewStore(offTopic, offsets.Seeds(kc.Seeds...), offsets.TransactionalID(kafkatest.TransactionalID(t)))
		if err != nil {
			t.Fatal(err)
		}
		key := func(conn, api string) offsets.Key { return offsets.Key{Connector: conn, Server: "0040", Report: api} }
		stored := offsets.Position{WindowEnd: at("10:00:00").UTC(), LastSeen: at("09:58:00").UTC(), Seen: []offsets.Seen{{ID: 1, Time: 1}}}
		removed := offsets.Position{WindowEnd: at("08:00:00").UTC()}
		for _, ch := range []offsets.Change{{Key: key(name, "diagram_13"), Position: &stored}, {Key: key(name, "diagram_4"), Position: &removed},
			{Key: key(other, "chat_1"), Position: &removed}} {
			if err := seed.Apply(ctx, ch); err != nil {
				t.Fatal(err)
			}
		}

		list, err := w.ListPositions(ctx, "", now)
		if err != nil {
			t.Fatal(err)
		}
		type row struct {
			conn, report      string
			configured, saved bool
			next              time.Time
		}
		want := []row{
			{name, "diagram_13", true, true, at("09:00:00")},
			{name, "skill_4,skill_id=all", true, false, at("11:00:00")},
			{name, "chat_3", true, false, at("12:00:00")},
			{name, "diagram_4", false, true, time.Time{}},
			{other, "chat_1", false, true, time.Time{}},
		}
		if len(list) != len(want) {
			t.Fatalf("ListPositions: %d rows, want %d: %+v", len(list), len(want), list)
		}
		for i, p := range list {
			got := row{p.Key.Connector, p.Report, p.Configured, p.Stored, p.NextRead}
			if got.conn != want[i].conn || got.report != want[i].report || got.configured != want[i].configured ||
				got.saved != want[i].saved || !got.next.Equal(want[i].next) {
				t.Errorf("row %d = %+v, want %+v", i, got, want[i])
			}
		}
		if lag, ok := list[0].Lag(now); !ok || lag != 2*time.Hour {
			t.Errorf("lag of diagram_13 = %v, %v; want 2h", lag, ok)
		}

		tests := []struct {
			report, windowEnd string
			next              string
			redelivered       [2]string
			skipped           [2]string
		}{
			{report: "diagram_13", windowEnd: "07:00:00", next: "06:00:00", redelivered: [2]string{"06:00:00", "10:00:00"}},
			{report: "diagram_13", windowEnd: "11:30:00", next: "10:30:00", skipped: [2]string{"10:00:00", "10:30:00"}},
			{report: "skill_4", windowEnd: "07:20:00", next: "06:00:00"},
			{report: "skill_4", windowEnd: "00:20:00", next: "00:00:00"}, // not before its day
			{report: "chat_3", windowEnd: "07:20:00", next: "07:00:00"},
		}
		for _, tt := range tests {
			plan, err := w.PlanOffsetSet(ctx, name, tt.report, at(tt.windowEnd), now)
			if err != nil {
				t.Fatalf("PlanOffsetSet(%s, %s): %v", tt.report, tt.windowEnd, err)
			}
			pc := plan.Changes[0]
			if !pc.NextRead.Equal(at(tt.next)) {
				t.Errorf("%s set to %s: next read %s, want %s", tt.report, tt.windowEnd, pc.NextRead.In(bogota), tt.next)
			}
			span := func(s source.Span, want [2]string) bool {
				if want[0] == "" {
					return s.IsZero()
				}
				return s.From.Equal(at(want[0])) && s.To.Equal(at(want[1]))
			}
			if !span(pc.Redelivered, tt.redelivered) || !span(pc.Skipped, tt.skipped) {
				t.Errorf("%s set to %s: redelivered %+v, skipped %+v; want %v, %v", tt.report, tt.windowEnd, pc.Redelivered, pc.Skipped, tt.redelivered, tt.skipped)
			}
			if tt.report == "diagram_13" && (!pc.After.LastSeen.Equal(stored.LastSeen) || len(pc.After.Seen) != 0) {
				t.Errorf("set keeps last_seen and drops the seen rows: %+v", pc.After)
			}
		}
		if plan := mustPlan(t)(w.PlanOffsetSet(ctx, name, "diagram_13", at("07:00:00"), now)); plan.TransactionalID != prefix+"-"+name {
			t.Errorf("transactional ID %q", plan.TransactionalID)
		}

		if _, err := w.PlanOffsetSet(ctx, name, "diagram_13", at("12:00:01"), now); !errors.Is(err, source.ErrFutureCursor) {
			t.Errorf("a window_end after now: %v, want ErrFutureCursor", err)
		}
		if _, err := w.PlanOffsetSet(ctx, name, "chat_1", at("07:00:00"), now); !errors.Is(err, source.ErrUnknownReport) {
			t.Errorf("an unknown report: %v, want ErrUnknownReport", err)
		}
		var up *source.UnknownPartitionError
		pos := offsets.Position{WindowEnd: at("07:00:00")}
		if _, err := w.PlanOffsets(ctx, name, []source.OffsetChange{{Key: key(name, "diagram_4"), Position: &pos}}, now); !errors.As(err, &up) || up.Reset {
			t.Errorf("a position for a report not read: %v, want an *UnknownPartitionError", err)
		}
		if _, err := w.PlanOffsets(ctx, name, []source.OffsetChange{{Key: key(name, "chat_1")}}, now); !errors.As(err, &up) || !up.Reset {
			t.Errorf("a reset of a report neither read nor stored: %v, want an *UnknownPartitionError", err)
		}

		// Reset everything of the connector: one transaction with its ID, the other
		// connector's position untouched.
		plan, err := w.PlanOffsetReset(ctx, name, nil, now)
		if err != nil || len(plan.Changes) != 2 {
			t.Fatalf("PlanOffsetReset: %+v, %v; want the two stored positions", plan, err)
		}
		zombie := kafkatest.Client(t, kc.Seeds, kgo.TransactionalID(prefix+"-"+name))
		if err := zombie.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		rec, err := offsets.Record(offTopic, key(name, "diagram_13"), &stored)
		if err != nil {
			t.Fatal(err)
		}
		if err := zombie.ProduceSync(ctx, rec).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := w.ApplyOffsets(ctx, plan); err != nil {
			t.Fatal(err)
		}
		if err := zombie.EndTransaction(ctx, kgo.TryCommit); !errors.Is(err, kerr.ProducerFenced) && !errors.Is(err, kerr.InvalidProducerEpoch) {
			t.Errorf("an instance still running commits after the change: %v, want fenced", err)
		}
		left, err := seed.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(left) != 1 || left[0].Key.Connector != other {
			t.Errorf("positions left: %+v, want only %s's", left, other)
		}

		// A running connector's positions are refused before anything is read.
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- w.Run(rctx) }()
		waitStatus(t, "running", func() source.Status { st, _ := w.Status(name); return st },
			func(st source.Status) bool { return st.State == source.StateRunning })
		if err := w.RequireStopped(name); !errors.Is(err, source.ErrNotStopped) {
			t.Errorf("RequireStopped of a running connector: %v", err)
		}
		if err := w.ApplyOffsets(ctx, plan); !errors.Is(err, source.ErrNotStopped) {
			t.Errorf("ApplyOffsets on a running connector: %v, want ErrNotStopped", err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// mustPlan fails the test on a planning error.
func mustPlan(t *testing.T) func(*source.OffsetPlan, error) *source.OffsetPlan {
	return func(p *source.OffsetPlan, err error) *source.OffsetPlan {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
}

// TestApplyOffsetsCreatesTopicInRunningWorker: a running worker whose connector was
// stopped before it ever started (so before it created the offsets topic) can still
// take a position: it creates the topic, as starting the connector would have. A worker
// that is not run does not (TestOffsetsSet's "no offsets topic" in cmd).
func TestApplyOffsetsCreatesTopicInRunningWorker(t *testing.T) {
	kafkatest.Clusters(t, func(t *testing.T, kc kafkatest.Cluster) {
		ctx := context.Background()
		prefix := kafkatest.Topic(t)
		name := prefix + "-c"
		cfg := source.Config{Name: name, Server: "0040", Token: source.NewSecret("tok"), Location: bogota, DailyQuota: 1000,
			BaseURL: "http://127.0.0.1:1", Reports: []source.ReportConfig{{API: "diagram_13"}}}
		w, err := source.NewWorker([]source.Config{cfg}, source.WriteTo(testDestination(kc.Seeds, prefix)), source.Logger(testLogger(t)))
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Stop(ctx, name); err != nil { // before Run: it never starts
			t.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- w.Run(rctx) }()
		defer func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		}()
		now := time.Now()
		var plan *source.OffsetPlan
		for deadline := time.Now().Add(10 * time.Second); !w.Running(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the worker does not run")
			}
		}
		if st, _ := w.Status(name); st.State != source.StateStopped {
			t.Fatalf("connector %s, want it STOPPED since before Run", st.State)
		}
		if plan, err = w.PlanOffsetSet(ctx, name, "diagram_13", now.Add(-time.Hour), now); err != nil {
			t.Fatal(err)
		}
		if err := w.ApplyOffsets(ctx, plan); err != nil {
			t.Fatalf("ApplyOffsets in a running worker: %v", err)
		}
		got, err := w.Offsets(ctx, name)
		if err != nil || len(got) != 1 || !got[0].Position.WindowEnd.Equal(now.Add(-time.Hour).UTC()) {
			t.Fatalf("positions after the change: %+v, %v", got, err)
		}
	})
}
