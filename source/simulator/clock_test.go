package simulator

import (
	"testing"
	"time"
)

func TestVirtualClock(t *testing.T) {
	real := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c := NewVirtualClock(t0)
	c.real = func() time.Time { return real } // drive real time by hand: no sleeping
	c.realAt = real
	tests := []struct {
		name string
		do   func()
		want time.Time
	}{
		{"frozen by default", func() { real = real.Add(time.Hour) }, t0},
		{"advance", func() { c.Advance(5 * time.Minute) }, t0.Add(5 * time.Minute)},
		{"set", func() { c.Set(t0.Add(-time.Hour)) }, t0.Add(-time.Hour)},
		{"speed 60 for 2 real seconds", func() { c.SetSpeed(60); real = real.Add(2 * time.Second) }, t0.Add(-time.Hour + 2*time.Minute)},
		{"advance while running", func() { c.Advance(time.Hour) }, t0.Add(2 * time.Minute)},
		{"freeze again", func() { c.SetSpeed(0); real = real.Add(time.Hour) }, t0.Add(2 * time.Minute)},
		{"negative speed freezes", func() { c.SetSpeed(-3); real = real.Add(time.Hour) }, t0.Add(2 * time.Minute)},
	}
	for _, tc := range tests {
		tc.do()
		if got := c.Now(); !got.Equal(tc.want) {
			t.Fatalf("%s: now %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for name, opt := range map[string]Opt{
		"negative quota":   DailyQuota(-1),
		"reset hour 24":    QuotaResetHour(24),
		"late fraction 2":  LateRows(2, time.Minute),
		"short late delay": LateRows(0.1, time.Second),
		"fault rates > 1":  WithFaults(Faults{Status500: 0.6, Status503: 0.6}),
		"unknown burst":    Bursts(Burst{Report: "nope", Minute: t0, Rows: 1}),
		"unknown report":   Reports("nope"),
		"nil location":     Location(nil),
	} {
		if _, err := New(opt); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
