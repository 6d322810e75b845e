package source

import (
	"fmt"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
)

// Window is the range one call asks for: date_ini..date_end, both inclusive, in whole
// seconds, as the API reads them.
type Window struct {
	Start, End time.Time
}

func (w Window) String() string {
	return w.Start.Format(time.RFC3339) + ".." + w.End.Format(time.RFC3339)
}

// plan decides the next window of one report, from where it stands.
//
// Detail reports read [cursor-lookback, now-settle]: the lookback rides in the same call,
// so a steady report costs one call per interval, and rows that appear late or change
// within the lookback are read again and recognised by the dedupe state. Every window is
// cut to the report's longest range.
//
// Bucketed reports do the same with the start aligned down to a bucket boundary, so no
// bucket is read in part, and a window never crosses local midnight: several of them
// label rows with an hour and no date (agent_6, skill_4), which only a one-day window
// makes unambiguous. The lookback does not reach back into the previous day; that day's
// last bucket is read once it has closed and settled.
//
// Range aggregates are read one closed bucket at a time, once the bucket has ended and
// settled.
//
// due is when this report should next be read, or was due: the connector reads the
// report due longest ago first, so when calls are scarce (pacing, a spent quota) every
// report takes its turn. A zero window means nothing is due yet.
func plan(rep *catalog.Report, rc *ReportConfig, cursor, now time.Time, loc *time.Location) (w Window, due time.Time) {
	horizon := now.Add(-rc.Settle).Truncate(time.Second)
	// A report with an End reads up to it and no further; its last window may be shorter
	// than the interval. Range aggregates read whole buckets, so the last one may end
	// after End.
	atEnd := false
	if !rc.End.IsZero() && rep.Kind != catalog.RangeAggregate && !horizon.Before(rc.End) {
		horizon, atEnd = rc.End, true
	}
	switch rep.Kind {
	case catalog.RangeAggregate:
		start := alignDown(cursor, rc.Bucket, loc)
		end := start.Add(rc.Bucket)
		if horizon.Before(end) {
			return Window{}, end.Add(rc.Settle)
		}
		return Window{Start: start, End: end.Add(-time.Second)}, end.Add(rc.Settle)
	default:
		if horizon.Before(cursor.Add(rc.Interval)) && !(atEnd && cursor.Before(horizon)) {
			return Window{}, cursor.Add(rc.Interval + rc.Settle)
		}
		// The configured start bounds the first reads only: a cursor already before it
		// (the start moved, "today" on a later day) keeps its lookback.
		start := cursor.Add(-rc.Lookback)
		if !cursor.Before(rc.Start) && start.Before(rc.Start) {
			start = rc.Start
		}
		end := horizon
		if rep.Kind == catalog.Bucketed {
			day := alignDown(cursor, 24*time.Hour, loc)
			start = alignDown(start, bucketOf(rep), loc)
			if start.Before(day) {
				start = day
			}
			if lastSecond := day.AddDate(0, 0, 1).Add(-time.Second); end.After(lastSecond) {
				end = lastSecond
			}
		}
		if max := rep.MaxWindow(); max > 0 && end.Sub(start) > max-time.Second {
			end = start.Add(max - time.Second)
		}
		due := cursor.Add(rc.Interval + rc.Settle)
		if atEnd && due.After(now) {
			due = now // a last, short window before End
		}
		return Window{Start: start.Truncate(time.Second), End: end}, due
	}
}

// NextRead is where a report whose committed cursor is at cursor reads next: the start
// of the window the connector plans from there (see plan). For a detail report it is the
// cursor minus the lookback (not before the configured start, for a first read); for a
// bucketed one the same aligned down to a bucket, and not before the cursor's local day;
// for a range aggregate the start of the bucket the cursor is in. Offset administration
// (offsets set) shows it, so that what an operator is told is what happens. Schedule
// fields left zero take their defaults.
func NextRead(rc ReportConfig, cursor time.Time, loc *time.Location) (time.Time, error) {
	rep, ok := catalog.Lookup(rc.API)
	if !ok {
		return time.Time{}, fmt.Errorf("connector: unknown report %q", rc.API)
	}
	rc = Config{Location: loc, Reports: []ReportConfig{rc}}.withDefaults().Reports[0]
	rc.End = time.Time{} // a backfill's end only shortens the window, never moves its start
	// Far enough ahead that the window is due, whatever the interval, settle or bucket.
	w, _ := plan(rep, &rc, cursor, cursor.Add(rc.Interval+rc.Settle+rc.Bucket+48*time.Hour), loc)
	return w.Start, nil
}

// advance is the cursor after window w of rep has been committed.
func advance(rep *catalog.Report, w Window, loc *time.Location) time.Time {
	next := w.End.Add(time.Second)
	switch {
	case rep.Kind == catalog.RangeAggregate:
		return next
	case rep.Kind == catalog.Bucketed && alignDown(next, 24*time.Hour, loc).Equal(next):
		return next // the day is done: the next window starts the next day
	}
	return w.End
}

// bucketOf is the size of a bucketed report's rows (one hour when the catalog is silent).
func bucketOf(rep *catalog.Report) time.Duration {
	if d, err := time.ParseDuration(rep.Bucket); err == nil && d > 0 {
		return d
	}
	return time.Hour
}

// alignDown truncates t to a multiple of d counted from local midnight, so hourly and
// daily buckets follow the operation's clock rather than UTC's.
func alignDown(t time.Time, d time.Duration, loc *time.Location) time.Time {
	lt := t.In(loc)
	midnight := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, loc)
	if d >= 24*time.Hour {
		return midnight
	}
	return midnight.Add(lt.Sub(midnight).Truncate(d))
}

// callsPerDay is how many calls a report costs a day in steady state.
func callsPerDay(rep *catalog.Report, rc *ReportConfig) float64 {
	every := rc.Interval
	if rep.Kind == catalog.RangeAggregate {
		every = rc.Bucket
	}
	return float64(24*time.Hour) / float64(every)
}

// halves splits w in two for bisection; ok is false when w is one second and cannot shrink.
func halves(w Window) (a, b Window, ok bool) {
	span := w.End.Sub(w.Start)
	if span < time.Second {
		return w, w, false
	}
	mid := w.Start.Add((span / 2).Truncate(time.Second))
	return Window{Start: w.Start, End: mid}, Window{Start: mid.Add(time.Second), End: w.End}, true
}

// errWindowTooDense is returned when a one-second window still holds the API's row cap.
type errWindowTooDense struct {
	Report string
	Window Window
	Rows   int
}

func (e *errWindowTooDense) Error() string {
	return fmt.Sprintf("report %s: the one-second window %s returned %d rows, the API's cap: rows are being lost upstream; the report is stopped rather than deliver a partial window", e.Report, e.Window, e.Rows)
}
