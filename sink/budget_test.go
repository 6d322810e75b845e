package sink

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestBudget: what fits is taken at once and what does not waits until enough comes
// back, or until its context ends; a record larger than the whole budget is taken
// when nothing else holds any, so no size can wait for ever.
func TestBudget(t *testing.T) {
	b := NewBudget(100)
	steps := []struct {
		name string
		n    int64
		want bool
	}{
		{"fits", 60, true},
		{"fits exactly", 40, true},
		{"full", 1, false},
	}
	for _, s := range steps {
		if got := b.tryTake(s.n); got != s.want {
			t.Fatalf("%s: tryTake(%d) = %v, want %v (used %d)", s.name, s.n, got, s.want, b.Used())
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := b.take(ctx, 50); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("take on a full budget: %v, want the context's deadline", err)
	}

	taken := make(chan error, 1)
	go func() { taken <- b.take(context.Background(), 50) }()
	b.give(40) // 60 used: 50 does not fit yet
	select {
	case err := <-taken:
		t.Fatalf("take returned (%v) with 60 of 100 used", err)
	case <-time.After(20 * time.Millisecond):
	}
	b.give(60)
	if err := <-taken; err != nil {
		t.Fatal(err)
	}
	if b.Used() != 50 {
		t.Fatalf("used %d, want 50", b.Used())
	}
	b.give(50)
	if !b.tryTake(1000) || b.tryTake(1) {
		t.Fatalf("an empty budget must take a record larger than itself, and then nothing more")
	}
}

// TestBudgetWaitersComeFirst: while someone waits, nobody overtakes (tryTake fails
// though its bytes would fit); a waiter is woken once its need fits with an eighth of
// the budget to spare, not at every byte given back; one whose context ends leaves the
// queue, and the next is served.
func TestBudgetWaitersComeFirst(t *testing.T) {
	b := NewBudget(800) // slack 100
	if !b.tryTake(700) {
		t.Fatal("700 of 800 not taken")
	}
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() { first <- b.take(ctx, 300) }()
	second := make(chan error, 1)
	waitFor(t, func() bool { return b.queued() == 1 })
	go func() { second <- b.take(context.Background(), 200) }()
	waitFor(t, func() bool { return b.queued() == 2 })
	if b.tryTake(10) {
		t.Fatal("tryTake overtook the waiters")
	}
	b.give(250) // 450 used: 300 fits, but not with the slack
	select {
	case err := <-first:
		t.Fatalf("woken (%v) with 450 of 800 used for 300 and a slack of 100", err)
	case <-time.After(20 * time.Millisecond):
	}
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: %v", err)
	}
	// The first left the queue; 450 + 200 + 100 fits: the second is served.
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	if got := b.Used(); got != 650 {
		t.Fatalf("used %d, want 650", got)
	}
}

func (b *Budget) queued() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.waiters)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5s")
		}
	}
}
