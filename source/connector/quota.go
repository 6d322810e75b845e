package connector

import (
	"fmt"
	"sync"
	"time"
)

// Quota is the daily call budget of one token, shared by every connector and report
// that uses the token. Wolkvox counts every call, retries and token_info included, and
// resets the count once a day; Quota mirrors that count so the connector stops before
// the API has to refuse, and waits for the reset instead of calling.
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

// Take spends one call. It returns the time of the next reset and false when the budget
// of the current day is spent: the caller then waits, without calling.
func (q *Quota) Take(now time.Time) (resetAt time.Time, ok bool) {
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
