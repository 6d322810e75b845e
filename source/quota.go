package source

import (
	"fmt"
	"sync"
	"time"
)

// Quota is the daily call budget of one token, shared by every connector and report
// that uses the token. Wolkvox counts every call, retries and token_info included, and
// resets the count once a day; Quota mirrors that count so the connector stops before
// the API has to refuse, and waits for the reset instead of calling.
//
// It also paces: by any moment of the quota day, at most the share of the budget that
// the elapsed part of the day earns, plus two hours' worth ahead, may be spent. Steady
// state (which validate checks fits the budget) stays under that line; a catch-up or a
// burst of bisections that would run over it waits, which stretches its intervals, so
// the last hours of the day never find the budget spent.
type Quota struct {
	budget    int64
	resetHour int
	loc       *time.Location

	mu        sync.Mutex
	used      int64
	period    time.Time // start of the quota day the count belongs to
	exhausted bool      // the API said TOKEN LIMIT EXCEEDED in this period
}

// NewQuota returns the budget of a token allowed budget calls a day, its count reset
// at resetHour o'clock in loc.
func NewQuota(budget int64, resetHour int, loc *time.Location) (*Quota, error) {
	if budget <= 0 {
		return nil, fmt.Errorf("connector: daily quota must be positive, got %d", budget)
	}
	if resetHour < 0 || resetHour > 23 {
		return nil, fmt.Errorf("connector: quota reset hour must be 0..23, got %d", resetHour)
	}
	return &Quota{budget: budget, resetHour: resetHour, loc: loc}, nil
}

// periodStart is the start of the quota day that contains t.
func (q *Quota) periodStart(t time.Time) time.Time {
	lt := t.In(q.loc)
	p := time.Date(lt.Year(), lt.Month(), lt.Day(), q.resetHour, 0, 0, 0, q.loc)
	if lt.Before(p) {
		p = p.AddDate(0, 0, -1)
	}
	return p
}

func (q *Quota) roll(now time.Time) {
	if p := q.periodStart(now); !p.Equal(q.period) {
		q.period, q.used, q.exhausted = p, 0, false
	}
}

// paceAhead is how far ahead of an even spread over the day calls may be spent: two
// hours' worth, and at least paceAheadCalls, so that a small budget still lets every
// report catch up at once after a reset.
const (
	paceAhead      = 2 * time.Hour
	paceAheadCalls = 20
)

// Take spends one call if the budget allows it now. Otherwise it returns when to try
// again, and whether that is because the day's budget is spent (until is then the reset)
// rather than paced.
func (q *Quota) Take(now time.Time) (until time.Time, spent, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.roll(now)
	reset := q.period.AddDate(0, 0, 1)
	if q.exhausted || q.used >= q.budget {
		return reset, true, false
	}
	day := reset.Sub(q.period)
	ahead := max(paceAhead, time.Duration(float64(paceAheadCalls)/float64(q.budget)*float64(day)))
	earned := float64(q.budget) * float64(now.Sub(q.period)+ahead) / float64(day)
	if float64(q.used+1) > earned {
		// when the line reaches used+1
		at := q.period.Add(time.Duration(float64(q.used+1)/float64(q.budget)*float64(day)) - ahead)
		if at.After(reset) {
			at = reset
		}
		return at, false, false
	}
	q.used++
	return time.Time{}, false, true
}

// TakeUnpaced spends one call unless the day's budget is spent (until is then the
// reset), ahead of the pace line if need be: for a call that cannot wait, such as one
// made while a transaction is open. The pace line counts it, so later Takes wait for it.
func (q *Quota) TakeUnpaced(now time.Time) (until time.Time, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.roll(now)
	if q.exhausted || q.used >= q.budget {
		return q.period.AddDate(0, 0, 1), false
	}
	q.used++
	return time.Time{}, true
}

// Spent records a call that was not taken through Take (a retry inside the client).
func (q *Quota) Spent(now time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.roll(now)
	q.used++
}

// Exhausted records that the API refused a call for quota: nothing more is spent until
// the reset, whatever this count says (other programs may share the token).
func (q *Quota) Exhausted(now time.Time) time.Time {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.roll(now)
	q.exhausted = true
	return q.period.AddDate(0, 0, 1)
}

// Usage returns the calls spent in the current quota day and the budget.
func (q *Quota) Usage(now time.Time) (used, budget int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.roll(now)
	return q.used, q.budget
}
