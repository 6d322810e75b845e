package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/wolkvox-connect/wolkvox-connect/source/console"
	"github.com/wolkvox-connect/wolkvox-connect/source/demo"
)

// demoCommand is "wolkvox-connect demo".
func demoCommand() command {
	return command{
		name:    "demo",
		summary: "Run everything in one process: a simulated Wolkvox, a Kafka broker and the worker",
		usage: "[--duration D] [--speed N] [--brokers HOST:PORT,...] [--reports a,b,c] [--events N]\n\n" +
			"Starts an embedded Kafka-compatible broker (kfake, in memory), the Wolkvox simulator\n" +
			"(seeded; late rows, edits and a few HTTP 500s) and the worker with one connector,\n" +
			"\"demo\", on a virtual clock running --speed times faster than real time, shared by the\n" +
			"simulator and the worker. The connector starts two virtual hours in the past, so its\n" +
			"first windows catch up. A progress table is redrawn every second (every few seconds,\n" +
			"as plain blocks, when stdout is not a terminal): ROWS events delivered, WINDOWS\n" +
			"windows committed, CALLS API calls (retries included), ERRORS failed calls, DEAD\n" +
			"rows sent to the dead-letter topic, LAG virtual now minus the newest row's time (for\n" +
			"range aggregates, minus the end of the last bucket read). When --duration has passed, or on\n" +
			"Ctrl-C, the worker stops, the final table is printed, and a few events of each report\n" +
			"are read back from Kafka (read_committed) and printed as JSON lines.\n\n" +
			"With --brokers the demo writes to that cluster instead, to topics demo.<report>, its\n" +
			"offsets to demo.offsets and dead letters to demo.dlq; run it again and it resumes from\n" +
			"those offsets, the virtual clock moved on so that catching up shows again.\n\n" +
			"--reports takes api names, each optionally followed by :param=value pairs\n" +
			"(agent_2:agent_id=1001); parameters with a catalog default (cod_act, skill_id,\n" +
			"campaign_id) may be left out. 'wolkvox-connect reports' lists the 104 reports.",
		example: "wolkvox-connect demo --duration 30s",
		run:     runDemo,
	}
}

// demoFlags are the demo command's flags.
type demoFlags struct {
	duration time.Duration
	speed    float64
	brokers  []string
	reports  []string
	events   int
	logLevel string
	seed     int64
}

func (f *demoFlags) register(fs *pflag.FlagSet) {
	fs.DurationVar(&f.duration, "duration", 0, "stop after this real time (0: run until Ctrl-C)")
	fs.Float64Var(&f.speed, "speed", 60, "virtual seconds per real second, shared by the simulator and the worker")
	fs.StringSliceVar(&f.brokers, "brokers", nil, "use this Kafka cluster (HOST:PORT,...) instead of the embedded broker")
	fs.StringSliceVar(&f.reports, "reports", demo.DefaultReports(), "reports to read: api[:param=value...], comma-separated")
	fs.IntVar(&f.events, "events", 3, "decoded events to print per report at the end (0: none)")
	fs.StringVar(&f.logLevel, "log-level", "warn", "log level on stderr: debug, info, warn or error")
	fs.Int64Var(&f.seed, "seed", 1, "seed of the simulated data and of its injected faults")
}

// demoFlagOf names the flag of each demo.Config field the flags set, for its errors.
var demoFlagOf = map[string]string{"Duration": "--duration", "Speed": "--speed", "Events": "--events"}

// config validates the flags and returns the demo they describe, writing to env.
func (f *demoFlags) config(fs *pflag.FlagSet, env *environment) (demo.Config, error) {
	cfg := demo.Config{
		Duration: f.duration, Speed: f.speed, Events: f.events, Seed: f.seed, Version: version,
		Out: env.stdout, Terminal: console.IsTerminal(env.stdout, env.getenv), Log: env.stderr,
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(f.logLevel)); err != nil {
		return cfg, fmt.Errorf("%w: --log-level %q: use debug, info, warn or error", errUsage, f.logLevel)
	}
	for _, b := range f.brokers {
		if b = strings.TrimSpace(b); b == "" {
			return cfg, fmt.Errorf("%w: --brokers has an empty address", errUsage)
		}
		cfg.Brokers = append(cfg.Brokers, b)
	}
	var err error
	if cfg.Reports, err = demo.ParseReports(f.reports); err != nil {
		return cfg, fmt.Errorf("%w: --reports: %w", errUsage, err)
	}
	if err := cfg.Validate(); err != nil {
		var bad *demo.ConfigError
		if errors.As(err, &bad) && demoFlagOf[bad.Field] != "" {
			return cfg, fmt.Errorf("%w: %s %v %s", errUsage, demoFlagOf[bad.Field], bad.Value, bad.Reason)
		}
		return cfg, err
	}
	return cfg, nil
}

func runDemo(ctx context.Context, env *environment, fs *pflag.FlagSet, args []string) error {
	var f demoFlags
	f.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := f.config(fs, env)
	if err != nil {
		return err
	}
	return demo.Run(ctx, cfg)
}
