package connectortest

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// WaitClock is a virtual clock that moves only while the connector waits on it: Sleep(d)
// takes d/Speed of real time and advances the clock by d, while the connector's calls,
// transactions and commits take no virtual time at all. A FastClock keeps running while
// a loaded machine (-race, 2 busy cores) spends real seconds on one poll, so the
// connector falls virtual hours behind and makes fewer calls than the test planned for;
// on a WaitClock it sees the same day however slow the machine is, and only the test's
// real duration changes.
//
// One goroutine sleeps on it (a connector's Run); Now may be read from any goroutine.
// [WaitClock.Sim] is the view to give the simulator, which the test can freeze.
type WaitClock struct {
	Speed float64 // virtual seconds per real second while sleeping; must be > 0

	mu       sync.Mutex
	now      time.Time // the time when no Sleep is under way
	sleeping bool
	began    time.Time // real instant the current Sleep began
	target   time.Time // where the current Sleep ends
	start    time.Time
	sim      SimClock
}

// NewWaitClock returns a WaitClock reading start.
func NewWaitClock(start time.Time, speed float64) *WaitClock {
	c := &WaitClock{Speed: speed, now: start, start: start}
	c.sim.c = c
	return c
}

// Start is the time the clock was created at.
func (c *WaitClock) Start() time.Time { return c.start }

// Now is the virtual time; during a Sleep it runs at Speed up to the Sleep's end.
func (c *WaitClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nowLocked()
}

func (c *WaitClock) nowLocked() time.Time {
	if !c.sleeping {
		return c.now
	}
	t := c.now.Add(time.Duration(float64(time.Since(c.began)) * c.Speed))
	if t.After(c.target) {
		return c.target
	}
	return t
}

// Sleep waits d/Speed of real time and moves the clock d forward, or less if ctx ends
// first; it returns ctx.Err().
func (c *WaitClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	c.mu.Lock()
	if c.sleeping {
		c.mu.Unlock()
		panic("connectortest.WaitClock: two goroutines sleep on one clock")
	}
	c.sleeping, c.began, c.target = true, time.Now(), c.now.Add(d)
	c.mu.Unlock()

	t := time.NewTimer(time.Duration(float64(d) / c.Speed))
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ctx.Err() != nil {
		c.now = c.nowLocked()
	} else {
		c.now = c.target
	}
	c.sleeping = false
	return ctx.Err()
}

// Sim is the clock's view for the simulator: the same time until Freeze, then the
// instant of Freeze, while the connector's clock (c itself) goes on.
func (c *WaitClock) Sim() *SimClock { return &c.sim }

// SimClock is a WaitClock as the simulator sees it: stoppable, so that once frozen no row
// appears or changes any more while the connector reads everything.
type SimClock struct {
	c      *WaitClock
	frozen atomic.Pointer[time.Time]
}

// Now is the WaitClock's time, or the instant of Freeze once called.
func (v *SimClock) Now() time.Time {
	if t := v.frozen.Load(); t != nil {
		return *t
	}
	return v.c.Now()
}

// Freeze stops the simulator's view of the clock and returns the instant it stopped at.
func (v *SimClock) Freeze() time.Time {
	t := v.c.Now().Truncate(time.Second)
	v.frozen.Store(&t)
	return t
}
