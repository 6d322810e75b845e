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
