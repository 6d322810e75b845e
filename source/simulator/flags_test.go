package simulator

import (
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// TestFlags: the flags parse into options a simulator is built from, and a bad zone or
// start is an invalid configuration.
func TestFlags(t *testing.T) {
	tests := []struct {
		args []string
		ok   bool
	}{
		{args: []string{"--speed", "60", "--start", "2026-11-20 08:00:00", "--token", "a", "--token", "b", "--reports", "diagram_13"}, ok: true},
		{args: []string{"--start", "2026-11-20T08:00:00-05:00", "--fault-503", "0.5"}, ok: true},
		{args: []string{"--zone", "Mars/Olympus"}},
		{args: []string{"--start", "noon"}},
	}
	for _, tt := range tests {
		fs := pflag.NewFlagSet("sim", pflag.ContinueOnError)
		f := AddFlags(fs)
		if err := fs.Parse(tt.args); err != nil {
			t.Fatal(err)
		}
		opts, clock, loc, err := f.Opts(slog.New(slog.DiscardHandler))
		if !tt.ok {
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("%v: %v, want ErrInvalidConfig", tt.args, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		if _, err := New(opts...); err != nil {
			t.Errorf("%v: New: %v", tt.args, err)
		}
		if want := time.Date(2026, 11, 20, 8, 0, 0, 0, loc); clock.Now().Before(want) || loc.String() != "America/Bogota" {
			t.Errorf("%v: clock at %v in %v, want from %v", tt.args, clock.Now(), loc, want)
		}
	}
}
