package wolkvox

import (
	"context"
	"fmt"
)

// MaxInFlight is the most simultaneous calls the API accepts per token.
const MaxInFlight = 2

// Limiter bounds the calls in flight with one token. Wolkvox enforces at most 2 and asks
// for 1 ("schedule the next call when the previous one succeeded"), so every Client
// using the same token must share one Limiter (see WithLimiter). A call holds its slot
// from the request until its body is read to the end; backoff waits hold none.
//
// A Limiter is safe for concurrent use and owns no goroutine.
type Limiter struct {
	slots chan struct{}
}

// NewLimiter returns a Limiter allowing inFlight calls at once: 1 (the API's advice) or 2
// (its hard limit). Any other value is an error wrapping ErrInvalidOption.
func NewLimiter(inFlight int) (*Limiter, error) {
	if inFlight < 1 || inFlight > MaxInFlight {
		return nil, fmt.Errorf("source: %w: NewLimiter: inFlight is %d, want 1 or 2", ErrInvalidOption, inFlight)
	}
	return &Limiter{slots: make(chan struct{}, inFlight)}, nil
}

// acquire waits for a slot or for ctx to end.
func (l *Limiter) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil { // a free slot must not win over a cancelled ctx
		return context.Cause(ctx)
	}
	select {
	case l.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (l *Limiter) release() { <-l.slots }
