package sink

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Budget bounds the memory that buffered records take in the writers sharing it: the
// records their producers hold until the broker acknowledges them, and those waiting
// in the memory part of their transactions' spools. A worker gives one Budget to the
// writers of all its connectors ([SharedBudget]), so twenty connectors catching up at
// once hold what one budget allows, not twenty buffers; what does not fit waits in
// each transaction's spool file. A writer without one gets its own, of the
// [MaxBuffered] bytes.
//
// A record counts as [RecordMemory] bytes. Memory given to a record comes back when
// the broker answers for it (or it fails), or when its spool is dropped, never at a
// commit; so a writer waiting for room waits only on records in flight, and the
// budget cannot deadlock however the writers interleave. A Budget is safe for
// concurrent use.
type Budget struct {
	limit int64
	slack int64 // what must be free beyond a waiter's need before it is woken

	mu      sync.Mutex
	used    int64
	waiters []*budgetWaiter // first come, first served
}

type budgetWaiter struct {
	n     int64
	ready chan struct{} // closed once n is taken for it
}

// NewBudget returns a budget of bytes. A record larger than the whole budget is still
// taken when nothing else holds any, so no record is refused for its size here: the
// topic's limits (CheckSize) decide that.
func NewBudget(bytes int64) *Budget {
	return &Budget{limit: bytes, slack: bytes / 8}
}

// Limit is the budget's size in bytes.
func (b *Budget) Limit() int64 { return b.limit }

// Used is how many bytes buffered records hold now.
func (b *Budget) Used() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// RecordMemory is what a buffered record counts against a [Budget]: the memory of its
// key and value (their capacity: a recycled event's buffers may be larger than what
// they hold, see NewEvent) and of its headers' bytes, plus the record's own struct,
// its header slice and the producer's bookkeeping (recordOverhead).
func RecordMemory(r *kgo.Record) int64 {
	n := cap(r.Key) + cap(r.Value)
	for _, h := range r.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return int64(n) + recordOverhead
}

// recordOverhead is the memory a buffered record takes beyond its bytes: a kgo.Record
// with room for five headers is one 384-byte allocation (sink.EventHeaders.Record),
// and the producer keeps a promise and a slot in its batch for each.
const recordOverhead = 448

func (b *Budget) fits(n int64) bool { return b.used == 0 || b.used+n <= b.limit }

// tryTake takes n bytes if they fit now and nobody waits: those who wait come first.
func (b *Budget) tryTake(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.waiters) > 0 || !b.fits(n) {
		return false
	}
	b.used += n
	return true
}

// take waits until n bytes fit, after those who waited before, and takes them; or
// returns ctx's error, having taken nothing.
func (b *Budget) take(ctx context.Context, n int64) error {
	b.mu.Lock()
	if len(b.waiters) == 0 && b.fits(n) {
		b.used += n
		b.mu.Unlock()
		return nil
	}
	w := &budgetWaiter{n: n, ready: make(chan struct{})}
	b.waiters = append(b.waiters, w)
	b.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if i := slices.Index(b.waiters, w); i >= 0 {
		b.waiters = slices.Delete(b.waiters, i, i+1)
	} else {
		b.used -= n // granted as the context ended: given back
	}
	b.wake()
	return ctx.Err()
}

// give returns n bytes taken earlier.
func (b *Budget) give(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= n
	b.wake()
}

// wake grants the waiters in order while they fit with the slack to spare (or nothing
// is held): records come back one acknowledgement at a time, and a waiter woken for
// every one of them would be woken again at once for its next record; with the slack,
// one wake-up serves a run of records. Those who wait cannot be overtaken (tryTake), so
// what is held only falls until the first of them is served.
func (b *Budget) wake() {
	for len(b.waiters) > 0 {
		w := b.waiters[0]
		if b.used != 0 && b.used+w.n+b.slack > b.limit {
			return
		}
		b.used += w.n
		b.waiters = b.waiters[1:]
		close(w.ready)
	}
}

// share is one writer's part of a [Budget]: everything the writer takes and gives goes
// through it, so the writer can say how much of a budget it shares with others its own
// records hold ([Writer.Memory]).
type share struct {
	budget *Budget
	held   atomic.Int64
}

func (s *share) tryTake(n int64) bool {
	if !s.budget.tryTake(n) {
		return false
	}
	s.held.Add(n)
	return true
}

func (s *share) take(ctx context.Context, n int64) error {
	if err := s.budget.take(ctx, n); err != nil {
		return err
	}
	s.held.Add(n)
	return nil
}

func (s *share) give(n int64) {
	s.held.Add(-n)
	s.budget.give(n)
}
