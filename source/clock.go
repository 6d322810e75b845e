package source

import (
	"context"
	"math"
	"time"
)

// Clock tells the connector what time it is and lets it wait. Tests and the demo run the
// connector on a fast virtual clock shared with the simulator, so hours of traffic take
// seconds.
type Clock interface {
	Now() time.Time
	// Sleep waits until d has passed on this clock or ctx is done, returning ctx.Err().
	Sleep(ctx context.Context, d time.Duration) error
}

// WallClock is the real time.
type WallClock struct{}

func (WallClock) Now() time.Time { return time.Now() }

func (WallClock) Sleep(ctx context.Context, d time.Duration) error { return sleepReal(ctx, d) }

// FastClock is a virtual clock that starts at Start when the real clock reads Origin and
// runs Speed times faster. Two processes given the same three values agree on the time,
// which is how a worker process and a simulator share one virtual clock.
type FastClock struct {
	Origin time.Time // real instant at which the virtual clock reads Start
	Start  time.Time
	Speed  float64 // virtual seconds per real second; must be > 0
}

func (c FastClock) Now() time.Time {
	virtual := float64(time.Since(c.Origin)) * c.Speed
	t := c.Start
	// A fast clock run long enough passes what one Duration holds (292 years: 2.5 real
	// hours at the largest speed the config accepts): converted whole, it would wrap.
	for ; virtual >= math.MaxInt64; virtual -= math.MaxInt64 {
		t = t.Add(math.MaxInt64)
	}
	for ; virtual <= math.MinInt64; virtual -= math.MinInt64 {
		t = t.Add(math.MinInt64)
	}
	return t.Add(time.Duration(virtual))
}

func (c FastClock) Sleep(ctx context.Context, d time.Duration) error {
	real := float64(d) / c.Speed
	if real >= math.MaxInt64 {
		// Longer than a Duration holds (a slow clock's long wait, such as a benchmark's
		// clock that stands still): converted, it would wrap negative, the wait would
		// end at once, and the connector waiting would spin.
		<-ctx.Done()
		return ctx.Err()
	}
	return sleepReal(ctx, time.Duration(real))
}

func sleepReal(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
