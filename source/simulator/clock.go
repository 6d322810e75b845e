package simulator

import (
	"sync"
	"time"
)

// Clock tells the simulator what time it is. Visibility of late rows, edits, quota days
// and maintenance windows are all functions of Clock.Now, never of the wall clock, so a
// test controls them completely.
type Clock interface {
	Now() time.Time
}

// wallClock is the real time.
type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// WallClock returns a Clock reading the real time.
func WallClock() Clock { return wallClock{} }

// VirtualClock is a Clock that tests move by hand (Set, Advance) and that may also run
// on its own at a multiple of real time (SetSpeed). It is safe for concurrent use. Its
// zero value reads the zero time, frozen; NewVirtualClock starts it elsewhere.
type VirtualClock struct {
	mu    sync.Mutex
	base  time.Time // virtual time at realAt
	speed float64   // virtual seconds per real second; 0 means frozen
	// realAt is the real instant base refers to; real reads it, so tests of the clock
	// itself need no sleeping.
	realAt time.Time
	real   func() time.Time
}

// NewVirtualClock returns a frozen clock reading start.
func NewVirtualClock(start time.Time) *VirtualClock {
	return &VirtualClock{base: start, real: time.Now, realAt: time.Now()}
}

// Now returns the virtual time.
func (c *VirtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nowLocked()
}

func (c *VirtualClock) nowLocked() time.Time {
	if c.speed == 0 {
		return c.base
	}
	elapsed := c.realNow().Sub(c.realAt)
	return c.base.Add(time.Duration(float64(elapsed) * c.speed))
}

// Set moves the clock to t (backwards too: the simulator tolerates it, but quota days
// and visibility follow the clock, so going back hides rows again).
func (c *VirtualClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.base, c.realAt = t, c.realNow()
}

// Advance moves the clock forward by d and returns the new time.
func (c *VirtualClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.base, c.realAt = c.nowLocked().Add(d), c.realNow()
	return c.base
}

// SetSpeed makes the clock run at speed× real time from now on (0 freezes it; 1 is real
// time; 60 makes a virtual hour pass in a real minute). Negative speeds are treated as 0.
func (c *VirtualClock) SetSpeed(speed float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.base, c.realAt = c.nowLocked(), c.realNow()
	c.speed = max(speed, 0)
}

// Speed returns the current multiplier.
func (c *VirtualClock) Speed() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.speed
}

func (c *VirtualClock) realNow() time.Time {
	if c.real == nil {
		return time.Now()
	}
	return c.real()
}
