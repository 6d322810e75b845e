package sink

import (
	"context"
	"sync"

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

	mu      sync.Mutex
	used    int64
	waiters int
	freed   chan struct{} // closed when memory comes back while someone waits
}

// NewBudget returns a budget of bytes. A record larger than the whole budget is still
// taken when nothing else holds any, so no record is refused for its size here: the
// topic's limits (CheckSize) decide that.
func NewBudget(bytes int64) *Budget {
	return &Budget{limit: bytes, freed: make(chan struct{})}
}

// Limit is the budget's size in bytes.
func (b *Budget) Limit() int64 { return b.limit }

// Used is how many bytes buffered records hold now.
func (b *Budget) Used() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// RecordMemory is what a buffered record counts against a [Budget]: its key, value and
// headers, plus the record's own struct, its header slice and the producer's
// bookkeeping (recordOverhead).
func RecordMemory(r *kgo.Record) int64 { return recordBytes(r) + recordOverhead }

// recordOverhead is the memory a buffered record takes beyond its bytes: a kgo.Record
// with room for five headers is one 384-byte allocation (sink.EventHeaders.Record),
// and the producer keeps a promise and a slot in its batch for each.
const recordOverhead = 448

func (b *Budget) fits(n int64) bool { return b.used == 0 || b.used+n <= b.limit }

// tryTake takes n bytes if they fit now.
func (b *Budget) tryTake(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.fits(n) {
		return false
	}
	b.used += n
	return true
}

// take waits until n bytes fit and takes them, or returns ctx's error.
func (b *Budget) take(ctx context.Context, n int64) error {
	for {
		b.mu.Lock()
		if b.fits(n) {
			b.used += n
			b.mu.Unlock()
			return nil
		}
		b.waiters++
		freed := b.freed
		b.mu.Unlock()
		var err error
		select {
		case <-freed:
		case <-ctx.Done():
			err = ctx.Err()
		}
		b.mu.Lock()
		b.waiters--
		b.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

// give returns n bytes taken earlier.
func (b *Budget) give(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= n
	if b.waiters > 0 {
		close(b.freed)
		b.freed = make(chan struct{})
	}
}
