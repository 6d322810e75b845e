package config

import (
	"fmt"
	"sync/atomic"
	"time"
)

// processStart is when this process started: the default origin of a demo clock, so
// that the virtual clock reads clock.start when the worker starts.
var processStart = time.Now()

// virtualClockAllowed lets a configuration file carry a clock block. Production builds
// refuse it: a virtual clock is for the demo (which sets Settings.Clock itself) and for
// tests (see AllowVirtualClock).
var virtualClockAllowed atomic.Bool

// AllowVirtualClock lets configuration files loaded from now on carry a clock block.
// It is for tests only: the testclock build of wolkvox-connect calls it (go build -tags
// testclock, so that a worker process and a test's simulator share one virtual time),
// and so do tests that run the commands in-process. A production build never calls it
// and refuses the block, naming the field. It cannot be undone.
func AllowVirtualClock() { virtualClockAllowed.Store(true) }

func (l *loader) buildClock(fc *fileClock) *Clock {
	if fc == nil {
		return nil
	}
	if !virtualClockAllowed.Load() {
		l.bad("clock", "is a test setting: a virtual clock is not available in production builds", "remove the clock block; the demo runs on a virtual clock of its own")
		return nil
	}
	c := &Clock{Origin: processStart, Speed: 1}
	var err error
	if c.Start, err = time.Parse(time.RFC3339, fc.Start); err != nil {
		l.bad("clock.start", fmt.Sprintf("%q is not an RFC 3339 instant", fc.Start), `write the virtual time to start at, as RFC 3339: "2026-11-01T08:00:00-05:00"`)
	}
	if fc.Origin != "" {
		if c.Origin, err = time.Parse(time.RFC3339Nano, fc.Origin); err != nil {
			l.bad("clock.origin", fmt.Sprintf("%q is not an RFC 3339 instant", fc.Origin), "write the real instant at which the clock reads start, or leave it out (the process start)")
			c.Origin = processStart
		}
	}
	if fc.Speed != nil {
		c.Speed = *fc.Speed
		if !(c.Speed > 0 && c.Speed <= 1e6) {
			l.bad("clock.speed", fmt.Sprintf("%v is not a usable speed", c.Speed), "give virtual seconds per real second, above 0 and at most 1e6, e.g. 60")
			c.Speed = 1
		}
	}
	return c
}
