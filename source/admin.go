package source

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/offsets"
	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
)

// Offset administration: the worker lists its connectors' stored positions (offsets)
// with [Worker.ListPositions], plans a change with [Worker.PlanOffsets] (or its
// shorthands [Worker.PlanOffsetSet] and [Worker.PlanOffsetReset]), which says what the
// change will do before anything is written — where each report reads next, which rows
// are delivered again, which are skipped — and writes a plan with
// [Worker.ApplyOffsets]. It is the one mechanism behind 'wolkvox-connect offsets' (on
// a worker built but not run, whose connectors are all stopped) and the REST API's
// offsets routes.
//
// Positions change only while their connector is stopped (never started, or stopped
// through [Worker.Stop]), and every write uses the connector's transactional ID, which
// fences an instance of it still running in another process: its next commit fails
// and it stops instead of overwriting the change.

// PositionInfo is one report's position as offset administration shows it: a report
// of the configuration, a position stored in the offsets topic, or both.
type PositionInfo struct {
	Key offsets.Key
	// Report is the report key ([ReportConfig.Key]).
	Report string
	// Configured: a report the connector reads. A position of a report removed from
	// the configuration, or of a connector this worker does not run, is not.
	Configured bool
	// Stored: the offsets topic holds a position (Position, or Err when unreadable).
	Stored   bool
	Position offsets.Position
	Err      error
	// NextRead is where a configured report reads next: from its position, or from its
	// configured start (now, without one) when nothing is stored. Zero otherwise.
	NextRead time.Time
	// Location is the connector's time zone (UTC for a connector not configured).
	Location *time.Location
}

// Lag is how far the cursor (window_end) is behind now; false without a position.
func (p PositionInfo) Lag(now time.Time) (time.Duration, bool) {
	if !p.Stored || p.Err != nil || p.Position.WindowEnd.IsZero() {
		return 0, false
	}
	return now.Sub(p.Position.WindowEnd), true
}

// ListPositions returns the positions of connector (every connector when empty): its
// configured reports in configuration order, then the positions stored for it that no
// configured report owns. With no connector named, the connectors this worker runs
// come first, in configuration order, then the others found in the topic, by name. now
// places the first read of a report without a position.
func (w *Worker) ListPositions(ctx context.Context, connector string, now time.Time) ([]PositionInfo, error) {
	configs := w.configs()
	if connector != "" {
		i := slices.IndexFunc(configs, func(c Config) bool { return c.Name == connector })
		if i < 0 {
			return nil, fmt.Errorf("%w: %q", ErrUnknownConnector, connector)
		}
		configs = configs[i : i+1]
	}
	entries, err := w.store.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", w.o.dest.OffsetsTopic, err)
	}
	stored := map[string]offsets.Entry{}
	for _, e := range entries {
		stored[e.Key.String()] = e
	}
	// Each connector's configured reports, then the positions stored for it that no
	// configured report owns; then, for connectors this worker does not run, their
	// positions by connector name.
	orphan := func(e offsets.Entry, loc *time.Location) PositionInfo {
		return PositionInfo{Key: e.Key, Report: reportKey(e.Key), Stored: true, Position: e.Position, Err: e.Err, Location: loc}
	}
	var out []PositionInfo
	for _, cfg := range configs {
		used := map[string]bool{}
		for _, rc := range cfg.Reports {
			p := PositionInfo{Key: OffsetKey(cfg, rc), Report: rc.Key(), Configured: true, Location: cfg.Location}
			if e, ok := stored[p.Key.String()]; ok {
				p.Stored, p.Position, p.Err = true, e.Position, e.Err
				used[p.Key.String()] = true
			}
			if p.Err == nil {
				cursor := firstCursor(rc, now)
				if p.Stored {
					cursor = p.Position.WindowEnd
				}
				if p.NextRead, err = NextRead(rc, cursor, cfg.Location); err != nil {
					return nil, err
				}
			}
			out = append(out, p)
		}
		for _, e := range entries {
			if e.Key.Connector == cfg.Name && !used[e.Key.String()] {
				out = append(out, orphan(e, cfg.Location))
			}
		}
	}
	if connector == "" {
		var rest []PositionInfo
		for _, e := range entries {
			if !slices.ContainsFunc(configs, func(c Config) bool { return c.Name == e.Key.Connector }) {
				rest = append(rest, orphan(e, time.UTC))
			}
		}
		slices.SortStableFunc(rest, func(x, y PositionInfo) int { return cmp.Compare(x.Key.Connector, y.Key.Connector) })
		out = append(out, rest...)
	}
	return out, nil
}

// firstCursor is the cursor of a report without a stored position: its configured
// start, or now (to the second) when it has none. The connector starts from it.
func firstCursor(rc ReportConfig, now time.Time) time.Time {
	if rc.Start.IsZero() {
		return now.Truncate(time.Second)
	}
	return rc.Start
}

// reportKey is the report key of a stored position's key, as a configured report with
// the same api name and parameters would show it.
func reportKey(k offsets.Key) string {
	rc := ReportConfig{API: k.Report, Params: k.Params}
	return rc.Key()
}

// OffsetPlan is a change of one connector's positions, not yet written: what
// [Worker.ApplyOffsets] writes, in one transaction, with TransactionalID.
type OffsetPlan struct {
	Connector, TransactionalID, Topic string
	Changes                           []PlannedChange
	// Location is the connector's time zone, to show the times in.
	Location *time.Location
}

// PlannedChange is one report's change and its consequences.
type PlannedChange struct {
	Key    offsets.Key
	Report string // the report key
	// Config is the configured report the position belongs to; nil for a position no
	// configured report owns.
	Config *ReportConfig
	// Before is the stored position (nil: none).
	Before *offsets.Entry
	// After is the position written; nil writes a tombstone (a reset).
	After *offsets.Position
	// NextRead is where the report reads next once the change is applied (zero when it
	// is not configured): for a reset, its configured start, or now minus its lookback.
	NextRead time.Time
	// Redelivered is the span of rows already delivered that will be delivered again
	// (the seen rows that recognised them are dropped); Skipped the span of rows not
	// read yet that will never be. Zero spans when none.
	Redelivered, Skipped Span
}

// Span is a time range [From, To).
type Span struct{ From, To time.Time }

// IsZero reports whether the span is empty.
func (s Span) IsZero() bool { return !s.From.Before(s.To) }

// ErrFutureCursor: a position whose window_end lies after now would skip every row
// until then.
var ErrFutureCursor = errors.New("connector: window_end is in the future")

// UnknownPartitionError is a change naming a report the connector does not read
// (setting it would change nothing the connector uses) or, for a reset, neither reads
// nor has stored: both are typos that would otherwise succeed silently.
type UnknownPartitionError struct {
	// Index is the change's place in the list given to PlanOffsets.
	Index int
	Key   offsets.Key
	Reset bool
	// Known are the keys of the connector's configured reports.
	Known []offsets.Key
}

func (e *UnknownPartitionError) Error() string {
	what := "is not a report of connector " + e.Key.Connector
	if e.Reset {
		what = "is neither a report of connector " + e.Key.Connector + " nor stored"
	}
	known := make([]string, len(e.Known))
	for i, k := range e.Known {
		known[i] = k.String()
	}
	return fmt.Sprintf("change %d: %s %s; its reports are %s", e.Index, e.Key, what, strings.Join(known, ", "))
}

// PlanOffsets checks changes of connector's positions and says what each does; now is the
// instant a window_end may not pass and the first read of a reset report is placed
// from. Every key must be the connector's; a position must be for a report it reads, a
// reset for one it reads or has stored ([*UnknownPartitionError]).
func (w *Worker) PlanOffsets(ctx context.Context, connector string, changes []OffsetChange, now time.Time) (*OffsetPlan, error) {
	cfg, entries, err := w.stored(ctx, connector)
	if err != nil {
		return nil, err
	}
	return w.plan(cfg, entries, changes, now)
}

// stored is connector's configuration and the positions stored for it.
func (w *Worker) stored(ctx context.Context, connector string) (Config, []offsets.Entry, error) {
	cfg, err := w.Config(connector)
	if err != nil {
		return Config{}, nil, err
	}
	entries, err := w.Offsets(ctx, connector)
	if err != nil {
		return Config{}, nil, fmt.Errorf("reading %s: %w", w.o.dest.OffsetsTopic, err)
	}
	return cfg, entries, nil
}

// plan is PlanOffsets on positions already read.
func (w *Worker) plan(cfg Config, entries []offsets.Entry, changes []OffsetChange, now time.Time) (*OffsetPlan, error) {
	connector := cfg.Name
	plan := &OffsetPlan{Connector: connector, TransactionalID: TransactionalID(w.o.dest.TransactionalIDPrefix, connector),
		Topic: w.o.dest.OffsetsTopic, Location: cfg.Location}
	known := make([]offsets.Key, len(cfg.Reports))
	for i, rc := range cfg.Reports {
		known[i] = OffsetKey(cfg, rc)
	}
	for i, ch := range changes {
		if ch.Key.Connector != connector {
			return nil, fmt.Errorf("connector: offset key %s does not belong to connector %s", ch.Key, connector)
		}
		enc := ch.Key.String()
		pc := PlannedChange{Key: ch.Key, Report: reportKey(ch.Key), After: ch.Position}
		if j := slices.IndexFunc(known, func(k offsets.Key) bool { return k.String() == enc }); j >= 0 {
			pc.Config = &cfg.Reports[j]
			pc.Report = pc.Config.Key()
		}
		if j := slices.IndexFunc(entries, func(e offsets.Entry) bool { return e.Key.String() == enc }); j >= 0 {
			pc.Before = &entries[j]
		}
		if pc.Config == nil && (ch.Position != nil || pc.Before == nil) {
			return nil, &UnknownPartitionError{Index: i, Key: ch.Key, Reset: ch.Position == nil, Known: known}
		}
		if ch.Position != nil && ch.Position.WindowEnd.After(now) {
			return nil, fmt.Errorf("%w: %s for %s (now is %s)", ErrFutureCursor, ch.Position.WindowEnd.Format(time.RFC3339), pc.Report, now.Format(time.RFC3339))
		}
		if err := pc.consequences(now, cfg.Location); err != nil {
			return nil, err
		}
		plan.Changes = append(plan.Changes, pc)
	}
	return plan, nil
}

// consequences fills NextRead, Redelivered and Skipped.
func (pc *PlannedChange) consequences(now time.Time, loc *time.Location) error {
	if pc.Config == nil {
		return nil
	}
	cursor := firstCursor(*pc.Config, now)
	if pc.After != nil {
		cursor = pc.After.WindowEnd
	}
	next, err := NextRead(*pc.Config, cursor, loc)
	if err != nil {
		return err
	}
	pc.NextRead = next
	if pc.Before == nil || pc.Before.Err != nil || pc.Before.Position.WindowEnd.IsZero() {
		return nil
	}
	oldEnd := pc.Before.Position.WindowEnd
	pc.Redelivered = Span{From: next, To: oldEnd}
	pc.Skipped = Span{From: oldEnd, To: next}
	return nil
}

// NextReadRule says in words how [NextRead] places a report's next read, for a plan's
// reader.
func NextReadRule(rc ReportConfig) string {
	rc = Config{Reports: []ReportConfig{rc}}.withDefaults().Reports[0]
	rep, _ := catalog.Lookup(rc.API)
	switch rep.Kind {
	case catalog.RangeAggregate:
		return fmt.Sprintf("the start of the %s bucket window_end is in", rc.Bucket)
	case catalog.Bucketed:
		return fmt.Sprintf("window_end minus the lookback of %s, aligned down to a bucket of the report, within its day", rc.Lookback)
	}
	return fmt.Sprintf("window_end minus the lookback of %s", rc.Lookback)
}

// PlanOffsetSet plans moving one report's cursor to windowEnd, keeping its last_seen and
// dropping its seen rows; report is a report key or an api name read once.
func (w *Worker) PlanOffsetSet(ctx context.Context, connector, report string, windowEnd, now time.Time) (*OffsetPlan, error) {
	cfg, entries, err := w.stored(ctx, connector)
	if err != nil {
		return nil, err
	}
	rc, err := cfg.Report(report)
	if err != nil {
		return nil, err
	}
	key := OffsetKey(cfg, rc)
	pos := offsets.Position{WindowEnd: windowEnd.UTC()}
	if i := slices.IndexFunc(entries, func(e offsets.Entry) bool { return e.Key.String() == key.String() }); i >= 0 && entries[i].Err == nil {
		pos.LastSeen = entries[i].Position.LastSeen
	}
	return w.plan(cfg, entries, []OffsetChange{{Key: key, Position: &pos}}, now)
}

// PlanOffsetReset plans deleting positions of connector: those of reports (report keys, or
// api names read once; the key of a position no configured report owns works too), or
// every position stored for it when reports is empty. A configured report with nothing
// stored is planned with Before nil: applying it changes nothing.
func (w *Worker) PlanOffsetReset(ctx context.Context, connector string, reports []string, now time.Time) (*OffsetPlan, error) {
	cfg, entries, err := w.stored(ctx, connector)
	if err != nil {
		return nil, err
	}
	var changes []OffsetChange
	if len(reports) == 0 {
		for _, e := range entries {
			changes = append(changes, OffsetChange{Key: e.Key})
		}
	}
	for _, report := range reports {
		rc, err := cfg.Report(report)
		if err == nil {
			changes = append(changes, OffsetChange{Key: OffsetKey(cfg, rc)})
			continue
		}
		// A position the configuration no longer owns is reset by the key ListPositions shows.
		i := slices.IndexFunc(entries, func(e offsets.Entry) bool { return reportKey(e.Key) == report })
		if i < 0 {
			return nil, err
		}
		changes = append(changes, OffsetChange{Key: entries[i].Key})
	}
	return w.plan(cfg, entries, changes, now)
}

// ApplyOffsets writes a plan's changes in one transaction with its transactional ID, once the
// connector is stopped ([ErrNotStopped] otherwise), creating the offsets topic if it
// is missing. Changes that change nothing (a reset of a report with nothing stored)
// are left out; a plan of only those writes nothing.
func (w *Worker) ApplyOffsets(ctx context.Context, plan *OffsetPlan) error {
	var changes []OffsetChange
	for _, pc := range plan.Changes {
		if pc.After != nil || pc.Before != nil {
			changes = append(changes, OffsetChange{Key: pc.Key, Position: pc.After})
		}
	}
	return w.alterOffsets(ctx, plan.Connector, changes)
}

// RequireStopped returns [ErrNotStopped] unless connector is stopped: a caller checks
// it before planning, so that a running connector is refused without reading the
// offsets topic.
func (w *Worker) RequireStopped(connector string) error {
	return w.alterOffsets(context.Background(), connector, nil)
}

// configs are the worker's connector configurations, defaults applied, in order.
func (w *Worker) configs() []Config {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]Config, len(w.entries))
	for i, e := range w.entries {
		out[i] = e.conn.Config()
	}
	return out
}
