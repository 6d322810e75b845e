package restapi

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/offsets"
	"github.com/wolkvox-connect/wolkvox-connect/source"
)

// cot is Bogota's zone as a fixed offset, so rendered times do not depend on tzdata.
var cot = time.FixedZone("COT", -5*3600)

// fixedNow is the fake clock of these tests.
var fixedNow = time.Date(2026, 11, 20, 12, 0, 0, 0, cot)

const secretToken = "sekret-wolkvox-token"

// fakeWorker is a WorkerAPI with the worker's rules (offsets change only while
// stopped) and a log of what was asked of it.
type fakeWorker struct {
	mu      sync.Mutex
	order   []string
	conns   map[string]*fakeConn
	actions []string
	// stopErr is what Stop and Restart return (after recording the call).
	stopErr error
}

type fakeConn struct {
	cfg     source.Config
	st      source.Status
	entries []offsets.Entry
	stopped bool
}

func newFake() *fakeWorker {
	alpha := source.Config{
		Name: "alpha", Server: "0040", Token: source.NewSecret(secretToken), Location: cot, DailyQuota: 1000, QuotaResetHour: 0,
		BaseURL: "https://user:pass@proxy.example:8443/wolkvox", MaxInFlight: 0,
		Reports: []source.ReportConfig{
			{API: "act_3", Params: map[string]string{"cod_act": "X"}, Interval: 5 * time.Minute, Lookback: time.Hour, Settle: time.Minute, Bucket: time.Hour,
				Start: time.Date(2026, 11, 1, 0, 0, 0, 0, cot)},
			{API: "diagram_13", Interval: 5 * time.Minute, Lookback: time.Hour, Settle: time.Minute, Bucket: time.Hour},
		},
	}
	beta := source.Config{
		Name: "beta", Server: "0041", Token: source.NewSecret(secretToken), Location: cot, DailyQuota: 2000, MaxInFlight: 2,
		Reports: []source.ReportConfig{{API: "chat_3", Interval: 5 * time.Minute, Lookback: time.Hour, Settle: time.Minute, Bucket: time.Hour}},
	}
	return &fakeWorker{
		order: []string{"alpha", "beta"},
		conns: map[string]*fakeConn{
			"alpha": {
				cfg: alpha,
				st: source.Status{
					Name: "alpha", State: source.StateRunning, QuotaUsed: 10, QuotaLimit: 1000, QuotaReserved: 20, ProducerMemory: 4096, ProducerMemoryLimit: 16 << 20,
					Reports: []source.ReportStatus{
						{
							Report: "act_3", Key: "act_3,cod_act=X", Topic: "wolkvox.alpha.act_3", State: source.StateRunning,
							NextPoll: fixedNow.Add(4 * time.Minute), Cursor: fixedNow.Add(-time.Minute), LastSeen: fixedNow.Add(-90 * time.Second),
							Rows: 120, DeadLetters: 1, Duplicates: 7, Windows: 3, Calls: 4, Splits: 1, Commits: 3, Aborts: 1, UpstreamErrs: 1,
						},
						{
							Report: "diagram_13", Key: "diagram_13", Topic: "wolkvox.alpha.diagram_13", State: source.StateBackingOff,
							LastError: "wolkvox: 500", NextPoll: fixedNow.Add(30 * time.Second),
						},
					},
				},
				entries: []offsets.Entry{{
					Key:      offsets.Key{Connector: "alpha", Server: "0040", Report: "act_3", Params: map[string]string{"cod_act": "X"}},
					Position: offsets.Position{Version: 1, WindowEnd: time.Date(2026, 11, 20, 16, 59, 0, 0, time.UTC)},
				}},
			},
			"beta": {
				cfg:     beta,
				stopped: true,
				st: source.Status{
					Name: "beta", State: source.StateStopped, QuotaUsed: 2000, QuotaLimit: 2000,
					Reports: []source.ReportStatus{{Report: "chat_3", Key: "chat_3", Topic: "wolkvox.beta.chat_3", State: source.StateStopped}},
				},
				entries: []offsets.Entry{
					{
						Key: offsets.Key{Connector: "beta", Server: "0041", Report: "chat_3"},
						Position: offsets.Position{Version: 1, LastSeen: time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC),
							WindowEnd: time.Date(2026, 11, 20, 16, 0, 0, 0, time.UTC)},
					},
					{
						// A report no longer configured, with a value this release cannot read.
						Key: offsets.Key{Connector: "beta", Server: "0041", Report: "chat_1"},
						Err: fmt.Errorf("%w: version 9", offsets.ErrUnsupportedVersion),
					},
				},
			},
		},
	}
}

func (f *fakeWorker) conn(name string) (*fakeConn, error) {
	c, ok := f.conns[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", source.ErrUnknownConnector, name)
	}
	return c, nil
}

func (f *fakeWorker) record(format string, args ...any) {
	f.actions = append(f.actions, fmt.Sprintf(format, args...))
}

func (f *fakeWorker) Actions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.actions)
}

func (f *fakeWorker) Names() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.order)
}

func (f *fakeWorker) Config(name string) (source.Config, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.conn(name)
	if err != nil {
		return source.Config{}, err
	}
	return c.cfg, nil
}

func (f *fakeWorker) Status(name string) (source.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.conn(name)
	if err != nil {
		return source.Status{}, err
	}
	st := c.st
	st.Reports = slices.Clone(st.Reports)
	return st, nil
}

func (f *fakeWorker) setState(name string, s source.State) error {
	c, err := f.conn(name)
	if err != nil {
		return err
	}
	c.st.State = s
	for i := range c.st.Reports {
		c.st.Reports[i].State = s
	}
	return nil
}

func (f *fakeWorker) Pause(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("pause %s", name)
	return f.setState(name, source.StatePaused)
}

func (f *fakeWorker) Resume(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("resume %s", name)
	return f.setState(name, source.StateRunning)
}

func (f *fakeWorker) Stop(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("stop %s", name)
	c, err := f.conn(name)
	if err != nil {
		return err
	}
	c.stopped = true
	if err := f.setState(name, source.StateStopped); err != nil {
		return err
	}
	return f.stopErr
}

func (f *fakeWorker) Restart(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("restart %s", name)
	c, err := f.conn(name)
	if err != nil {
		return err
	}
	if f.stopErr != nil {
		return f.stopErr
	}
	c.stopped = false
	return f.setState(name, source.StateRunning)
}

func (f *fakeWorker) Offsets(_ context.Context, name string) ([]offsets.Entry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.conn(name)
	if err != nil {
		return nil, err
	}
	return slices.Clone(c.entries), nil
}

func (f *fakeWorker) RequireStopped(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stoppedLocked(name)
}

func (f *fakeWorker) stoppedLocked(name string) error {
	c, err := f.conn(name)
	if err != nil {
		return err
	}
	if !c.stopped {
		return source.ErrNotStopped
	}
	return nil
}

// PlanOffsets follows the engine's partition rule on the fake's configuration and
// entries (package source proves the rule; these tests prove the answers to it).
func (f *fakeWorker) PlanOffsets(ctx context.Context, name string, changes []source.OffsetChange, now time.Time) (*source.OffsetPlan, error) {
	entries, err := f.Offsets(ctx, name)
	if err != nil {
		return nil, err
	}
	cfg, _ := f.Config(name)
	var known []offsets.Key
	for _, rc := range cfg.Reports {
		known = append(known, source.OffsetKey(cfg, rc))
	}
	plan := &source.OffsetPlan{Connector: name}
	for i, ch := range changes {
		has := func(k offsets.Key) bool { return k.String() == ch.Key.String() }
		stored := slices.ContainsFunc(entries, func(e offsets.Entry) bool { return has(e.Key) })
		if !slices.ContainsFunc(known, has) && (ch.Position != nil || !stored) {
			return nil, &source.UnknownPartitionError{Index: i, Key: ch.Key, Reset: ch.Position == nil, Known: known}
		}
		if ch.Position != nil && ch.Position.WindowEnd.After(now) {
			return nil, fmt.Errorf("%w: %s", source.ErrFutureCursor, ch.Position.WindowEnd)
		}
		plan.Changes = append(plan.Changes, source.PlannedChange{Key: ch.Key, After: ch.Position})
	}
	return plan, nil
}

func (f *fakeWorker) PlanOffsetReset(ctx context.Context, name string, _ []string, now time.Time) (*source.OffsetPlan, error) {
	entries, err := f.Offsets(ctx, name)
	if err != nil {
		return nil, err
	}
	var changes []source.OffsetChange
	for _, e := range entries {
		changes = append(changes, source.OffsetChange{Key: e.Key})
	}
	return f.PlanOffsets(ctx, name, changes, now)
}

func (f *fakeWorker) ApplyOffsets(ctx context.Context, plan *source.OffsetPlan) error {
	var changes []source.OffsetChange
	for _, pc := range plan.Changes {
		changes = append(changes, source.OffsetChange{Key: pc.Key, Position: pc.After})
	}
	return f.alterOffsets(ctx, plan.Connector, changes)
}

func (f *fakeWorker) alterOffsets(_ context.Context, name string, changes []source.OffsetChange) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.stoppedLocked(name); err != nil {
		return err
	}
	c, _ := f.conn(name)
	for _, ch := range changes {
		want := ch.Key.String()
		i := slices.IndexFunc(c.entries, func(e offsets.Entry) bool { return e.Key.String() == want })
		if ch.Position == nil {
			f.record("reset %s", want)
			if i >= 0 {
				c.entries = slices.Delete(c.entries, i, i+1)
			}
			continue
		}
		f.record("set %s window_end=%s", want, ch.Position.WindowEnd.Format(time.RFC3339))
		e := offsets.Entry{Key: ch.Key, Position: *ch.Position}
		if i >= 0 {
			c.entries[i] = e
		} else {
			c.entries = append(c.entries, e)
		}
	}
	return nil
}
