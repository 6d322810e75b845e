package source

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/offsets"
	"github.com/wolkvox-connect/wolkvox-connect/sink"
)

func TestQuotaPacesAndResets(t *testing.T) {
	loc := time.FixedZone("Bogota", -5*3600)
	q, err := NewQuota(240, 0, loc) // 10 calls an hour; two hours (20 calls) may be spent ahead
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, loc)
	tests := []struct {
		name      string
		at        time.Time
		calls     int // calls attempted at that instant
		wantTaken int
		wantSpent bool
		wantUntil time.Time // when the last refused call may be made
	}{
		{"two hours ahead at midnight", day, 25, 20, false, day.Add(6 * time.Minute)},
		{"an hour later, six more", day.Add(time.Hour), 15, 10, false, day.Add(time.Hour + 6*time.Minute)},
		{"late in the day, the rest", day.Add(23 * time.Hour), 300, 210, true, day.AddDate(0, 0, 1)},
		{"after the reset, fresh", day.AddDate(0, 0, 1), 5, 5, false, time.Time{}},
	}
	for _, tt := range tests {
		taken := 0
		var until time.Time
		var spent bool
		for range tt.calls {
			u, s, ok, _ := q.Take(t.Context(), tt.at)
			if ok {
				taken++
				continue
			}
			until, spent = u, s
		}
		if taken != tt.wantTaken || spent != tt.wantSpent || !until.Equal(tt.wantUntil) {
			t.Errorf("%s: took %d (spent %v, until %s), want %d (spent %v, until %s)", tt.name, taken, spent, until, tt.wantTaken, tt.wantSpent, tt.wantUntil)
		}
	}
	if used, budget := q.Usage(day.AddDate(0, 0, 1)); used != 5 || budget != 240 {
		t.Errorf("Usage = %d of %d, want 5 of 240", used, budget)
	}
	q.Exhausted(day.AddDate(0, 0, 1).Add(time.Hour))
	if _, spent, ok, _ := q.Take(t.Context(), day.AddDate(0, 0, 1).Add(2*time.Hour)); ok || !spent {
		t.Errorf("after the API said the quota is spent, Take = ok %v spent %v", ok, spent)
	}
}

// TestTakeUnpacedSpendsAheadNeverOver: a call that cannot wait (a transaction is open)
// is taken ahead of the pace line, counted so that paced calls wait for it, and refused
// only when the day's budget is spent or the API said so.
func TestTakeUnpacedSpendsAheadNeverOver(t *testing.T) {
	loc := time.FixedZone("Bogota", -5*3600)
	q, err := NewQuota(240, 0, loc)
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, loc)
	for range 20 { // the pace line's two hours ahead
		if _, _, ok, _ := q.Take(t.Context(), day); !ok {
			t.Fatal("paced Take refused within the allowance")
		}
	}
	if _, spent, ok, _ := q.Take(t.Context(), day); ok || spent {
		t.Fatalf("paced Take: ok %v spent %v, want a pace wait", ok, spent)
	}
	for i := range 220 {
		if _, ok, _ := q.TakeUnpaced(t.Context(), day); !ok {
			t.Fatalf("TakeUnpaced refused call %d of the day's remaining 220", i+1)
		}
	}
	if until, ok, _ := q.TakeUnpaced(t.Context(), day); ok || !until.Equal(day.AddDate(0, 0, 1)) {
		t.Fatalf("TakeUnpaced past the budget: ok %v until %s, want refused until the reset", ok, until)
	}
	if used, _ := q.Usage(day); used != 240 {
		t.Errorf("used %d, want the whole budget of 240", used)
	}
	next := day.AddDate(0, 0, 1)
	q.Exhausted(next)
	if _, ok, _ := q.TakeUnpaced(t.Context(), next.Add(time.Hour)); ok {
		t.Error("TakeUnpaced after the API said the quota is spent")
	}
}

// memLedger is a Ledger in memory that one Quota at a time may claim, like the
// transactional ID of offsets.Ledger: a claim fences the previous claimant.
type memLedger struct {
	mu       sync.Mutex
	stored   offsets.QuotaUsage
	holder   int // claim number of the one writer
	claims   int
	reserves int
	failNext error
}

// claimant is one Quota's handle on a memLedger.
type claimant struct {
	l  *memLedger
	id int
}

func (c *claimant) Claim(context.Context) (offsets.QuotaUsage, error) {
	c.l.mu.Lock()
	defer c.l.mu.Unlock()
	c.l.claims++
	c.id = c.l.claims
	c.l.holder = c.id
	return c.l.stored, nil
}

func (c *claimant) Reserve(_ context.Context, u offsets.QuotaUsage) error {
	c.l.mu.Lock()
	defer c.l.mu.Unlock()
	if err := c.l.failNext; err != nil {
		c.l.failNext = nil
		return err
	}
	if c.l.holder != c.id {
		return fmt.Errorf("claimed by %d: %w", c.l.holder, sink.ErrFenced)
	}
	c.l.reserves++
	c.l.stored = u
	return nil
}

func (c *claimant) Close() {}

// stealing is a claimant whose ledger someone else claims right after each claim.
type stealing struct{ *claimant }

func (s stealing) Claim(ctx context.Context) (offsets.QuotaUsage, error) {
	u, err := s.claimant.Claim(ctx)
	(&claimant{l: s.l}).Claim(ctx)
	return u, err
}

// TestQuotaKeptInALedger: calls are reserved in the ledger, a block at a time, before
// they are made; a new Quota (a restart, another worker) resumes from the stored count,
// which is never below the calls made by all of them together; a Quota that finds the
// ledger claimed by another claims it back and takes over the other's count.
func TestQuotaKeptInALedger(t *testing.T) {
	loc := time.FixedZone("Bogota", -5*3600)
	day := time.Date(2026, 11, 20, 12, 0, 0, 0, loc)
	ctx := t.Context()
	l := &memLedger{}
	newQuota := func() *Quota {
		q, err := NewQuota(1000, 0, loc, KeptIn(&claimant{l: l}))
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	made := 0 // calls made by every Quota of the token
	take := func(q *Quota, n int) {
		t.Helper()
		for range n {
			_, ok, err := q.TakeUnpaced(ctx, day)
			if err != nil || !ok {
				t.Fatalf("TakeUnpaced: ok %v, err %v", ok, err)
			}
			made++
			if l.stored.Reserved < int64(made) {
				t.Fatalf("after %d calls the ledger holds %d: a crash now would undercount", made, l.stored.Reserved)
			}
		}
	}

	a := newQuota()
	take(a, 25) // blocks of 10 (1% of 1000): reserved 10, 20, 30
	if l.claims != 1 || l.reserves != 3 || l.stored.Reserved != 30 || !l.stored.Period.Equal(day.Add(-12*time.Hour)) {
		t.Fatalf("after 25 calls: %d claims, %d reservations, stored %+v; want 1, 3, 30 calls of the day starting at midnight", l.claims, l.reserves, l.stored)
	}

	// A restart (a crash of a): b counts every reserved call as made.
	b := newQuota()
	take(b, 1)
	if used, _ := b.Usage(day); used != 31 || l.stored.Reserved != 40 {
		t.Errorf("restarted: used %d, stored %d; want 31 (the 30 reserved, maybe made, and one) and 40", used, l.stored.Reserved)
	}

	// a was not dead, only cut off (or shares the token): it may spend the rest of its
	// block (b counted it as made); its next reservation finds the ledger claimed by b,
	// claims it back and takes over b's count.
	take(a, 5)
	take(a, 1)
	if used, _ := a.Usage(day); used != 41 || l.stored.Reserved != 50 || l.claims != 3 {
		t.Errorf("a after b: used %d, stored %d, %d claims; want 41 (b's 40 and one), 50, 3", used, l.stored.Reserved, l.claims)
	}
	take(b, 9) // the rest of b's reservation of 40
	if _, _, err := b.TakeUnpaced(ctx, day); err != nil {
		t.Fatalf("b claiming back: %v", err)
	}
	made++
	if used, _ := b.Usage(day); used != 51 || l.stored.Reserved != 60 {
		t.Errorf("b after a: used %d, stored %d; want 51 and 60", used, l.stored.Reserved)
	}
	if int64(made) > l.stored.Reserved {
		t.Errorf("%d calls made, %d stored", made, l.stored.Reserved)
	}

	// Claimed away on every try: given up on, nothing spent.
	contended := &claimant{l: l}
	f, _ := NewQuota(1000, 0, loc, KeptIn(stealing{contended}))
	if _, _, err := f.TakeUnpaced(ctx, day); !errors.Is(err, ErrQuotaContended) {
		t.Errorf("a ledger claimed away on every try: err %v, want ErrQuotaContended", err)
	}
	if used, _ := f.Usage(day); used != 60 || l.stored.Reserved != 60 {
		t.Errorf("contended: used %d, stored %d; want 60 (the count taken over, no call more) and 60", used, l.stored.Reserved)
	}

	// A reservation that fails for a passing reason spends nothing; the next one goes on.
	c := newQuota()
	l.failNext = errors.New("broker not up yet")
	if _, _, err := c.TakeUnpaced(ctx, day); err == nil || errors.Is(err, sink.ErrFenced) {
		t.Fatalf("failing reservation: err %v, want the passing error", err)
	}
	take(c, 1)
	if used, _ := c.Usage(day); used != 61 {
		t.Errorf("after a failed then a good reservation: used %d, want 61", used)
	}

	// A stored count of an earlier day is not this day's.
	l.stored, made = offsets.QuotaUsage{Period: day.AddDate(0, 0, -1), Reserved: 1000}, 0
	d := newQuota()
	take(d, 1)
	if used, _ := d.Usage(day); used != 1 {
		t.Errorf("yesterday's count stored: used %d, want 1", used)
	}

	// A day spent as stored: no call at all, until the reset.
	l.stored = offsets.QuotaUsage{Period: day.Add(-12 * time.Hour), Reserved: 1000}
	e := newQuota()
	until, spent, ok, err := e.Take(ctx, day)
	if err != nil || ok || !spent || !until.Equal(day.Add(12*time.Hour)) {
		t.Errorf("stored count says spent: ok %v spent %v until %s err %v; want refused until midnight", ok, spent, until, err)
	}
	if r, kept := e.Reserved(day); r != 1000 || !kept {
		t.Errorf("Reserved = %d, %v; want 1000, true", r, kept)
	}
	_, _, ok, _ = e.Take(ctx, day.Add(12*time.Hour))
	if !ok || l.stored.Reserved != 10 {
		t.Errorf("after the reset: ok %v, stored %d; want a call and a fresh block of 10", ok, l.stored.Reserved)
	}
}
