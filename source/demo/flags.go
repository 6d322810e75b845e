package demo

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// Flags are the demo's settings as command-line flags: [AddFlags] registers them on a
// flag set, [Flags.Config] checks the parsed values and returns the demo they describe.
type Flags struct {
	duration time.Duration
	speed    float64
	brokers  []string
	reports  []string
	events   int
	logLevel string
	seed     int64
}

// AddFlags registers the demo's flags on fs, with their defaults.
func AddFlags(fs *pflag.FlagSet) *Flags {
	f := &Flags{}
	fs.DurationVar(&f.duration, "duration", 0, "stop after this real time (0: run until Ctrl-C)")
	fs.Float64Var(&f.speed, "speed", 60, "virtual seconds per real second, shared by the simulator and the worker")
	fs.StringSliceVar(&f.brokers, "brokers", nil, "use this Kafka cluster (HOST:PORT,...) instead of the embedded broker")
	fs.StringSliceVar(&f.reports, "reports", DefaultReports(), "reports to read: api[:param=value...], comma-separated")
	fs.IntVar(&f.events, "events", 3, "decoded events to print per report at the end (0: none)")
	fs.StringVar(&f.logLevel, "log-level", "warn", "log level on stderr: debug, info, warn or error")
	fs.Int64Var(&f.seed, "seed", 1, "seed of the simulated data and of its injected faults")
	return f
}

// flagOf names the flag of each Config field the flags set, for its errors.
var flagOf = map[string]string{"Duration": "--duration", "Speed": "--speed", "Events": "--events", "Reports": "--reports"}

// Config returns the demo the flags describe, showing its progress on out (a terminal
// when tty) and logging to log; version is the build's. Every error names the flag to
// fix.
func (f *Flags) Config(out io.Writer, tty bool, log io.Writer, version string) (Config, error) {
	cfg := Config{Duration: f.duration, Speed: f.speed, Events: f.events, Seed: f.seed, Version: version, Out: out, Terminal: tty, Log: log}
	if err := cfg.LogLevel.UnmarshalText([]byte(f.logLevel)); err != nil {
		return cfg, fmt.Errorf("--log-level %q: use debug, info, warn or error", f.logLevel)
	}
	for _, b := range f.brokers {
		if b = strings.TrimSpace(b); b == "" {
			return cfg, errors.New("--brokers has an empty address")
		}
		cfg.Brokers = append(cfg.Brokers, b)
	}
	var err error
	if cfg.Reports, err = ParseReports(f.reports); err != nil {
		return cfg, fmt.Errorf("--reports: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		var bad *ConfigError
		if errors.As(err, &bad) && flagOf[bad.Field] != "" {
			return cfg, fmt.Errorf("%s %v %s", flagOf[bad.Field], bad.Value, bad.Reason)
		}
		return cfg, err
	}
	return cfg, nil
}
