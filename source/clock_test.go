package source_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/source"
)

// TestFastClockSleepWaits: a wait on a fast or slow virtual clock lasts until ctx ends
// when the real wait is longer than ctx allows, including waits too long for a
// time.Duration once converted (which wrapped negative and returned at once: a
// connector on a clock that stands still spun).
func TestFastClockSleepWaits(t *testing.T) {
	for _, tc := range []struct {
		name  string
		speed float64
		d     time.Duration
	}{
		{"real time", 1, time.Minute},
		{"fast", 60, time.Hour},
		{"slow", 1e-3, time.Second},
		{"slow, longer than a Duration once real", 1e-9, time.Minute},
		{"slow, the longest wait", 1e-9, time.Duration(1<<63 - 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := source.FastClock{Origin: time.Now(), Start: time.Now(), Speed: tc.speed}
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
			defer cancel()
			if err := clock.Sleep(ctx, tc.d); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Sleep(%v) at speed %g = %v before its context ended, want it to wait (context.DeadlineExceeded)", tc.d, tc.speed, err)
			}
		})
	}
	// A wait shorter than ctx allows ends on its own.
	clock := source.FastClock{Origin: time.Now(), Start: time.Now(), Speed: 1e6}
	if err := clock.Sleep(t.Context(), time.Second); err != nil {
		t.Errorf("Sleep(1s) at speed 1e6 = %v, want nil", err)
	}
}

// TestFastClockNowPastADuration: a fast clock run past what one time.Duration holds (292
// virtual years: 2.5 real hours at speed 1e6, the largest the config accepts) keeps
// counting forward instead of wrapping back, and one whose origin lies ahead counts back.
func TestFastClockNowPastADuration(t *testing.T) {
	start := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		origin time.Duration // from now
		years  int           // how far from start the clock reads, within a year
	}{
		{"three real hours ago", -3 * time.Hour, 342},
		{"a real hour ago", -time.Hour, 114},
		{"three real hours ahead", 3 * time.Hour, -342},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := source.FastClock{Origin: time.Now().Add(tc.origin), Start: start, Speed: 1e6}
			if got := clock.Now().Year() - start.Year(); got < tc.years-1 || got > tc.years+1 {
				t.Errorf("Now() = %v, %d years from the start; want about %d", clock.Now(), got, tc.years)
			}
		})
	}
}
