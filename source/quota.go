package source

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/offsets"
	"github.com/wolkvox-connect/wolkvox-connect/sink"
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
	ledger    Ledger // nil: the count lives in memory only
	block     int64  // calls reserved in the ledger at a time

	mu        sync.Mutex
	used      int64
	reserved  int64     // calls of period the ledger holds; used never passes it
	period    time.Time // start of the quota day the count belongs to
	exhausted bool      // the API said TOKEN LIMIT EXCEEDED in this period

	ledgerMu sync.Mutex // serialises claims and reservations (the I/O, without mu)
	claimed  bool       // the ledger was claimed and read
}

// Ledger keeps a token's count of the day beyond the process, so that a restart, a
// crash loop or a move to another worker resumes the day's count instead of starting
// at zero: [offsets.Ledger], in the offsets topic. Claim makes the caller its one
// writer and returns the stored count; Reserve stores a higher one, and fails with
// sink.ErrFenced once another has claimed it; Close releases its connection.
//
// Several processes may share a token (a backfill beside the worker, a connector moving
// between workers): each claims the ledger back when it finds it fenced, and a claim
// counts every call the others reserved as made, so the count stays whole.
type Ledger interface {
	Claim(ctx context.Context) (offsets.QuotaUsage, error)
	Reserve(ctx context.Context, u offsets.QuotaUsage) error
	Close()
}

// ErrQuotaContended: the token's ledger was claimed by another process again and again
// while this one tried to reserve calls (see [Ledger]); nothing was spent.
var ErrQuotaContended = errors.New("connector: another process keeps claiming the token's call count")

// ErrQuotaLedger: the token's count could not be read or stored in Kafka (see Ledger):
// no call is made until it can be.
var ErrQuotaLedger = errors.New("connector: the token's call count is out of reach")

// maxQuotaContention is how often one Take claims the ledger back after losing it
// before it gives up with ErrQuotaContended (the caller backs off).
const maxQuotaContention = 3

// QuotaOpt configures a [Quota]; see [NewQuota].
type QuotaOpt func(*Quota)

// KeptIn keeps the count in l: calls are reserved there in blocks of 1% of the budget
// (1 to 20 calls) before they are made, so a crash wastes at most the rest of a block
// and the stored count is never below the calls made. A Quota starts from the count the
// ledger holds for the current quota day.
func KeptIn(l Ledger) QuotaOpt { return func(q *Quota) { q.ledger = l } }

// NewQuota returns the budget of a token allowed budget calls a day, its count reset
// at resetHour o'clock in loc.
func NewQuota(budget int64, resetHour int, loc *time.Location, opts ...QuotaOpt) (*Quota, error) {
	if budget <= 0 {
		return nil, fmt.Errorf("connector: daily quota must be positive, got %d", budget)
	}
	if resetHour < 0 || resetHour > 23 {
		return nil, fmt.Errorf("connector: quota reset hour must be 0..23, got %d", resetHour)
	}
	q := &Quota{budget: budget, resetHour: resetHour, loc: loc, block: min(max(budget/100, 1), 20)}
	for _, o := range opts {
		o(q)
	}
	return q, nil
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
		q.period, q.used, q.reserved, q.exhausted = p, 0, 0, false
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
// rather than paced. With a [Ledger], a call beyond the reserved ones is reserved there
// first; an error doing so (sink.ErrFenced when another worker has claimed the token)
// spends nothing.
func (q *Quota) Take(ctx context.Context, now time.Time) (until time.Time, spent, ok bool, err error) {
	return q.take(ctx, now, true)
}

// TakeUnpaced spends one call unless the day's budget is spent (until is then the
// reset), ahead of the pace line if need be: for a call that cannot wait, such as one
// made while a transaction is open, or a retry inside a read. The pace line counts it,
// so later Takes wait for it. Errors are Take's.
func (q *Quota) TakeUnpaced(ctx context.Context, now time.Time) (until time.Time, ok bool, err error) {
	until, _, ok, err = q.take(ctx, now, false)
	return until, ok, err
}

func (q *Quota) take(ctx context.Context, now time.Time, paced bool) (until time.Time, spent, ok bool, err error) {
	contended := 0
	for {
		q.mu.Lock()
		q.roll(now)
		reset := q.period.AddDate(0, 0, 1)
		if q.exhausted || q.used >= q.budget {
			q.mu.Unlock()
			return reset, true, false, nil
		}
		if paced {
			day := reset.Sub(q.period)
			ahead := max(paceAhead, time.Duration(float64(paceAheadCalls)/float64(q.budget)*float64(day)))
			earned := float64(q.budget) * float64(now.Sub(q.period)+ahead) / float64(day)
			if float64(q.used+1) > earned {
				// when the line reaches used+1
				at := q.period.Add(time.Duration(float64(q.used+1)/float64(q.budget)*float64(day)) - ahead)
				q.mu.Unlock()
				if at.After(reset) {
					at = reset
				}
				return at, false, false, nil
			}
		}
		if q.ledger == nil || (q.claimed && q.used < q.reserved) {
			q.used++
			q.mu.Unlock()
			return time.Time{}, false, true, nil
		}
		period := q.period
		q.mu.Unlock()
		if err := q.reserve(ctx, period); err != nil {
			if errors.Is(err, ErrQuotaContended) && contended < maxQuotaContention {
				contended++
				continue
			}
			return time.Time{}, false, false, err
		}
		// Go round: the claim may have found the day spent, or the period may have
		// rolled meanwhile.
	}
}

// reserve claims the ledger if need be (taking over its count of period) and reserves
// the next block of period's calls in it.
func (q *Quota) reserve(ctx context.Context, period time.Time) error {
	q.ledgerMu.Lock()
	defer q.ledgerMu.Unlock()
	if err := q.claimLocked(ctx); err != nil {
		return err
	}
	q.mu.Lock()
	if !q.period.Equal(period) || q.used < q.reserved || q.used >= q.budget {
		q.mu.Unlock()
		return nil // nothing to reserve now: the caller looks again
	}
	target := min(q.used+q.block, q.budget)
	q.mu.Unlock()
	if err := q.ledger.Reserve(ctx, offsets.QuotaUsage{Period: period, Reserved: target}); err != nil {
		q.mu.Lock()
		q.claimed = false // a failed reservation is claimed again (Ledger.Reserve)
		q.mu.Unlock()
		if errors.Is(err, sink.ErrFenced) {
			// Another process counts this token too (a backfill, a worker the token is
			// moving to or from): claim again, which reads what it reserved. The count
			// stays whole either way; ErrQuotaContended says it keeps happening.
			return fmt.Errorf("%w: %w", ErrQuotaContended, err)
		}
		return fmt.Errorf("%w: reserving calls of the token's quota: %w", ErrQuotaLedger, err)
	}
	q.mu.Lock()
	if q.period.Equal(period) {
		q.reserved = max(q.reserved, target)
	}
	q.mu.Unlock()
	return nil
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

// Claim makes this process the keeper of the token's count now, if the count is kept
// in a [Ledger] and was not claimed yet, taking over the ledger's count of now's quota
// day; the first Take would claim it anyway. A connector claims before it loads its
// positions: the claim fences a crashed predecessor's ledger and ends the reservation
// it may have left open on the offsets topic, which would otherwise hold every
// connector's load (offsets.Store.Load reads to the high watermark) for up to the
// ledger's transaction timeout.
func (q *Quota) Claim(ctx context.Context, now time.Time) error {
	if q.ledger == nil {
		return nil
	}
	q.ledgerMu.Lock()
	defer q.ledgerMu.Unlock()
	q.mu.Lock()
	q.roll(now)
	q.mu.Unlock()
	return q.claimLocked(ctx)
}

// claimLocked claims the ledger unless it is claimed, taking over its count of the
// current period; q.ledgerMu is held.
func (q *Quota) claimLocked(ctx context.Context) error {
	if q.claimed {
		return nil
	}
	stored, err := q.ledger.Claim(ctx)
	if err != nil {
		return fmt.Errorf("%w: reading the token's stored call count: %w", ErrQuotaLedger, err)
	}
	q.mu.Lock()
	if stored.Period.Equal(q.period) {
		// What was reserved may all have been spent: count it as spent.
		q.used, q.reserved = max(q.used, stored.Reserved), max(q.reserved, stored.Reserved)
	}
	q.claimed = true
	q.mu.Unlock()
	return nil
}

// Close releases the ledger's connection, if any; a later Take claims it again.
func (q *Quota) Close() {
	if q.ledger == nil {
		return
	}
	q.ledgerMu.Lock()
	defer q.ledgerMu.Unlock()
	q.ledger.Close()
	q.mu.Lock()
	q.claimed = false
	q.mu.Unlock()
}

// Reserved returns the calls of the current quota day that the ledger holds as
// reserved, and whether there is a ledger: at least the calls spent, at most a block
// more.
func (q *Quota) Reserved(now time.Time) (reserved int64, kept bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.roll(now)
	return q.reserved, q.ledger != nil
}
