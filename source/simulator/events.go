package simulator

import (
	"math"
	"slices"
	"time"
)

// event is one underlying interaction event of a report: a detail row, or one
// contribution to an aggregate. Everything about it is a function of (seed, report,
// minute, index).
type event struct {
	t       time.Time // the row's time (detail: its TimeField value)
	i       int       // index within its minute, a stable tie-break
	h       uint64    // the event's own hash
	root    *event    // first event of its interaction (itself when alone)
	pos     int       // position within the interaction
	visible time.Time // when the row first becomes visible
	edits   [2]time.Time
	nEdits  int
}

// version returns how many edits of e are visible at now (0 = original).
func (e *event) version(now time.Time) int {
	v := 0
	for k := range e.nEdits {
		if !e.edits[k].After(now) {
			v = k + 1
		}
	}
	return v
}

// changedAt returns when version v appeared.
func (e *event) changedAt(v int) time.Time {
	if v == 0 {
		return e.visible
	}
	return e.edits[v-1]
}

// genParams are the server-wide knobs event generation depends on.
type genParams struct {
	loc          *time.Location
	flat         bool
	lateFraction float64
	maxLate      time.Duration
	editFraction float64
	maxEditDelay time.Duration
	bursts       map[int64]int // unix minute → extra events, for this report
}

// diurnal is the share of the peak rate at a local hour.
func diurnal(hour int) float64 {
	switch {
	case hour >= 8 && hour < 18:
		return 1
	case hour >= 6 && hour < 21:
		return 0.5
	default:
		return 0.15
	}
}

// minuteEvents returns the events of one unix minute, ordered by time then index.
func (m *model) minuteEvents(minute int64, gp *genParams) []event {
	start := time.Unix(minute*60, 0)
	rate := m.rate
	if !gp.flat {
		rate *= diurnal(start.In(gp.loc).Hour())
	}
	base := hash(m.seed, m.rh, uint64(minute))
	x := rate * (0.5 + unit(hash(base, 1)))
	n := int(math.Floor(x))
	if unit(hash(base, 2)) < x-math.Floor(x) {
		n++
	}
	n += gp.bursts[minute]
	if n == 0 {
		return nil
	}
	evs := make([]event, n)
	for i := range evs {
		h := hash(base, 3, uint64(i))
		evs[i] = event{t: start.Add(time.Duration(h%60) * time.Second), i: i, h: h}
	}
	slices.SortFunc(evs, func(a, b event) int {
		if c := a.t.Compare(b.t); c != 0 {
			return c
		}
		return a.i - b.i
	})
	for k := range evs {
		e := &evs[k]
		e.root = e
		if m.groupable && k > 0 {
			prev := &evs[k-1]
			if prev.pos < 5 && unit(hash(e.h, 4)) < 0.4 {
				e.root, e.pos = prev.root, prev.pos+1
			}
		}
		delay := time.Duration(between(hash(e.h, 5), 0, 20)) * time.Second
		if unit(hash(e.h, 6)) < gp.lateFraction {
			delay = time.Duration(between(hash(e.h, 7), 60, int64(gp.maxLate/time.Second))) * time.Second
		}
		e.visible = e.t.Add(delay)
		if m.editable && unit(hash(e.h, 8)) < gp.editFraction {
			maxEdit := int64(gp.maxEditDelay / time.Second)
			e.nEdits = 1
			e.edits[0] = e.visible.Add(time.Duration(between(hash(e.h, 9), 60, maxEdit)) * time.Second)
			if unit(hash(e.h, 10)) < 0.33 {
				e.nEdits = 2
				e.edits[1] = e.edits[0].Add(time.Duration(between(hash(e.h, 11), 60, maxEdit)) * time.Second)
			}
		}
	}
	return evs
}

// forEachEvent calls fn for every event whose time lies in [from, to] (both inclusive,
// like the API's date_ini and date_end), in time order; fn returns false to stop.
func (m *model) forEachEvent(from, to time.Time, gp *genParams, fn func(*event) bool) {
	first, last := floorDiv(from.Unix(), 60), floorDiv(to.Unix(), 60)
	for minute := first; minute <= last; minute++ {
		evs := m.minuteEvents(minute, gp)
		for k := range evs {
			e := &evs[k]
			if e.t.Before(from) || e.t.After(to) {
				continue
			}
			if !fn(e) {
				return
			}
		}
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
